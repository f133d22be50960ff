//! The MPChat Bot API wire layer: the types MPChat sends and receives, the response envelope,
//! and (with the default `client` feature) a typed, polite HTTP client, [`Bot`].
//!
//! MPChat's Bot API looks like Telegram's but differs where it matters: a successful
//! `getUpdates` consumes its batch, the webhook secret header is `X-MpChat-Bot-Api-Secret-Token`,
//! `banChatMember` mutes, some methods answer 501, and there is a business error code 50001.
//! This crate follows MPChat's documentation and marks Telegram assumptions as such.
//!
//! # Examples
//!
//! Call MPChat (or the emulator) and answer the first message:
//!
//! ```no_run
//! use mpbot_api::methods::GetUpdates;
//! use mpbot_api::{Bot, BotToken};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let bot = Bot::builder(BotToken::new(std::env::var("MPCHAT_BOT_TOKEN")?)?)
//!     .api_url("http://127.0.0.1:8081/bot") // the emulator; leave out for MPChat itself
//!     .build()?;
//! let mut poll = GetUpdates::new();
//! poll.timeout = Some(30);
//! for update in bot.get_updates(&poll).await? {
//!     if let Some(message) = &update.message {
//!         bot.send_message(message.chat.id, "hello").await?;
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Read the wire types without a client:
//!
//! ```
//! use mpbot_api::{ChatId, Update};
//!
//! let update: Update = serde_json::from_str(
//!     r#"{"update_id": "10001", "message": {"message_id": 1, "chat": {"id": 42, "type": "private"}}}"#,
//! )?;
//! assert_eq!(update.chat_id(), Some(ChatId(42)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What the client does for you
//!
//! - **Retries** per MPChat's table ([`RetryPolicy`]): 429 and 5xx (but 501) with capped,
//!   jittered exponential backoff honouring `retry_after`; sends only when provably not done.
//! - **Throttling** ([`Throttle`]): at most 30 requests per second per token by default, shared by
//!   all clones, first come first served.
//! - **Redaction**: the token ([`BotToken`]) never reaches an error, a log line or a panic.
//! - **High-risk gate**: setWebhook, deleteWebhook, logOut, leaveChat, deleteMessage(s) and
//!   banChatMember only through [`Bot::high_risk`].
//! - **MiniApp identity**: [`verify_init_data`] checks a MiniApp's signed `initData`.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `client` | yes | [`Bot`], the reqwest client (rustls, no OpenSSL), [`Throttle`] |
//!
//! Without `client` the crate is only types, [`RetryPolicy`] and [`init_data`] verification,
//! usable by servers (the emulator) that never call MPChat.

// NB: the docs link to the client's items, which do not exist without the `client` feature.
#![cfg_attr(not(feature = "client"), allow(rustdoc::broken_intra_doc_links))]

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
