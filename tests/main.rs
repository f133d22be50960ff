//! End-to-end tests across crates: the facade's App against the emulator over loopback HTTP(S).

mod mode_parity;
mod ops;
mod plugins;
mod redaction;
mod startup;
