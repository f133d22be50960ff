//! The MPChat Bot API wire layer: the types MPChat sends and receives, the response envelope,
//! and (with the default `client` feature) a typed, polite HTTP client, [`Bot`].
//!
//! MPChat's Bot API looks like Telegram's but differs where it matters: a successful
//! `getUpdates` consumes its batch, the webhook secret header is `X-MpChat-Bot-Api-Secret-Token`,
//! `banChatMember` mutes, some methods answer 501, and there is a business error code 50001.
//! This crate follows MPChat's documentation and marks Telegram assumptions as such.
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `client` | yes | [`Bot`], the reqwest client (rustls, no OpenSSL) |
//!
//! Without `client` the crate is only types and [`init_data`] verification, usable by servers
//! (the emulator) that never call MPChat.

mod envelope;
mod error;
mod ids;
pub mod init_data;
pub mod methods;
mod retry;
mod token;
pub mod types;

#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
mod throttle;

#[cfg(feature = "client")]
pub use client::{Bot, BotBuilder, DEFAULT_API_URL, GET_UPDATES_TIMEOUT_MARGIN, HighRiskBot};
pub use envelope::{Envelope, ResponseParameters};
pub use error::{ApiErrorKind, BoxError, Error, Result, TransportKind};
pub use ids::{ChatId, MessageId, UpdateId, UserId};
pub use init_data::{InitDataError, VerifiedInitData, verify_init_data};
pub use methods::{InputFile, Method};
pub use retry::RetryPolicy;
#[cfg(feature = "client")]
pub use throttle::{DEFAULT_REQUESTS_PER_SECOND, Throttle};
pub use token::{BotToken, InvalidToken};
pub use types::{Chat, ChatType, Extra, Message, Update, User, WebhookInfo};

/// The header MPChat puts the webhook secret in.
pub const SECRET_HEADER: &str = "X-MpChat-Bot-Api-Secret-Token";
