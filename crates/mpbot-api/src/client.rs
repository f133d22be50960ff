//! The HTTP client: [`Bot`] and its high-risk handle [`HighRiskBot`].

use std::fmt;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::envelope::Envelope;
use crate::methods::{
    self, BanChatMember, CopyMessage, DeleteMessage, DeleteMessages, DeleteMyCommands,
    DeleteWebhook, EditMessageText, ForwardMessage, GetChat, GetChatAdministrators, GetChatMember,
    GetChatMemberCount, GetMe, GetMyCommands, GetWebhookInfo, InputFile, LeaveChat, LogOut, Method,
    Ordinary, PinChatMessage, SendDocument, SendMessage, SendPhoto, SendVideo, SetMyCommands,
    SetWebhook, UnbanChatMember, UnpinChatMessage,
};
use crate::throttle::{DEFAULT_REQUESTS_PER_SECOND, Throttle};
use crate::types::WebhookInfo;
use crate::types::{BotCommand, Chat, ChatMember, Message, MessageIdObject, Update, User};
use crate::{BotToken, ChatId, Error, MessageId, Result, RetryPolicy, TransportKind, UserId};

/// MPChat's production Bot API base URL. The request path is `{base}/bot{token}/{method}`.
pub const DEFAULT_API_URL: &str = "https://call.mp.net/bot";

/// What `getUpdates` adds to its long-poll `timeout` to get its HTTP read timeout, so the server
/// always answers (with an empty batch) before the client gives up.
pub const GET_UPDATES_TIMEOUT_MARGIN: Duration = Duration::from_secs(10);

/// Error bodies kept in [`Error::Decode`] and [`Error::Http`] are cut at this many bytes.
const MAX_KEPT_BODY: usize = 4096;

/// A client for one bot token.
///
/// Cheap to clone: clones share one connection pool, one throttle (at most
/// [`DEFAULT_REQUESTS_PER_SECOND`] requests per second per token by default, across all clones)
/// and one jitter source. Each clone has its own [`RetryPolicy`]; see [`Bot::with_retry_policy`].
///
/// Every call:
/// - waits for its slot in the throttle,
/// - is retried per MPChat's table (429 and 5xx but 501, with capped exponential backoff and
///   jitter, honouring `retry_after`), and for a non-idempotent method (a send) only when the
///   failure proves nothing happened,
/// - never lets the token reach an error message, a log line or a panic message.
///
/// The high-risk controlled operations (setWebhook, deleteWebhook, logOut, leaveChat,
/// deleteMessage(s), banChatMember) are not reachable from a `Bot`: ask for [`Bot::high_risk`].
///
/// # Examples
///
/// ```no_run
/// use mpbot_api::{Bot, BotToken};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let token = BotToken::new(std::env::var("MPCHAT_BOT_TOKEN")?)?;
/// let bot = Bot::builder(token)
///     .api_url("http://127.0.0.1:8081/bot") // the emulator; omit for MPChat itself
///     .build()?;
/// let me = bot.get_me().await?;
/// println!("I am {:?}", me.username);
/// bot.send_message(42, "hello").await?;
/// # Ok(())
/// # }
/// ```
///
/// High-risk methods do not compile through [`Bot::execute`]:
///
/// ```compile_fail
/// # async fn run(bot: mpbot_api::Bot) {
/// let _ = bot.execute(&mpbot_api::methods::SetWebhook::new("https://example.com/hook")).await;
/// # }
/// ```
#[derive(Clone)]
pub struct Bot {
    /// What clones share: pool, throttle, jitter source, settings.
    inner: Arc<Inner>,
    /// This clone's retry policy.
    retry: RetryPolicy,
}

struct Inner {
    http: reqwest::Client,
    api_url: String,
    token: BotToken,
    request_timeout: Duration,
    /// `None` when throttling is off.
    throttle: Option<Throttle>,
    /// The jitter source for retry backoff; seedable for tests.
    jitter: Mutex<StdRng>,
}

impl fmt::Debug for Bot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bot")
            .field("api_url", &self.inner.api_url)
            .field("token", &self.inner.token)
            .field("request_timeout", &self.inner.request_timeout)
            .field("throttle", &self.inner.throttle)
            .field("retry", &self.retry)
            .finish()
    }
}

/// Builds a [`Bot`] with non-default settings. Get one from [`Bot::builder`].
#[derive(Debug)]
pub struct BotBuilder {
    token: BotToken,
    api_url: String,
    request_timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    rate_limit: Option<NonZeroU32>,
    jitter_seed: Option<u64>,
}

impl BotBuilder {
    /// The base URL, default [`DEFAULT_API_URL`] (the emulator's is `http://127.0.0.1:8081/bot`).
    /// A trailing `/` is ignored.
    pub fn api_url(mut self, url: impl Into<String>) -> Self {
        self.api_url = url.into().trim_end_matches('/').to_owned();
        self
    }

    /// Timeout of a whole request (connect, send, read the body), default 30 s. `getUpdates`
    /// gets its long-poll `timeout` plus [`GET_UPDATES_TIMEOUT_MARGIN`], never less than this.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Timeout of connection set-up, default 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The retry policy, default [`RetryPolicy::default`] (5 attempts, 0.5 s doubling to 30 s,
    /// full jitter).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The client-side rate limit in requests per second, shared by all clones; default
    /// [`DEFAULT_REQUESTS_PER_SECOND`] (MPChat's documented limit). `None` turns it off.
    ///
    /// The limit is per built client: two clients built separately for one token each get their
    /// own, so build one `Bot` per token and clone it.
    pub fn rate_limit(mut self, requests_per_second: Option<NonZeroU32>) -> Self {
        self.rate_limit = requests_per_second;
        self
    }

    /// Seeds the jitter of retry backoff, making the waits reproducible (for tests). By default
    /// the seed is random.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// When the TLS backend cannot be initialised.
    pub fn build(self) -> Result<Bot> {
        let http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .map_err(|e| Error::Transport {
                method: "client".into(),
                kind: TransportKind::Other,
                source: Box::new(Redacted::chain(&e.without_url(), &self.token)),
            })?;
        let jitter = match self.jitter_seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_rng(&mut rand::rng()),
        };
        Ok(Bot {
            inner: Arc::new(Inner {
                http,
                api_url: self.api_url,
                token: self.token,
                request_timeout: self.request_timeout,
                throttle: self.rate_limit.map(Throttle::per_second),
                jitter: Mutex::new(jitter),
            }),
            retry: self.retry,
        })
    }
}

impl Bot {
    /// A client for `token` against MPChat's production API with default settings.
    ///
    /// # Panics
    /// When the TLS backend cannot be initialised; use [`Bot::builder`] to handle that. The
    /// panic message does not contain the token.
    pub fn new(token: BotToken) -> Self {
        Self::builder(token)
            .build()
            .expect("the TLS backend initialises")
    }

    /// A builder for `token`, with MPChat's production URL, a 30 s request timeout, a 10 s
    /// connect timeout, [`RetryPolicy::default`] and a throttle of
    /// [`DEFAULT_REQUESTS_PER_SECOND`] requests per second.
    pub fn builder(token: BotToken) -> BotBuilder {
        BotBuilder {
            token,
            api_url: DEFAULT_API_URL.to_owned(),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            rate_limit: NonZeroU32::new(DEFAULT_REQUESTS_PER_SECOND),
            jitter_seed: None,
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

    /// This clone's retry policy.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// A clone with another retry policy, sharing this client's connection pool, throttle and
    /// jitter source. A caller with its own backoff loop (the poller) uses
    /// `bot.with_retry_policy(RetryPolicy::none())`.
    pub fn with_retry_policy(&self, policy: RetryPolicy) -> Bot {
        Bot {
            inner: Arc::clone(&self.inner),
            retry: policy,
        }
    }

    /// The throttle all clones share, `None` when throttling is off.
    pub fn throttle(&self) -> Option<&Throttle> {
        self.inner.throttle.as_ref()
    }

    /// Calls an ordinary (not high-risk) method. High-risk methods do not compile here; use
    /// [`Bot::high_risk`].
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn execute<M: Method<Risk = Ordinary>>(&self, request: &M) -> Result<M::Output> {
        self.send(request).await
    }

    /// Calls any method by name with any parameters, for methods this crate has no type for.
    /// The parameters are sent as JSON. High-risk methods are refused here; use
    /// [`Bot::high_risk`]. As the method's idempotency is unknown, it is retried only when the
    /// failure proves the call had no effect.
    ///
    /// # Errors
    /// [`Error::HighRiskRefused`] for a high-risk method name (nothing is sent), otherwise see
    /// [`Error`].
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
        self.call_unchecked(method, params).await
    }

    /// The handle for MPChat's high-risk controlled operations (setWebhook, deleteWebhook, logOut,
    /// leaveChat, deleteMessage(s), banChatMember). Asking for it is the opt-in: ordinary code
    /// paths cannot reach those methods, and each call through the handle logs a warning.
    pub fn high_risk(&self) -> HighRiskBot {
        HighRiskBot { bot: self.clone() }
    }

    /// `getMe`: the bot's own identity.
    ///
    /// # Errors
    /// See [`Error`]; 401 means the token is invalid or revoked.
    pub async fn get_me(&self) -> Result<User> {
        self.execute(&GetMe::new()).await
    }

    /// `getUpdates`. The HTTP timeout is the long-poll `timeout` plus
    /// [`GET_UPDATES_TIMEOUT_MARGIN`]. Not idempotent (a lost response consumed its batch), so it
    /// is retried only on failures that prove nothing was consumed.
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
        self.execute(&GetWebhookInfo::new()).await
    }

    /// `sendMessage` with just a chat and a text; use [`Bot::execute`] with a
    /// [`SendMessage`] for the other parameters.
    ///
    /// # Errors
    /// See [`Error`]; 400 when the chat never talked to the bot.
    pub async fn send_message(
        &self,
        chat_id: impl Into<ChatId>,
        text: impl Into<String>,
    ) -> Result<Message> {
        self.execute(&SendMessage::new(chat_id, text)).await
    }

    /// `editMessageText`.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn edit_message_text(&self, request: &EditMessageText) -> Result<Message> {
        self.execute(request).await
    }

    /// `forwardMessage` (Telegram's name; unverified on MPChat).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn forward_message(
        &self,
        chat_id: impl Into<ChatId>,
        from_chat_id: impl Into<ChatId>,
        message_id: impl Into<MessageId>,
    ) -> Result<Message> {
        self.execute(&ForwardMessage::new(chat_id, from_chat_id, message_id))
            .await
    }

    /// `copyMessage` (Telegram's name; unverified on MPChat).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn copy_message(&self, request: &CopyMessage) -> Result<MessageIdObject> {
        self.execute(request).await
    }

    /// `pinChatMessage`.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn pin_chat_message(
        &self,
        chat_id: impl Into<ChatId>,
        message_id: impl Into<MessageId>,
    ) -> Result<bool> {
        self.execute(&PinChatMessage::new(chat_id, message_id))
            .await
    }

    /// `unpinChatMessage`: a given message, or the latest pin when `message_id` is `None`.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn unpin_chat_message(
        &self,
        chat_id: impl Into<ChatId>,
        message_id: Option<MessageId>,
    ) -> Result<bool> {
        let mut request = UnpinChatMessage::new(chat_id);
        request.message_id = message_id;
        self.execute(&request).await
    }

    /// `getChat`.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn get_chat(&self, chat_id: impl Into<ChatId>) -> Result<Chat> {
        self.execute(&GetChat::new(chat_id)).await
    }

    /// `getChatMember`.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn get_chat_member(
        &self,
        chat_id: impl Into<ChatId>,
        user_id: impl Into<UserId>,
    ) -> Result<ChatMember> {
        self.execute(&GetChatMember::new(chat_id, user_id)).await
    }

    /// `getChatAdministrators`.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn get_chat_administrators(
        &self,
        chat_id: impl Into<ChatId>,
    ) -> Result<Vec<ChatMember>> {
        self.execute(&GetChatAdministrators::new(chat_id)).await
    }

    /// `getChatMemberCount`.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn get_chat_member_count(&self, chat_id: impl Into<ChatId>) -> Result<u64> {
        self.execute(&GetChatMemberCount::new(chat_id)).await
    }

    /// `setMyCommands`: replaces the command menu.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn set_my_commands(&self, commands: Vec<BotCommand>) -> Result<bool> {
        self.execute(&SetMyCommands::new(commands)).await
    }

    /// `getMyCommands`.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn get_my_commands(&self) -> Result<Vec<BotCommand>> {
        self.execute(&GetMyCommands::new()).await
    }

    /// `deleteMyCommands`.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn delete_my_commands(&self) -> Result<bool> {
        self.execute(&DeleteMyCommands::new()).await
    }

    /// `sendPhoto`: a public URL ([`InputFile::Url`]) is sent as JSON, an upload
    /// ([`InputFile::Upload`]) as `multipart/form-data`.
    ///
    /// # Errors
    /// See [`Error`]; [`Error::InvalidRequest`] for an unusable MIME type.
    pub async fn send_photo(&self, request: &SendPhoto) -> Result<Message> {
        self.execute(request).await
    }

    /// `sendDocument`: a public URL or a multipart upload, as [`Bot::send_photo`].
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn send_document(&self, request: &SendDocument) -> Result<Message> {
        self.execute(request).await
    }

    /// `sendVideo`: a public URL or a multipart upload, as [`Bot::send_photo`].
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn send_video(&self, request: &SendVideo) -> Result<Message> {
        self.execute(request).await
    }

    /// `unbanChatMember`: lifts the mute `banChatMember` set.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn unban_chat_member(
        &self,
        chat_id: impl Into<ChatId>,
        user_id: impl Into<UserId>,
    ) -> Result<bool> {
        self.execute(&UnbanChatMember::new(chat_id, user_id)).await
    }

    /// Sends a typed request, whatever its risk (callers check the risk).
    async fn send<M: Method>(&self, request: &M) -> Result<M::Output> {
        let body = match request.upload() {
            Some((field, file)) => multipart_body(M::NAME, request, field, file)?,
            None => json_body(M::NAME, request)?,
        };
        let timeout = self.timeout_for(request.long_poll_timeout());
        self.run(M::NAME, M::IDEMPOTENT, &body, timeout).await
    }

    /// Sends an untyped request as JSON, without the high-risk check.
    async fn call_unchecked<P: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        method: &str,
        params: &P,
    ) -> Result<R> {
        let value = serde_json::to_value(params).map_err(|e| Error::InvalidRequest {
            method: method.to_owned(),
            reason: e.to_string(),
        })?;
        let long_poll = (method == methods::GetUpdates::NAME)
            .then(|| value.get("timeout").and_then(serde_json::Value::as_u64))
            .flatten()
            .map(Duration::from_secs);
        let body = json_body(method, &value)?;
        self.run(method, false, &body, self.timeout_for(long_poll))
            .await
    }

    /// The HTTP timeout of one call: the client's, or a long poll plus the margin if longer.
    fn timeout_for(&self, long_poll: Option<Duration>) -> Duration {
        request_timeout_for(long_poll, self.inner.request_timeout)
    }

    /// The retry loop: throttle, attempt, and on failure ask the policy.
    async fn run<R: DeserializeOwned>(
        &self,
        method: &str,
        idempotent: bool,
        body: &Body,
        timeout: Duration,
    ) -> Result<R> {
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            if let Some(throttle) = &self.inner.throttle {
                throttle.acquire().await;
            }
            tracing::debug!(method, attempt = attempts, "calling the Bot API");
            let result = self.attempt(method, body, timeout).await;
            // One count per HTTP exchange (a retried call counts each attempt).
            metrics::counter!(
                "mpbot_api_calls_total",
                "method" => method.to_owned(),
                "outcome" => call_outcome(result.as_ref().err()),
            )
            .increment(1);
            let error = match result {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            if !self.retry.should_retry(&error, idempotent, attempts) {
                return Err(error);
            }
            let delay = self
                .retry
                .backoff(attempts - 1, error.retry_after(), self.jitter_sample());
            tracing::warn!(
                method,
                attempt = attempts,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                error = %error,
                "Bot API call failed; retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    fn jitter_sample(&self) -> f64 {
        self.inner
            .jitter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .random::<f64>()
    }

    /// One HTTP exchange.
    async fn attempt<R: DeserializeOwned>(
        &self,
        method: &str,
        body: &Body,
        timeout: Duration,
    ) -> Result<R> {
        // NB: this URL holds the token. It is never logged, and every error that could carry it
        // goes through `Redacted`.
        let url = format!(
            "{}/bot{}/{method}",
            self.inner.api_url,
            self.inner.token.expose()
        );
        let request = self.inner.http.post(url).timeout(timeout);
        let request = match body {
            Body::Json(bytes) => request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(bytes.clone()),
            Body::Multipart { fields, file } => request.multipart(file.form(method, fields)?),
        };
        let response = request
            .send()
            .await
            .map_err(|e| self.transport_error(method, e))?;
        let status = response.status().as_u16();
        let retry_after_header = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(method, e))?;
        tracing::trace!(
            method,
            http_status = status,
            body_len = body.len(),
            "Bot API answered"
        );
        decode_envelope(method, status, &body, retry_after_header)
            .map_err(|e| redact_error(e, &self.inner.token))
    }

    fn transport_error(&self, method: &str, error: reqwest::Error) -> Error {
        // NB: a connect timeout is both; it never reached the server, so it is a `Connect`.
        let kind = if error.is_connect() {
            TransportKind::Connect
        } else if error.is_timeout() {
            TransportKind::Timeout
        } else {
            TransportKind::Other
        };
        // NB: reqwest's Display includes the URL, and the URL holds the token. `without_url`
        // drops it; `Redacted` masks the token anywhere else in the chain, to be sure.
        Error::Transport {
            method: method.to_owned(),
            kind,
            source: Box::new(Redacted::chain(&error.without_url(), &self.inner.token)),
        }
    }
}

/// The `outcome` label of `mpbot_api_calls_total`: `ok` or a small, fixed error class.
fn call_outcome(error: Option<&Error>) -> &'static str {
    use crate::ApiErrorKind;
    let Some(error) = error else { return "ok" };
    match error {
        Error::Transport { kind, .. } => match kind {
            TransportKind::Connect => "connect",
            TransportKind::Timeout => "timeout",
            _ => "transport",
        },
        Error::Decode { .. } => "decode",
        Error::HighRiskRefused { .. } | Error::InvalidRequest { .. } => "refused",
        _ => match error.api_kind() {
            Some(ApiErrorKind::RateLimited) => "rate_limited",
            Some(ApiErrorKind::Unauthorized) => "unauthorized",
            Some(ApiErrorKind::Conflict) => "conflict",
            Some(ApiErrorKind::Server) => "server",
            Some(ApiErrorKind::Business) => "business",
            Some(_) => "client",
            None => "other",
        },
    }
}

/// The HTTP timeout for one call: a long poll waits `long_poll` on purpose, so its read timeout
/// is that plus [`GET_UPDATES_TIMEOUT_MARGIN`], and never shorter than the client's default.
fn request_timeout_for(long_poll: Option<Duration>, default: Duration) -> Duration {
    match long_poll {
        Some(wait) => default.max(wait.saturating_add(GET_UPDATES_TIMEOUT_MARGIN)),
        None => default,
    }
}

/// A request body, built once and reused by every attempt.
enum Body {
    /// `application/json`.
    Json(bytes::Bytes),
    /// `multipart/form-data`: text fields and one file.
    Multipart {
        fields: Vec<(String, String)>,
        file: FilePart,
    },
}

/// The file part of a multipart body.
struct FilePart {
    field: &'static str,
    file_name: String,
    mime: String,
    bytes: bytes::Bytes,
}

impl FilePart {
    /// A fresh form (reqwest's is consumed by each send).
    fn form(&self, method: &str, fields: &[(String, String)]) -> Result<reqwest::multipart::Form> {
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in fields {
            form = form.text(name.clone(), value.clone());
        }
        let part = reqwest::multipart::Part::stream_with_length(
            reqwest::Body::from(self.bytes.clone()),
            self.bytes.len() as u64,
        )
        .file_name(self.file_name.clone())
        .mime_str(&self.mime)
        .map_err(|_| Error::InvalidRequest {
            method: method.to_owned(),
            reason: format!("invalid MIME type {:?}", self.mime),
        })?;
        Ok(form.part(self.field, part))
    }
}

fn json_body<P: Serialize + ?Sized>(method: &str, params: &P) -> Result<Body> {
    serde_json::to_vec(params)
        .map(|bytes| Body::Json(bytes.into()))
        .map_err(|e| Error::InvalidRequest {
            method: method.to_owned(),
            reason: e.to_string(),
        })
}

/// The multipart form of a request that uploads `file` as parameter `field`: every other
/// parameter is a text part, strings raw and other JSON values (numbers, `reply_markup`) as JSON
/// text; `null`s are left out.
fn multipart_body<P: Serialize + ?Sized>(
    method: &str,
    params: &P,
    field: &'static str,
    file: &InputFile,
) -> Result<Body> {
    let invalid = |reason: String| Error::InvalidRequest {
        method: method.to_owned(),
        reason,
    };
    let InputFile::Upload {
        file_name,
        mime,
        bytes,
    } = file
    else {
        return json_body(method, params);
    };
    let value = serde_json::to_value(params).map_err(|e| invalid(e.to_string()))?;
    let serde_json::Value::Object(map) = value else {
        return Err(invalid("parameters are not a JSON object".into()));
    };
    let fields = map
        .into_iter()
        .filter(|(name, value)| name != field && !value.is_null())
        .map(|(name, value)| {
            let text = match value {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            (name, text)
        })
        .collect();
    Ok(Body::Multipart {
        fields,
        file: FilePart {
            field,
            file_name: file_name.clone(),
            mime: mime
                .clone()
                .unwrap_or_else(|| "application/octet-stream".to_owned()),
            bytes: bytes::Bytes::copy_from_slice(bytes),
        },
    })
}

/// Reads the envelope whatever the HTTP status; falls back to the status when the body is not an
/// envelope (an HTML page from a proxy, say).
///
/// A success is decoded in one pass straight into `Envelope<R>` (the hot path: a getUpdates batch
/// of 100 updates). Anything else (`ok` false, a result that does not fit `R`, not an envelope at
/// all) is decoded again by [`decode_envelope_slow`], which tells these cases apart; a failure
/// costs a second parse, a success never does.
fn decode_envelope<R: DeserializeOwned>(
    method: &str,
    http_status: u16,
    body: &[u8],
    retry_after_header: Option<u64>,
) -> Result<R> {
    if let Ok(Envelope {
        ok: true,
        result: Some(result),
        ..
    }) = serde_json::from_slice::<Envelope<R>>(body)
    {
        return Ok(result);
    }
    decode_envelope_slow(method, http_status, body, retry_after_header)
}

/// The tolerant path: the envelope into a [`serde_json::Value`] first, then the result into `R`,
/// so an error envelope, a non-envelope body and a result of the wrong shape each get their own
/// error. Also decodes a success without a `result` (or with `null`), as `R` read from `null`.
fn decode_envelope_slow<R: DeserializeOwned>(
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
        Err(_) if http_status >= 400 => Err(Error::Http {
            method: method.to_owned(),
            http_status,
            retry_after: retry_after_header.map(Duration::from_secs),
            body: cut(body),
        }),
        Err(e) => Err(decode_error(method, http_status, &e.to_string(), body)),
    }
}

fn decode_error(method: &str, http_status: u16, reason: &str, body: &[u8]) -> Error {
    Error::Decode {
        method: method.to_owned(),
        http_status,
        reason: reason.to_owned(),
        raw: cut(body),
    }
}

fn cut(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(MAX_KEPT_BODY)]).into_owned()
}

/// Masks the token in the free-text fields of an error built from a response (a server that
/// echoes the request path must not leak it through us).
fn redact_error(error: Error, token: &BotToken) -> Error {
    let mask = |s: String| redact(&s, token);
    match error {
        Error::Api {
            method,
            code,
            description,
            retry_after,
            http_status,
        } => Error::Api {
            method,
            code,
            description: mask(description),
            retry_after,
            http_status,
        },
        Error::Http {
            method,
            http_status,
            retry_after,
            body,
        } => Error::Http {
            method,
            http_status,
            retry_after,
            body: mask(body),
        },
        Error::Decode {
            method,
            http_status,
            reason,
            raw,
        } => Error::Decode {
            method,
            http_status,
            reason: mask(reason),
            raw: mask(raw),
        },
        other => other,
    }
}

fn redact(text: &str, token: &BotToken) -> String {
    text.replace(token.expose(), &token.to_string())
}

/// A lower-layer error copied with the token masked: its `Display`, its `Debug` and its whole
/// `source()` chain, each rendered once with the token replaced by its mask.
struct Redacted {
    display: String,
    debug: String,
    source: Option<Box<Redacted>>,
}

impl Redacted {
    fn chain(error: &(dyn std::error::Error + 'static), token: &BotToken) -> Self {
        Self {
            display: redact(&error.to_string(), token),
            debug: redact(&format!("{error:?}"), token),
            source: error.source().map(|s| Box::new(Self::chain(s, token))),
        }
    }
}

impl fmt::Display for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.debug)
    }
}

impl std::error::Error for Redacted {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

/// The explicit opt-in handle for MPChat's high-risk controlled operations. Get it with
/// [`Bot::high_risk`]. Every high-risk call logs a warning naming the method (never the token).
///
/// MPChat's checklist asks for approval and a rollback plan for each of these, and for no
/// automatic calls from deployment pipelines: keep code that holds this handle small and obvious.
#[derive(Debug, Clone)]
pub struct HighRiskBot {
    bot: Bot,
}

impl HighRiskBot {
    /// Calls any typed method, high-risk or not.
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
        self.bot.call_unchecked(method, params).await
    }

    /// The ordinary client this handle was made from.
    pub fn bot(&self) -> &Bot {
        &self.bot
    }

    /// `setWebhook` (high-risk). MPChat probes the URL before saving it.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn set_webhook(&self, request: &SetWebhook) -> Result<bool> {
        self.execute(request).await
    }

    /// `deleteWebhook` (high-risk). Never call it to settle a 409 automatically.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn delete_webhook(&self, request: &DeleteWebhook) -> Result<bool> {
        self.execute(request).await
    }

    /// `logOut` (high-risk).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn log_out(&self) -> Result<bool> {
        self.execute(&LogOut::new()).await
    }

    /// `leaveChat` (high-risk).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn leave_chat(&self, chat_id: impl Into<ChatId>) -> Result<bool> {
        self.execute(&LeaveChat::new(chat_id)).await
    }

    /// `deleteMessage` (high-risk; MPChat's "recall").
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn delete_message(
        &self,
        chat_id: impl Into<ChatId>,
        message_id: impl Into<MessageId>,
    ) -> Result<bool> {
        self.execute(&DeleteMessage::new(chat_id, message_id)).await
    }

    /// `deleteMessages` (high-risk).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn delete_messages(
        &self,
        chat_id: impl Into<ChatId>,
        message_ids: Vec<MessageId>,
    ) -> Result<bool> {
        self.execute(&DeleteMessages::new(chat_id, message_ids))
            .await
    }

    /// `banChatMember` (high-risk). On MPChat it **mutes** the member until `until_date`.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn ban_chat_member(&self, request: &BanChatMember) -> Result<bool> {
        self.execute(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// getUpdates' HTTP timeout covers its long poll plus the margin, never below the default.
    #[test]
    fn long_poll_timeout_adds_margin_and_never_shrinks() {
        let default = Duration::from_secs(30);
        let cases = [
            (None, default),
            (Some(Duration::ZERO), default),
            (Some(Duration::from_secs(5)), default),
            (Some(Duration::from_secs(25)), Duration::from_secs(35)),
            (Some(Duration::from_secs(50)), Duration::from_secs(60)),
            (Some(Duration::MAX), Duration::MAX),
        ];
        for (long_poll, want) in cases {
            assert_eq!(
                request_timeout_for(long_poll, default),
                want,
                "{long_poll:?}"
            );
        }
        let mut request = methods::GetUpdates::new();
        request.timeout = Some(50);
        assert_eq!(request.long_poll_timeout(), Some(Duration::from_secs(50)));
    }

    /// Non-envelope bodies: an error status becomes `Http`, a 200 becomes `Decode` with the raw
    /// body kept.
    #[test]
    fn decode_falls_back_to_status_or_decode_error() {
        let html = b"<html>Bad Gateway</html>";
        let e = decode_envelope::<bool>("getMe", 502, html, Some(7)).unwrap_err();
        assert!(matches!(
            e,
            Error::Http {
                http_status: 502,
                ..
            }
        ));
        assert_eq!(e.api_code(), Some(502));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        let e = decode_envelope::<bool>("getMe", 200, b"nope", None).unwrap_err();
        assert!(matches!(&e, Error::Decode { raw, .. } if raw == "nope"));
        let e = decode_envelope::<bool>("getMe", 200, br#"{"ok":true,"result":"x"}"#, None)
            .unwrap_err();
        assert!(matches!(e, Error::Decode { .. }));
    }

    /// The one-pass success path and the tolerant path agree: a success decodes, a success
    /// without `result` reads `R` from `null`, an error envelope becomes `Api`.
    #[test]
    fn decode_reads_success_missing_result_and_error_envelope() {
        let body = br#"{"ok":true,"result":[{"update_id":"5","message":{"message_id":1,"chat":{"id":1,"type":"private"}}}]}"#;
        let updates = decode_envelope::<Vec<Update>>("getUpdates", 200, body, None).unwrap();
        assert_eq!(updates[0].update_id, crate::UpdateId(5));
        let none = decode_envelope::<Option<bool>>("x", 200, br#"{"ok":true}"#, None).unwrap();
        assert_eq!(none, None);
        let e =
            decode_envelope::<bool>("x", 200, br#"{"ok":true,"result":null}"#, None).unwrap_err();
        assert!(matches!(e, Error::Decode { .. }));
        let body =
            br#"{"ok":false,"error_code":429,"description":"slow","parameters":{"retry_after":3}}"#;
        let e = decode_envelope::<Vec<Update>>("getUpdates", 429, body, None).unwrap_err();
        assert!(matches!(
            &e,
            Error::Api { code: 429, description, http_status: 429, .. } if description == "slow"
        ));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    }
}
