//! The HTTP client: [`Bot`].

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::envelope::Envelope;
use crate::methods::{self, Method, Ordinary};
use crate::types::{Message, Update, User, WebhookInfo};
use crate::{BotToken, ChatId, Error, Result, TransportKind};

/// MPChat's production Bot API base URL. The request path is `{base}/bot{token}/{method}`.
pub const DEFAULT_API_URL: &str = "https://call.mp.net/bot";

/// A client for one bot token. Cheap to clone: clones share one connection pool.
///
/// # Examples
///
/// ```no_run
/// use mpbot_api::{Bot, BotToken};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let token = BotToken::new(std::env::var("MPCHAT_BOT_TOKEN")?)?;
/// let bot = Bot::new(token);
/// let me = bot.get_me().await?;
/// println!("I am {:?}", me.username);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Bot {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    api_url: String,
    token: BotToken,
    request_timeout: Duration,
}

impl std::fmt::Debug for Bot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bot")
            .field("api_url", &self.inner.api_url)
            .field("token", &self.inner.token)
            .finish()
    }
}

/// Builds a [`Bot`] with non-default settings.
#[derive(Debug)]
pub struct BotBuilder {
    token: BotToken,
    api_url: String,
    request_timeout: Duration,
    connect_timeout: Duration,
}

impl BotBuilder {
    /// The base URL, default [`DEFAULT_API_URL`] (the emulator's is `http://127.0.0.1:8081/bot`).
    pub fn api_url(mut self, url: impl Into<String>) -> Self {
        self.api_url = url.into().trim_end_matches('/').to_owned();
        self
    }

    /// Timeout of a whole request, default 30 s. `getUpdates` gets its long-poll timeout plus a
    /// margin on top, never less.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Timeout of connection set-up, default 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// When the TLS backend cannot be initialised.
    pub fn build(self) -> Result<Bot> {
        let http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .map_err(|e| Error::Transport {
                method: "client".into(),
                kind: TransportKind::Other,
                source: Box::new(e.without_url()),
            })?;
        Ok(Bot {
            inner: Arc::new(Inner {
                http,
                api_url: self.api_url,
                token: self.token,
                request_timeout: self.request_timeout,
            }),
        })
    }
}

impl Bot {
    /// A client for `token` against MPChat's production API with default settings.
    ///
    /// # Panics
    /// When the TLS backend cannot be initialised; use [`Bot::builder`] to handle that.
    pub fn new(token: BotToken) -> Self {
        Self::builder(token)
            .build()
            .expect("the TLS backend initialises")
    }

    /// A builder for `token`.
    pub fn builder(token: BotToken) -> BotBuilder {
        BotBuilder {
            token,
            api_url: DEFAULT_API_URL.to_owned(),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
        }
    }

    /// The base URL this client talks to.
    pub fn api_url(&self) -> &str {
        &self.inner.api_url
    }

    /// The token (masked when printed).
    pub fn token(&self) -> &BotToken {
        &self.inner.token
    }

    /// Calls an ordinary (not high-risk) method.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn execute<M: Method<Risk = Ordinary>>(&self, request: &M) -> Result<M::Output> {
        self.send(request).await
    }

    /// Calls any method by name with any parameters, for methods this crate has no type for.
    /// High-risk methods are refused here; use [`Bot::high_risk`].
    ///
    /// # Errors
    /// [`Error::HighRiskRefused`] for a high-risk method name, otherwise see [`Error`].
    pub async fn call<P: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        method: &str,
        params: &P,
    ) -> Result<R> {
        if methods::is_high_risk(method) {
            return Err(Error::HighRiskRefused {
                method: method.to_owned(),
            });
        }
        self.post_json(method, params, self.inner.request_timeout)
            .await
    }

    /// The handle for MPChat's high-risk controlled operations (setWebhook, deleteWebhook, logOut,
    /// leaveChat, deleteMessage(s), banChatMember). Asking for it is the opt-in: ordinary code
    /// paths cannot reach those methods, and each call through the handle logs a warning.
    pub fn high_risk(&self) -> HighRiskBot {
        HighRiskBot { bot: self.clone() }
    }

    /// `getMe`.
    ///
    /// # Errors
    /// See [`Error`]; 401 means the token is invalid or revoked.
    pub async fn get_me(&self) -> Result<User> {
        self.execute(&methods::GetMe::new()).await
    }

    /// `getUpdates`. The HTTP timeout is the long-poll `timeout` plus a margin.
    ///
    /// # Errors
    /// See [`Error`]; 409 means a webhook is set or another poller took over.
    pub async fn get_updates(&self, request: &methods::GetUpdates) -> Result<Vec<Update>> {
        self.execute(request).await
    }

    /// `getWebhookInfo`.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn get_webhook_info(&self) -> Result<WebhookInfo> {
        self.execute(&methods::GetWebhookInfo::new()).await
    }

    /// `sendMessage` with just a chat and a text.
    ///
    /// # Errors
    /// See [`Error`]; 400 when the chat never talked to the bot.
    pub async fn send_message(
        &self,
        chat_id: impl Into<ChatId>,
        text: impl Into<String>,
    ) -> Result<Message> {
        self.execute(&methods::SendMessage::new(chat_id, text))
            .await
    }

    async fn send<M: Method>(&self, request: &M) -> Result<M::Output> {
        let timeout = request_timeout_for::<M>(request, self.inner.request_timeout);
        self.post_json(M::NAME, request, timeout).await
    }

    async fn post_json<P: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        method: &str,
        params: &P,
        timeout: Duration,
    ) -> Result<R> {
        let url = format!(
            "{}/bot{}/{method}",
            self.inner.api_url,
            self.inner.token.expose()
        );
        let response = self
            .inner
            .http
            .post(url)
            .timeout(timeout)
            .json(params)
            .send()
            .await
            .map_err(|e| transport_error(method, e))?;
        let status = response.status().as_u16();
        let retry_after_header = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let body = response
            .bytes()
            .await
            .map_err(|e| transport_error(method, e))?;
        decode_envelope(method, status, &body, retry_after_header)
    }
}

/// The HTTP timeout for one call: `getUpdates` waits `timeout` seconds on purpose, so its
/// read timeout is that plus a margin and never shorter than the client's default.
fn request_timeout_for<M: Method>(request: &M, default: Duration) -> Duration {
    if M::NAME == methods::GetUpdates::NAME {
        let long_poll = serde_json::to_value(request)
            .ok()
            .and_then(|v| v.get("timeout").and_then(serde_json::Value::as_u64))
            .unwrap_or(0);
        return default.max(Duration::from_secs(long_poll + 10));
    }
    default
}

fn transport_error(method: &str, error: reqwest::Error) -> Error {
    let kind = if error.is_connect() {
        TransportKind::Connect
    } else if error.is_timeout() {
        TransportKind::Timeout
    } else {
        TransportKind::Other
    };
    // NB: reqwest's Display includes the URL, and the URL holds the token.
    Error::Transport {
        method: method.to_owned(),
        kind,
        source: Box::new(error.without_url()),
    }
}

/// Reads the envelope whatever the HTTP status; falls back to the status when the body is not an
/// envelope (an HTML page from a proxy, say).
fn decode_envelope<R: DeserializeOwned>(
    method: &str,
    http_status: u16,
    body: &[u8],
    retry_after_header: Option<u64>,
) -> Result<R> {
    match serde_json::from_slice::<Envelope<serde_json::Value>>(body) {
        Ok(envelope) if envelope.ok => {
            let result = envelope.result.unwrap_or(serde_json::Value::Null);
            serde_json::from_value(result)
                .map_err(|e| decode_error(method, http_status, &e.to_string(), body))
        }
        Ok(envelope) => {
            let code = envelope.error_code.unwrap_or(i64::from(http_status));
            let retry_after = envelope
                .parameters
                .and_then(|p| p.retry_after)
                .or(retry_after_header)
                .map(Duration::from_secs);
            Err(Error::Api {
                method: method.to_owned(),
                code,
                description: envelope.description.unwrap_or_default(),
                retry_after,
                http_status,
            })
        }
        Err(_) if http_status >= 400 => Err(Error::Api {
            method: method.to_owned(),
            code: i64::from(http_status),
            description: format!("HTTP {http_status} without a Bot API envelope"),
            retry_after: retry_after_header.map(Duration::from_secs),
            http_status,
        }),
        Err(e) => Err(decode_error(method, http_status, &e.to_string(), body)),
    }
}

fn decode_error(method: &str, http_status: u16, reason: &str, body: &[u8]) -> Error {
    let cut = body.len().min(4096);
    Error::Decode {
        method: method.to_owned(),
        http_status,
        reason: reason.to_owned(),
        raw: String::from_utf8_lossy(&body[..cut]).into_owned(),
    }
}

/// The explicit opt-in handle for MPChat's high-risk controlled operations. Get it with
/// [`Bot::high_risk`]. Every call logs a warning naming the method (never the token).
#[derive(Debug, Clone)]
pub struct HighRiskBot {
    bot: Bot,
}

impl HighRiskBot {
    /// Calls any method, high-risk or not.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn execute<M: Method>(&self, request: &M) -> Result<M::Output> {
        if <M::Risk as methods::RiskLevel>::IS_HIGH_RISK {
            tracing::warn!(method = M::NAME, "calling a high-risk controlled operation");
        }
        self.bot.send(request).await
    }

    /// Calls any method by name, high-risk ones included.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn call<P: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        method: &str,
        params: &P,
    ) -> Result<R> {
        if methods::is_high_risk(method) {
            tracing::warn!(method, "calling a high-risk controlled operation");
        }
        self.bot
            .post_json(method, params, self.bot.inner.request_timeout)
            .await
    }
}
