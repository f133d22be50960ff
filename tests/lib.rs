//! The end-to-end tests live in `main.rs` (one test binary, to save link time); this library is
//! empty on purpose.
