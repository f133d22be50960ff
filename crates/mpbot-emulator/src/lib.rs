//! A protocol-faithful MPChat Bot API server, for tests and local development.
//!
//! It serves the Bot API at `/bot/bot{TOKEN}/{method}` the way MPChat's documentation describes
//! it (the envelope and error codes, getUpdates' consumption and long polling, setWebhook's
//! reachability probe, webhook delivery with the secret header, 501 for unsupported methods,
//! ...) and a control API under `/_emulator/` that acts as MPChat's users. The same abilities are
//! available in-process through [`Emulator`] and [`BotHandle`], with async waits a test can
//! await instead of sleeping.
//!
//! ```no_run
//! # async fn demo() -> Result<(), mpbot_emulator::Error> {
//! use mpbot_api::User;
//! use mpbot_emulator::Emulator;
//!
//! let emulator = Emulator::builder().bot("123456:TEST-TOKEN", "demo_bot").start().await?;
//! let bot = emulator.bot("123456:TEST-TOKEN");
//! // Point the bot under test at `emulator.api_url()`, then act as a user:
//! let posted = bot.user_message(42, User::new(42), "/start");
//! // ... and wait, without sleeping, for the bot to answer.
//! let sent = bot.wait_for_sent(1).await;
//! assert_eq!(sent[0].chat_id.get(), 42);
//! # let _ = posted;
//! emulator.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! The binary `mpbot-emulator` wraps the same server; see `docs/emulator.md`.

mod api;
pub mod cli;
mod control;
mod error;
mod events;
mod handle;
mod params;
mod server;
mod state;
pub mod tls;
mod webhook;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use error::{BoxError, Error};
pub use handle::{BotHandle, DeliveryAttempt, Fault, Posted, SentMessage};

use server::{Config, Shared};
use state::BotEntry;

/// The bot that exists when none is configured.
pub const DEFAULT_BOT_TOKEN: &str = "123456:TEST-TOKEN";
/// The default bot's username.
pub const DEFAULT_BOT_USERNAME: &str = "demo_bot";
/// The rate limit the binary applies by default (requests per second per token).
pub const DEFAULT_RATE_LIMIT: u32 = 30;

/// Configures and starts an [`Emulator`].
#[derive(Debug, Clone)]
#[must_use]
pub struct EmulatorBuilder {
    bots: Vec<(String, String)>,
    allow_http_webhooks: bool,
    trust: Vec<Vec<u8>>,
    rate_limit: Option<u32>,
    listen: SocketAddr,
    retry_backoff: Duration,
    webhook_timeout: Duration,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        Self {
            bots: Vec::new(),
            allow_http_webhooks: false,
            trust: Vec::new(),
            rate_limit: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            retry_backoff: Duration::from_millis(100),
            webhook_timeout: Duration::from_secs(10),
        }
    }
}

impl EmulatorBuilder {
    /// Adds a bot (repeatable). Its id is the number before `:` in the token, or a stable id
    /// derived from the token. With no bot configured, [`DEFAULT_BOT_TOKEN`] /
    /// [`DEFAULT_BOT_USERNAME`] exists.
    pub fn bot(mut self, token: impl Into<String>, username: impl Into<String>) -> Self {
        self.bots.push((token.into(), username.into()));
        self
    }

    /// Lets setWebhook accept `http://` URLs (development only; MPChat requires HTTPS).
    pub fn allow_http_webhooks(mut self, allow: bool) -> Self {
        self.allow_http_webhooks = allow;
        self
    }

    /// Adds root certificates (PEM, one or more) trusted when calling webhooks, on top of the
    /// system's roots.
    pub fn trust_ca_pem(mut self, pem: &[u8]) -> Self {
        self.trust.push(pem.to_vec());
        self
    }

    /// Requests per second allowed per token, answered with 429 and `retry_after` beyond it.
    /// `None` (the library's default, so tests are never rate limited by surprise) disables it;
    /// the binary defaults to [`DEFAULT_RATE_LIMIT`].
    pub fn rate_limit(mut self, limit: Option<u32>) -> Self {
        self.rate_limit = limit;
        self
    }

    /// The address to listen on; default `127.0.0.1:0` (a free port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// The first delay between webhook delivery retries; it doubles per retry up to 32×.
    /// Default 100 ms.
    pub fn webhook_retry_backoff(mut self, base: Duration) -> Self {
        self.retry_backoff = base;
        self
    }

    /// How long one webhook request (probe or delivery) may take before it counts as a
    /// timeout. Default 10 s.
    pub fn webhook_timeout(mut self, timeout: Duration) -> Self {
        self.webhook_timeout = timeout;
        self
    }

    /// Binds the listener and starts serving.
    ///
    /// # Errors
    /// [`Error::Bind`] when the address cannot be bound, [`Error::Tls`] when a trusted CA is
    /// not valid PEM, [`Error::InvalidToken`] for a token that cannot sit in a URL path.
    pub async fn start(self) -> Result<Emulator, Error> {
        let mut bots = self.bots;
        if bots.is_empty() {
            bots.push((DEFAULT_BOT_TOKEN.into(), DEFAULT_BOT_USERNAME.into()));
        }
        let mut entries = HashMap::new();
        for (token, username) in &bots {
            if mpbot_api::BotToken::new(token.as_str()).is_err() || token.trim() != token {
                return Err(Error::InvalidToken);
            }
            entries.insert(token.clone(), Arc::new(BotEntry::new(token, username)));
        }

        let mut http = reqwest::Client::builder()
            .connect_timeout(self.webhook_timeout.min(Duration::from_secs(10)))
            .timeout(self.webhook_timeout)
            .pool_max_idle_per_host(128)
            .user_agent(concat!("mpbot-emulator/", env!("CARGO_PKG_VERSION")));
        for pem in &self.trust {
            let certs =
                reqwest::Certificate::from_pem_bundle(pem).map_err(|e| Error::Tls(Box::new(e)))?;
            if certs.is_empty() {
                return Err(Error::Tls("no certificate in the PEM".into()));
            }
            http = http.tls_certs_merge(certs);
        }
        let http = http.build().map_err(|e| Error::Tls(Box::new(e)))?;

        let listener = TcpListener::bind(self.listen)
            .await
            .map_err(|source| Error::Bind {
                addr: self.listen.to_string(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: self.listen.to_string(),
            source,
        })?;

        if self.allow_http_webhooks {
            tracing::warn!(
                "plain-HTTP webhooks are allowed: development only, MPChat itself requires HTTPS"
            );
        }
        let shared = Arc::new(Shared {
            bots: entries,
            clock: state::Clock::default(),
            config: Config {
                allow_http_webhooks: self.allow_http_webhooks,
                rate_limit: self.rate_limit,
                retry_backoff: self.retry_backoff,
            },
            http,
            cancel: CancellationToken::new(),
            tasks: TaskTracker::new(),
        });
        shared.tasks.spawn(server::serve(listener, shared.clone()));
        tracing::info!(%addr, bots = bots.len(), "emulator listening");
        Ok(Emulator {
            shared,
            addr,
            first_token: bots[0].0.clone(),
        })
    }
}

/// A running emulator. Dropping it stops the server (without waiting);
/// [`Emulator::shutdown`] stops it and waits for every task it started.
#[derive(Debug)]
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    first_token: String,
}

impl Emulator {
    /// A builder with no bot (so the default bot), no rate limit, a free port on 127.0.0.1.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// The Bot API base URL to give a client: `http://127.0.0.1:PORT/bot` (the client appends
    /// `/bot{TOKEN}/{method}`).
    pub fn api_url(&self) -> String {
        format!("http://{}/bot", self.addr)
    }

    /// The server's root URL, `http://127.0.0.1:PORT`; the control API is under
    /// `/_emulator/`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The handle of the bot with `token`.
    ///
    /// # Panics
    /// When no such bot was configured; use [`Emulator::try_bot`] to ask.
    #[track_caller]
    pub fn bot(&self, token: &str) -> BotHandle {
        match self.try_bot(token) {
            Some(handle) => handle,
            None => panic!("the emulator has no bot with this token"),
        }
    }

    /// The handle of the bot with `token`, if configured.
    pub fn try_bot(&self, token: &str) -> Option<BotHandle> {
        let bot = self.shared.bots.get(token)?.clone();
        Some(BotHandle {
            shared: self.shared.clone(),
            bot,
        })
    }

    /// The handle of the first configured bot (the default bot when none was configured).
    pub fn default_bot(&self) -> BotHandle {
        self.bot(&self.first_token)
    }

    /// Moves the emulator clock forward (retention, dates). One clock for all bots.
    pub fn advance_clock(&self, by: Duration) {
        self.shared
            .clock
            .advance(i64::try_from(by.as_secs()).unwrap_or(i64::MAX));
    }

    /// Unix seconds on the emulator clock.
    pub fn now(&self) -> i64 {
        self.shared.clock.now()
    }

    /// Stops the server, ends long polls and webhook deliveries, and waits for every task it
    /// started.
    pub async fn shutdown(self) {
        self.shared.cancel.cancel();
        self.shared.tasks.close();
        self.shared.tasks.wait().await;
        tracing::info!("emulator shut down");
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shared.cancel.cancel();
        self.shared.tasks.close();
    }
}
