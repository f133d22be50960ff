//! mpbot: a framework for MPChat bots.
//!
//! A bot is an [`App`]: a TOML [`config`] file, the [`plugins`] it enables, and the application's
//! own handlers. The file's `delivery.mode` picks how updates arrive — `"polling"`
//! (`getUpdates`, for development) or `"webhook"` (an HTTPS endpoint MPChat posts to, for
//! production) — and nothing else in the application changes between the two.
//!
//! # A guided tour
//!
//! - [`config`]: the TOML file, validated into typed settings; errors name file, line and key.
//! - [`App`]: builds the API client, checks the token's identity, registers plugins and routes,
//!   starts the source the config picks, and runs until a signal or a shutdown future.
//! - [`prelude`]: what handlers and plugins need: [`Context`](mpbot_core::Context) (the client,
//!   `reply`, `send`), the router, the typed events.
//! - [`admin`]: the operations listener (`/healthz`, `/readyz`, `/metrics`) and
//!   [`logging`]: the subscriber from `[log]` (docs/operations.md).
//! - [`plugins`]: the built-in plugins (echo, welcome, farewell, pins, commands) and the
//!   registry that enables plugins by `[plugins.NAME]` table.
//! - The layers underneath are re-exported: [`api`] (wire types and client), [`framework`]
//!   (the dispatcher, router and seams), [`poller`], [`webhook`], [`journal`].
//!
//! # Example
//!
//! ```no_run
//! use mpbot::prelude::*;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), mpbot::Error> {
//!     App::from_config_file("bot.toml")?
//!         .routes(|router| {
//!             router.on_message(|ctx: Context, message: Message| async move {
//!                 if let Some(text) = message.text {
//!                     ctx.reply(text).await?;
//!                 }
//!                 Ok::<_, mpbot::api::Error>(())
//!             });
//!         })
//!         .run()
//!         .await?;
//!     Ok(())
//! }
//! ```
//!
//! Run `cargo run -p mpbot-examples --example demo` for the whole story offline: the same bot
//! through the bundled emulator in both modes, with identical transcripts.

pub mod admin;
mod app;
pub mod config;
mod error;
pub mod logging;
pub mod plugins;

pub use admin::{Readiness, ReadyState};
pub use app::{App, shutdown_signal};
pub use error::Error;
/// The MPChat wire types and API client (`mpbot-api`).
pub use mpbot_api as api;
/// The framework's seams: dispatcher, router, handlers, plugins, sources (`mpbot-core`).
pub use mpbot_core as framework;
/// The durable journal behind `delivery.ack = "stored"` (`mpbot-journal`).
pub use mpbot_journal as journal;
/// The long-polling source (`mpbot-poller`).
pub use mpbot_poller as poller;
/// The webhook source (`mpbot-webhook`).
pub use mpbot_webhook as webhook;

/// What a bot's code usually needs, in one `use mpbot::prelude::*;`.
pub mod prelude {
    pub use crate::config::Config;
    pub use crate::{App, Error};
    pub use mpbot_api::{Bot, ChatId, Message, Update, User};
    pub use mpbot_core::{
        Command, Context, HandlerError, HandlerResult, MemberJoined, MemberLeft, MessagePinned,
        Plugin, PluginConfig, Router, Shutdown, UpdateKind,
    };
}

#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
