//! Integration tests of the `mpbot` command line, driven in-process through
//! `mpbot_cli::run_with` against the in-process emulator over loopback HTTP(S).
//!
//! One test binary (modules per area) to keep link time down on small machines.

mod cli {
    pub(crate) mod check;
    pub(crate) mod commands;
    pub(crate) mod journal;
    pub(crate) mod run;
    pub(crate) mod smoke;
    pub(crate) mod support;
    pub(crate) mod webhook;
}
