//! The client against a real HTTP server on loopback: error classes, retries, throttle,
//! multipart uploads, timeouts, redaction and the typed methods. One binary, to save link time.

mod support;

mod errors;
mod methods;
mod multipart;
mod redaction;
mod retries;
mod throttle;
mod timeouts;
