//! End to end: the emulator delivers over HTTPS (a test CA made at test time) with the secret
//! header to the listener, in front of the real `Dispatcher` and `Router`.

mod rig;

mod delivery;
mod registration;
mod shutdown;
