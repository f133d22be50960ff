//! Integration tests: every rule of the emulator, over real loopback HTTP with raw requests.
//!
//! One test binary (modules per area) to keep link time down on small machines.

mod emulator {
    pub(crate) mod binary;
    pub(crate) mod bot_api;
    pub(crate) mod client;
    pub(crate) mod control;
    pub(crate) mod get_updates;
    pub(crate) mod support;
    pub(crate) mod webhook;
}
