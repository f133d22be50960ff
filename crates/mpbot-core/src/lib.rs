//! mpbot's seams: where updates come in ([`UpdateSource`]), where it is decided that an update
//! counts as delivered ([`UpdateSink`], [`AckPolicy`]), and the shutdown signal they share.
//!
//! Plugin and source authors depend on this crate; it holds no HTTP server or client of its own
//! beyond the API types it re-exports as [`api`].

mod error;
mod shutdown;
mod sink;
mod source;

pub use async_trait::async_trait;
pub use error::{Error, Result};
/// The MPChat wire types and client this crate builds on.
pub use mpbot_api as api;
pub use shutdown::{Shutdown, ShutdownTrigger};
pub use sink::{AckPolicy, Deliver, Delivered, Refused, UpdateSink};
pub use source::{SourceInfo, UpdateSource};
