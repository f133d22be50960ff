//! mpbot's seams and engine: where updates come in ([`UpdateSource`]), where it is decided
//! that an update counts as delivered ([`UpdateSink`], [`AckPolicy`]), what an update is about
//! ([`UpdateKind`]), which handler takes it ([`Router`], [`Handler`], [`Context`], [`Plugin`]),
//! and what runs it ([`Dispatcher`]: bounded concurrency, per-chat order, dedup, panic
//! isolation, graceful shutdown).
//!
//! Plugin and source authors depend on this crate; it holds no HTTP server of its own and uses
//! the API client it re-exports as [`api`] only to answer from handlers.
//!
//! The data flow: a source hands each update to its sink; the dispatcher behind the sink
//! classifies it, queues it behind its chat, and runs the router's handler for it:
//!
//! ```text
//! UpdateSource ──deliver──▶ UpdateSink ──▶ Dispatcher ──▶ Router ──▶ handler(Context, Event)
//! ```
//!
//! Tests drive it with [`MemorySource`]; see the [`Dispatcher`] example.

mod context;
mod dispatcher;
mod error;
pub mod event;
mod handler;
mod kind;
mod memory;
mod plugin;
mod router;
mod shutdown;
mod sink;
mod source;

pub use async_trait::async_trait;
pub use context::Context;
pub use dispatcher::{Dispatcher, DispatcherOptions, ShutdownReport, Stats};
pub use error::{Error, Result};
pub use event::{Command, MemberJoined, MemberLeft, MessagePinned};
pub use handler::{BoxFuture, Handler, HandlerError, HandlerResult};
pub use kind::UpdateKind;
pub use memory::{MemoryHandle, MemorySource, PendingVerdict};
/// The MPChat wire types and client this crate builds on.
pub use mpbot_api as api;
pub use plugin::{Outcome, Plugin, PluginConfig};
pub use router::Router;
pub use shutdown::{Shutdown, ShutdownTrigger};
pub use sink::{AckPolicy, Deliver, Delivered, Refused, UpdateSink};
pub use source::{SourceInfo, UpdateSource};
