//! mpbot's development-mode [`UpdateSource`]: long polling over MPChat's `getUpdates`.
//!
//! [`LongPolling`] checks the bot's identity (`getMe`) and that no webhook is set
//! (`getWebhookInfo`), then loops on `getUpdates`, handing every update of every batch to the
//! [`UpdateSink`] in order before it asks for the next batch.
//!
//! What it guarantees:
//! - **No update MPChat handed over is dropped by the poller.** A successful `getUpdates`
//!   consumes its batch on MPChat's side (unlike Telegram), so the whole batch goes to the sink,
//!   even when shutdown is requested meanwhile. The sink never refuses a polled update
//!   ([`SourceInfo::redelivers`] is `false`): it waits for room.
//! - **Backpressure, not piling up.** The next `getUpdates` waits for
//!   [`UpdateSink::wait_for_capacity`], and its `limit` is capped by the sink's free capacity.
//! - **It never spins.** Transient faults (network errors, timeouts, 5xx) back off
//!   exponentially with jitter (see [`BackoffOptions`]); 429 waits exactly `retry_after`.
//! - **It says what is wrong.** A revoked token, a webhook that is set, another poller that
//!   keeps the token busy, or the wrong bot stop it with an [`Error`] that names the cause and
//!   the way out. It never deletes a webhook. It logs one line when it becomes degraded and one
//!   when it recovers, not one per retry.
//! - **Prompt shutdown.** An in-flight long poll is dropped at once (MPChat consumes nothing
//!   from a request whose client went away).
//! - **Observable.** [`PollingHealth`] tells the time of the last successful `getUpdates`.
//!
//! # Examples
//!
//! Polling the emulator (`mpbot-emulator`) with the core dispatcher, `allowed_updates` derived
//! from the router:
//!
//! ```
//! use mpbot_api::{Bot, BotToken, Message, User};
//! use mpbot_core::{Context, Dispatcher, DispatcherOptions, Router, Shutdown};
//! use mpbot_emulator::Emulator;
//! use mpbot_poller::{LongPolling, LongPollingOptions};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let emulator = Emulator::builder().bot("123456:TEST-TOKEN", "demo_bot").start().await?;
//! let bot = Bot::builder(BotToken::new("123456:TEST-TOKEN")?)
//!     .api_url(emulator.api_url())
//!     .build()?;
//!
//! let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
//! let mut router = Router::new();
//! router.on_message(move |_ctx: Context, message: Message| {
//!     let seen_tx = seen_tx.clone();
//!     async move { seen_tx.send(message.text).map_err(|e| e.to_string()) }
//! });
//! let me = bot.get_me().await?;
//! let dispatcher = Dispatcher::new(bot.clone(), me, router, DispatcherOptions::new());
//!
//! let options = LongPollingOptions::new()
//!     .with_allowed_updates_opt(dispatcher.allowed_updates())
//!     .with_expect_username("demo_bot");
//! let polling = LongPolling::new(bot, options)?;
//! let health = polling.health(); // for a health endpoint
//! let (trigger, shutdown) = Shutdown::new();
//! let running = tokio::spawn(dispatcher.run(Box::new(polling), shutdown));
//!
//! emulator.bot("123456:TEST-TOKEN").user_message(42, User::new(42), "hello");
//! assert_eq!(seen.recv().await, Some(Some("hello".to_owned())));
//! assert!(health.last_success().is_some());
//!
//! trigger.trigger(); // prompt, even in the middle of a 30 s long poll
//! let report = running.await??;
//! assert!(report.is_drained());
//! # emulator.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod api;
mod backoff;
mod error;
mod health;
mod options;

use std::sync::Arc;
use std::time::Duration;

pub use async_trait::async_trait;
use mpbot_api::methods::GetUpdates;
use mpbot_api::{Update, UpdateId};
use mpbot_core::{Refused, Shutdown, SourceInfo, UpdateSink, UpdateSource};
use tokio::time::Instant;

pub use api::PollApi;
pub use error::{Error, Result};
pub use health::{HealthSnapshot, PollingHealth, PollingState};
pub use options::{BackoffOptions, LongPollingOptions, MAX_LIMIT, MAX_TIMEOUT_SECS};

use health::HealthWriter;

/// The pause after an empty answer when `timeout_secs` is 0 (short polling), so that the loop
/// never spins.
pub const SHORT_POLL_PAUSE: Duration = Duration::from_secs(1);

/// The long-polling [`UpdateSource`]: `getUpdates` in a loop, every update handed to the sink.
///
/// Create it with [`LongPolling::new`], keep a [`PollingHealth`] with [`LongPolling::health`]
/// if you serve a health endpoint, then run it (usually as `Box<dyn UpdateSource>`).
///
/// # Errors
/// [`UpdateSource::run`] stops with [`mpbot_core::Error::Source`] (source name `"polling"`)
/// wrapping this crate's [`Error`] for conditions retrying cannot fix, or with
/// [`mpbot_core::Error::Refused`] if the sink refused a polled update (which a polling sink must
/// not do: the update is lost, and logged as such).
///
/// # Cancel safety
/// Requesting shutdown is the way to stop it: a batch already received is delivered in full
/// first. Dropping the `run` future instead may lose the batch being delivered.
pub struct LongPolling {
    /// The Bot API behind the seam (the HTTP client in production, a fake in timing tests).
    api: Arc<dyn PollApi>,
    /// Validated options.
    options: LongPollingOptions,
    /// Where the loop reports its state.
    health: HealthWriter,
}

impl std::fmt::Debug for LongPolling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LongPolling")
            .field("options", &self.options)
            .field("state", &self.health.reader().state())
            .finish_non_exhaustive()
    }
}

impl LongPolling {
    /// A poller over `api` (an [`mpbot_api::Bot`] or any [`PollApi`]).
    ///
    /// Give it a `Bot` without retries of its own: the poller retries `getUpdates` itself, and
    /// it must see each failure to report its state and honour `retry_after` exactly.
    ///
    /// # Errors
    /// [`Error::InvalidOptions`] when an option is out of range.
    pub fn new(api: impl PollApi, options: LongPollingOptions) -> Result<Self> {
        options.validate()?;
        Ok(Self {
            api: Arc::new(api),
            options,
            health: HealthWriter::new(),
        })
    }

    /// A health handle that stays valid while and after the poller runs.
    pub fn health(&self) -> PollingHealth {
        self.health.reader()
    }

    /// The options it runs with.
    pub fn options(&self) -> &LongPollingOptions {
        &self.options
    }
}

#[async_trait]
impl UpdateSource for LongPolling {
    /// `"polling"`, not redelivering: a successful `getUpdates` consumed its batch.
    fn describe(&self) -> SourceInfo {
        SourceInfo::new("polling", false)
    }

    async fn run(
        self: Box<Self>,
        sink: UpdateSink,
        shutdown: Shutdown,
    ) -> Result<(), mpbot_core::Error> {
        let LongPolling {
            api,
            options,
            health,
        } = *self;
        let mut poller = Poller {
            api,
            options,
            health,
            username: None,
            offset: None,
            failures: 0,
            degraded_since: None,
            conflict_since: None,
        };
        let result = poller.run(&sink, &shutdown).await;
        poller.health.stopped();
        match result {
            Ok(()) => {
                tracing::info!(offset = ?poller.offset.map(UpdateId::get), "long polling stopped");
                Ok(())
            }
            Err(Stop::Fatal(error)) => Err(mpbot_core::Error::source("polling", error)),
            Err(Stop::Refused(refused)) => Err(mpbot_core::Error::Refused(refused)),
        }
    }
}

/// Why the loop ended early.
enum Stop {
    /// A condition retrying cannot fix.
    Fatal(Error),
    /// The sink refused an update MPChat already consumed.
    Refused(Refused),
}

impl From<Error> for Stop {
    fn from(error: Error) -> Self {
        Self::Fatal(error)
    }
}

/// What the loop does after a failed call.
enum Next {
    /// Wait this long, then try again.
    RetryAfter(Duration),
    /// Shutdown was requested while handling the failure.
    Shutdown,
}

/// The running loop and its bookkeeping.
struct Poller {
    api: Arc<dyn PollApi>,
    options: LongPollingOptions,
    health: HealthWriter,
    /// The bot's username from `getMe`, for error messages.
    username: Option<String>,
    /// Highest `update_id` taken + 1; `None` until the first update (MPChat then starts at the
    /// oldest pending update).
    offset: Option<UpdateId>,
    /// Consecutive failed attempts; 0 while healthy. Drives the backoff and the state logs.
    failures: u32,
    /// When the current degraded period began.
    degraded_since: Option<Instant>,
    /// When the current run of 409s without a webhook began.
    conflict_since: Option<Instant>,
}

impl Poller {
    async fn run(&mut self, sink: &UpdateSink, shutdown: &Shutdown) -> Result<(), Stop> {
        if !self.start(shutdown).await? {
            return Ok(());
        }
        self.poll(sink, shutdown).await
    }

    /// `getMe` and `getWebhookInfo`, each retried on transient faults. `Ok(false)` on shutdown.
    async fn start(&mut self, shutdown: &Shutdown) -> Result<bool, Stop> {
        if self.options.timeout_secs == 0 {
            tracing::warn!(
                pause = ?SHORT_POLL_PAUSE,
                "timeout_secs = 0: getUpdates short-polls, so updates wait up to the pause \
                 after each empty answer; use a long poll (e.g. 30) outside of tests"
            );
        }
        let api = Arc::clone(&self.api);
        let Some(me) = self.start_call("getMe", shutdown, || api.get_me()).await? else {
            return Ok(false);
        };
        if let Some(expected) = &self.options.expect_username {
            let matches = me
                .username
                .as_deref()
                .is_some_and(|actual| actual.eq_ignore_ascii_case(expected));
            if !matches {
                return Err(Error::WrongBot {
                    expected: expected.clone(),
                    actual: me.username,
                }
                .into());
            }
        }
        self.username = me.username;
        let Some(info) = self
            .start_call("getWebhookInfo", shutdown, || api.get_webhook_info())
            .await?
        else {
            return Ok(false);
        };
        if info.is_set() {
            return Err(self.webhook_set(info.url).into());
        }
        tracing::info!(
            username = self.username.as_deref().unwrap_or(""),
            timeout_secs = self.options.timeout_secs,
            limit = self.options.limit,
            allowed_updates = ?self.options.allowed_updates,
            "long polling started"
        );
        Ok(true)
    }

    /// One start-up call, retried on transient faults. `Ok(None)` on shutdown.
    async fn start_call<T, F, Fut>(
        &mut self,
        method: &'static str,
        shutdown: &Shutdown,
        mut call: F,
    ) -> Result<Option<T>, Stop>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = mpbot_api::Result<T>>,
    {
        loop {
            let result = tokio::select! {
                result = call() => result,
                () = shutdown.requested() => return Ok(None),
            };
            let error = match result {
                Ok(value) => {
                    self.recovered();
                    return Ok(Some(value));
                }
                Err(error) => error,
            };
            if error.is_unauthorized() {
                return Err(Error::Unauthorized {
                    method: method.to_owned(),
                }
                .into());
            }
            if !error.is_retryable() {
                return Err(Error::Api(error).into());
            }
            let delay = self.failed(&error, error.retry_after());
            if !pause(delay, shutdown).await {
                return Ok(None);
            }
        }
    }

    /// The `getUpdates` loop. Returns `Ok(())` on shutdown.
    async fn poll(&mut self, sink: &UpdateSink, shutdown: &Shutdown) -> Result<(), Stop> {
        let mut request = GetUpdates::new();
        request.timeout = Some(self.options.timeout_secs);
        // NB: an empty list means "the default set" to MPChat (as to Telegram), which is not
        // what an empty router means; it is not sent at all.
        request.allowed_updates = self
            .options
            .allowed_updates
            .clone()
            .filter(|kinds| !kinds.is_empty());
        loop {
            // Backpressure: no new batch while the dispatcher is full.
            tokio::select! {
                biased;
                () = shutdown.requested() => return Ok(()),
                () = sink.wait_for_capacity() => {}
            }
            let free = u32::try_from(sink.free_capacity()).unwrap_or(u32::MAX);
            request.limit = Some(self.options.limit.min(free.max(1)));
            request.offset = self.offset;
            let result = tokio::select! {
                // NB: the answer goes first, so a batch that already arrived is taken (and
                // delivered) rather than dropped when shutdown races it.
                biased;
                result = self.api.get_updates(&request) => result,
                () = shutdown.requested() => return Ok(()),
            };
            record_poll(&result);
            match result {
                Ok(batch) => {
                    self.succeeded();
                    let empty = batch.is_empty();
                    self.deliver(batch, sink).await?;
                    if empty
                        && self.options.timeout_secs == 0
                        && !pause(SHORT_POLL_PAUSE, shutdown).await
                    {
                        return Ok(());
                    }
                }
                Err(error) => match self.on_error(error, shutdown).await? {
                    Next::RetryAfter(delay) => {
                        if !pause(delay, shutdown).await {
                            return Ok(());
                        }
                    }
                    Next::Shutdown => return Ok(()),
                },
            }
        }
    }

    /// Hands a whole batch to the sink, in order. Never interrupted by shutdown: MPChat
    /// already consumed these updates.
    async fn deliver(&mut self, batch: Vec<Update>, sink: &UpdateSink) -> Result<(), Stop> {
        let count = batch.len() as u64;
        let mut updates = batch.into_iter();
        while let Some(update) = updates.next() {
            let id = update.update_id;
            if let Err(refused) = sink.deliver(update).await {
                // NB: a polling sink must wait, not refuse; these updates are gone for good.
                tracing::error!(
                    update_id = %id,
                    lost = 1 + updates.len(),
                    reason = %refused,
                    "the sink refused polled updates MPChat already consumed; they are lost"
                );
                return Err(Stop::Refused(refused));
            }
            let next = UpdateId(id.get().saturating_add(1));
            self.offset = Some(self.offset.map_or(next, |offset| offset.max(next)));
        }
        self.health.delivered(count);
        Ok(())
    }

    /// Decides what a failed `getUpdates` means.
    async fn on_error(
        &mut self,
        error: mpbot_api::Error,
        shutdown: &Shutdown,
    ) -> Result<Next, Stop> {
        if error.is_unauthorized() {
            return Err(Error::Unauthorized {
                method: error.method().to_owned(),
            }
            .into());
        }
        if error.is_conflict() {
            return self.on_conflict(&error, shutdown).await;
        }
        if let mpbot_api::Error::Decode { .. } = error {
            // NB: MPChat consumed a batch we cannot read; a human has to look at the raw body.
            // NB: the decode error's text can quote the body (message texts), so the error
            // line names only the status; the details go to debug.
            tracing::error!(
                http_status = error.http_status(),
                "a getUpdates answer could not be decoded; its updates are lost"
            );
            tracing::debug!(error = %error, "the undecodable getUpdates answer");
        } else if !error.is_retryable() {
            return Err(Error::Api(error).into());
        }
        Ok(Next::RetryAfter(self.failed(&error, error.retry_after())))
    }

    /// A 409 mid-run: a webhook was set (fatal), or another poller took over (retried for the
    /// overlap window).
    async fn on_conflict(
        &mut self,
        error: &mpbot_api::Error,
        shutdown: &Shutdown,
    ) -> Result<Next, Stop> {
        let info = tokio::select! {
            info = self.api.get_webhook_info() => info,
            () = shutdown.requested() => return Ok(Next::Shutdown),
        };
        match info {
            Ok(info) if info.is_set() => Err(self.webhook_set(info.url).into()),
            Ok(_) => {
                let now = Instant::now();
                let since = *self.conflict_since.get_or_insert(now);
                let elapsed = now - since;
                let overlap = self.options.conflict_overlap;
                if elapsed >= overlap {
                    return Err(Error::ConflictPersisted { window: elapsed }.into());
                }
                // NB: the last retry lands at the window's end, not past it.
                let delay = self.failed(error, None).min(overlap - elapsed);
                Ok(Next::RetryAfter(delay))
            }
            Err(info_error) if info_error.is_unauthorized() => Err(Error::Unauthorized {
                method: info_error.method().to_owned(),
            }
            .into()),
            Err(info_error) if info_error.is_retryable() => Ok(Next::RetryAfter(
                self.failed(&info_error, info_error.retry_after()),
            )),
            Err(info_error) => Err(Error::Api(info_error).into()),
        }
    }

    fn webhook_set(&self, url: String) -> Error {
        Error::WebhookSet {
            url,
            username: self.username.clone(),
        }
    }

    /// Records a transient failure and returns how long to wait. Logs once when the poller
    /// becomes degraded; later retries only at debug level.
    fn failed(&mut self, error: &mpbot_api::Error, retry_after: Option<Duration>) -> Duration {
        let attempt = self.failures;
        self.failures = self.failures.saturating_add(1);
        let delay = backoff::retry_delay(
            &self.options.backoff,
            attempt,
            retry_after,
            rand::random::<f64>(),
        );
        let summary = summary(error);
        self.health.failure(summary.clone(), self.failures);
        if attempt == 0 {
            self.degraded_since = Some(Instant::now());
            tracing::warn!(
                error = %summary,
                retry_in = ?delay,
                "polling degraded: retrying with backoff (next log line on recovery)"
            );
        } else {
            tracing::debug!(error = %error, attempt = self.failures, retry_in = ?delay, "retrying");
        }
        delay
    }

    /// A call succeeded: logs the recovery if the poller was degraded.
    fn recovered(&mut self) {
        if self.failures > 0 {
            let degraded_for = self.degraded_since.map(|since| since.elapsed());
            tracing::info!(
                failures = self.failures,
                degraded_for = ?degraded_for,
                "polling recovered"
            );
            self.health.recovered();
        }
        self.failures = 0;
        self.degraded_since = None;
    }

    /// A `getUpdates` succeeded.
    fn succeeded(&mut self) {
        self.recovered();
        self.conflict_since = None;
        self.health.success();
    }
}

/// An error's text for logs above debug and for health: a decode error's text can quote the
/// body (message texts), so it is cut to the method and status.
fn summary(error: &mpbot_api::Error) -> String {
    match error {
        mpbot_api::Error::Decode {
            method,
            http_status,
            ..
        } => format!("{method}: could not decode the response (HTTP {http_status})"),
        other => other.to_string(),
    }
}

/// Counts one `getUpdates` answer in `mpbot_poll_requests_total{outcome}` and, when it
/// failed, `mpbot_poll_errors_total{class}` (names and classes: `docs/operations.md`).
fn record_poll<T>(result: &mpbot_api::Result<T>) {
    match result {
        Ok(_) => metrics::counter!("mpbot_poll_requests_total", "outcome" => "ok").increment(1),
        Err(error) => {
            metrics::counter!("mpbot_poll_requests_total", "outcome" => "error").increment(1);
            metrics::counter!("mpbot_poll_errors_total", "class" => error_class(error))
                .increment(1);
        }
    }
}

/// A small, fixed set of labels for an API error.
fn error_class(error: &mpbot_api::Error) -> &'static str {
    use mpbot_api::{ApiErrorKind, Error as E, TransportKind};
    match error {
        E::Transport { kind, .. } => match kind {
            TransportKind::Connect => "connect",
            TransportKind::Timeout => "timeout",
            _ => "transport",
        },
        E::Decode { .. } => "decode",
        _ => match error.api_kind() {
            Some(ApiErrorKind::RateLimited) => "rate_limited",
            Some(ApiErrorKind::Unauthorized) => "unauthorized",
            Some(ApiErrorKind::Conflict) => "conflict",
            Some(ApiErrorKind::Server) => "server",
            Some(_) => "client",
            None => "other",
        },
    }
}

/// Sleeps `delay` unless shutdown comes first; `false` on shutdown.
async fn pause(delay: Duration, shutdown: &Shutdown) -> bool {
    tokio::select! {
        () = tokio::time::sleep(delay) => true,
        () = shutdown.requested() => false,
    }
}
