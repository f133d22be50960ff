//! Integration tests of the webhook listener over real loopback sockets, with a test sink.

mod support;

mod hardening;
mod requests;
mod shutdown;
mod tls;
