//! The webhook listener: an [`UpdateSource`] that receives MPChat's HTTPS POSTs.
//!
//! [`Webhook`] is a hyper 1.x server (HTTP/1.1, and HTTP/2 over TLS when the client picks `h2`
//! by ALPN; plain HTTP behind a proxy is HTTP/1.1) that hands every valid update to the
//! [`UpdateSink`] and answers
//! MPChat with the sink's verdict: 200 once the sink accepted the update (under the `handled`
//! policy, once the handlers ran), 503 with `Retry-After` when it refused, so MPChat delivers
//! it again. It is strict about what it accepts and honest about what it acknowledges.
//!
//! # Examples
//!
//! ```no_run
//! use mpbot_core::{Shutdown, UpdateSink, UpdateSource};
//! use mpbot_webhook::{Register, TlsFiles, Webhook, WebhookOptions, WebhookSecret};
//!
//! # async fn run(sink: UpdateSink, shutdown: Shutdown) -> Result<(), Box<dyn std::error::Error>> {
//! let options = WebhookOptions::new("https://bot.example.com/mp-bot/webhook")
//!     .with_secret(WebhookSecret::new(std::env::var("MPCHAT_WEBHOOK_SECRET")?))
//!     .with_tls(TlsFiles::new("cert.pem", "key.pem"))
//!     .with_register(Register::Off);
//! let webhook = Webhook::bind(options).await?;
//! let health = webhook.health();
//! println!("listening on {}", webhook.local_addr());
//! Box::new(webhook).run(sink, shutdown).await?;
//! # let _ = health;
//! # Ok(())
//! # }
//! ```
//!
//! # What each request gets
//!
//! The checks run in this order; the first that applies decides the answer. Nothing but a
//! valid update ever reaches the sink.
//!
//! | # | condition | answer |
//! |---|---|---|
//! | 1 | shutdown has begun | 503, `Retry-After` |
//! | 2 | path is not the path of `public_url` | 404 |
//! | 3 | method is not `POST` | 405, `Allow: POST` |
//! | 4 | empty body: `Content-Length: 0`, or no body at all (HTTP/1.1 without length or chunking, HTTP/2 `END_STREAM` on the headers) | 200, nothing delivered (the reachability probe) |
//! | 5 | `X-MpChat-Bot-Api-Secret-Token` missing or wrong | 401, body not read |
//! | 6 | `Content-Length` above `max_body_bytes` | 413, body not read |
//! | 7 | body not complete within `body_read_timeout` | 408 |
//! | 8 | body grows past `max_body_bytes` while streaming | 413 |
//! | 9 | streamed body turned out empty (chunked, zero chunks) | 200, nothing delivered |
//! | 10 | body is not JSON, or JSON that is not an `Update` (no `update_id`, an array, ...) | 400 |
//! | 11 | the sink refused (full, shutting down) | 503, `Retry-After` |
//! | 12 | the sink accepted, or it was a duplicate `update_id` | 200 |
//!
//! The probe rule comes before the secret because MPChat's reachability probe may not carry
//! the secret (protocol notes §4.1): an empty request carries no update, so answering it is
//! safe. Emptiness is judged from the headers alone, so an unauthenticated client can never
//! make the listener read a body: a chunked body with zero chunks and no secret gets 401.
//! Unknown fields and unknown update kinds are fine (they reach the handlers as `Other`).
//!
//! The secret check compares SHA-256 digests of the configured and the presented value in
//! constant time, so neither the content nor the length of the secret leaks through timing;
//! header values are never logged. A body that is not an update is logged with its size and the
//! kind and position of the error, never its content.
//!
//! # Hardening
//!
//! Every limit is an option with a default ([`WebhookOptions`]): header read timeout (and TLS
//! handshake timeout) against slowloris, body read timeout, keep-alive idle timeout, a cap on
//! concurrent connections (taken before `accept`, so excess clients wait in the kernel
//! backlog), and the body size limit.
//!
//! # Registration
//!
//! `setWebhook` and `deleteWebhook` are MPChat's high-risk operations, so the default
//! ([`Register::Verify`]) only compares `getWebhookInfo` with the options once the listener is
//! up, warns about drift and fails when no webhook is set at all. [`Register::Auto`] calls
//! `setWebhook` once the listener is serving, so MPChat's probe reaches it. [`OnStop::Delete`]
//! deletes the webhook when the listener stopped; the default keeps it, since replicas share
//! one webhook.
//!
//! # Shutdown
//!
//! When the [`Shutdown`] fires the listener stops accepting connections, answers 503 to every
//! new request on open connections, lets in-flight requests finish under the ack policy
//! (their answer is the sink's verdict), closes keep-alive connections, and waits up to
//! `shutdown_grace` before dropping whatever is still open. A request dropped that way was never
//! answered 200, so MPChat delivers it again: nothing acknowledged is lost.
//!
//! # TLS
//!
//! With [`TlsFiles`] the listener serves TLS 1.2/1.3 (rustls with aws-lc-rs) with ALPN `h2`
//! and `http/1.1`. Both files are checked at every handshake (two `stat` calls) and loaded
//! again when either changed, so a renewed certificate is served without a restart. A pair that
//! does not load (half-written, or key and certificate not matching) is logged and the previous
//! one stays in service. Replace the files atomically (write, then rename) where you can.

mod error;
mod health;
mod options;
mod register;
mod secret;
mod server;
mod signal;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

use http::HeaderValue;
use mpbot_api::BoxError;
use mpbot_core::{Shutdown, SourceInfo, UpdateSink, UpdateSource, async_trait};
use tokio::net::TcpListener;

pub use error::{Error, Result};
pub use health::WebhookHealth;
pub use options::{DEFAULT_LISTEN, OnStop, Register, TlsFiles, WebhookOptions};
pub use secret::WebhookSecret;

/// The webhook listener, bound and ready to [`run`](UpdateSource::run).
///
/// Make one with [`Webhook::bind`] (binds `options.listen`) or [`Webhook::from_listener`] /
/// [`Webhook::from_std_listener`] (takes a socket bound elsewhere, e.g. `127.0.0.1:0` in tests);
/// then [`local_addr`](Webhook::local_addr) tells where it listens. Running it (through
/// [`UpdateSource::run`] or [`Webhook::serve`]) serves until the shutdown signal.
pub struct Webhook {
    /// The bound socket; accepting starts in `serve`.
    listener: TcpListener,
    /// Where `listener` is bound, captured once.
    local_addr: SocketAddr,
    /// Validated options.
    options: WebhookOptions,
    /// The TLS acceptor, `None` for plain HTTP behind a proxy.
    tls: Option<tokio_rustls::TlsAcceptor>,
    /// Shared with every handle given out by [`Webhook::health`].
    health: WebhookHealth,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("local_addr", &self.local_addr)
            .field("tls", &self.tls.is_some())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Webhook {
    /// Checks the options, loads the TLS files, and binds `options.listen`.
    ///
    /// # Errors
    /// [`Error::Config`] for invalid options, [`Error::Tls`] when the certificate or key does
    /// not load, [`Error::Io`] when the address cannot be bound.
    pub async fn bind(options: WebhookOptions) -> Result<Self> {
        let tls = Self::prepare(&options)?;
        let listener = TcpListener::bind(options.listen)
            .await
            .map_err(|e| Error::io(format!("cannot bind {}", options.listen), e))?;
        Self::assemble(listener, options, tls)
    }

    /// Like [`Webhook::bind`], but serves on a listener bound elsewhere; `options.listen` is
    /// ignored.
    ///
    /// # Errors
    /// As [`Webhook::bind`], except binding.
    pub fn from_listener(listener: TcpListener, options: WebhookOptions) -> Result<Self> {
        let tls = Self::prepare(&options)?;
        Self::assemble(listener, options, tls)
    }

    /// Like [`Webhook::from_listener`] for a standard-library listener (it is switched to
    /// non-blocking mode). Must be called within a Tokio runtime.
    ///
    /// # Errors
    /// As [`Webhook::from_listener`], plus [`Error::Io`] when the socket cannot be registered
    /// with the runtime.
    pub fn from_std_listener(
        listener: std::net::TcpListener,
        options: WebhookOptions,
    ) -> Result<Self> {
        let tls = Self::prepare(&options)?;
        listener
            .set_nonblocking(true)
            .map_err(|e| Error::io("cannot make the listener non-blocking", e))?;
        let listener = TcpListener::from_std(listener)
            .map_err(|e| Error::io("cannot register the listener with the runtime", e))?;
        Self::assemble(listener, options, tls)
    }

    fn prepare(options: &WebhookOptions) -> Result<Option<tokio_rustls::TlsAcceptor>> {
        options.validate()?;
        options.tls.as_ref().map(tls::acceptor).transpose()
    }

    fn assemble(
        listener: TcpListener,
        options: WebhookOptions,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> Result<Self> {
        let local_addr = listener
            .local_addr()
            .map_err(|e| Error::io("cannot read the bound address", e))?;
        Ok(Self {
            listener,
            local_addr,
            options,
            tls,
            health: WebhookHealth::default(),
        })
    }

    /// The address the listener is bound to (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The options it runs with.
    pub fn options(&self) -> &WebhookOptions {
        &self.options
    }

    /// A handle for health checks: serving or not, time of the last accepted update.
    pub fn health(&self) -> WebhookHealth {
        self.health.clone()
    }

    /// Serves until `shutdown` fires, handing every valid update to `sink`; then shuts down
    /// gracefully (see the crate docs) and applies `on_stop`. Registration (`register`) runs
    /// while the listener is already serving.
    ///
    /// # Errors
    /// [`Error::Registration`] when `register` or `on_stop` failed (with `Verify`/`Auto`, the
    /// listener then stops at once).
    ///
    /// # Cancel safety
    /// Dropping the future closes the listening socket at once, but connections already open
    /// keep being served by their own tasks until they close or go idle, without the 503 and
    /// grace handling of a shutdown, and `on_stop` does not run. Nothing unacknowledged is lost
    /// either way (only a 200 acknowledges), but fire the [`Shutdown`] instead to stop cleanly.
    pub async fn serve(self, sink: UpdateSink, shutdown: Shutdown) -> Result<()> {
        let Self {
            listener,
            local_addr,
            options,
            tls,
            health,
        } = self;
        let stop = Arc::new(signal::Signal::default());
        let retry_after = HeaderValue::from(options.retry_after_secs());
        let shared = Arc::new(server::Shared {
            path: options.path(),
            secret: options.secret.as_ref().map(secret::SecretCheck::new),
            max_body_bytes: options.max_body_bytes,
            body_read_timeout: options.body_read_timeout,
            ack_deadline: options.ack_deadline,
            retry_after,
            sink,
            health: health.clone(),
            stop: stop.clone(),
        });
        let limits = server::ConnLimits {
            header_read_timeout: options.header_read_timeout,
            idle_timeout: options.idle_timeout,
            connection_limit: options.connection_limit,
        };
        let wanted = register::Wanted {
            url: options.public_url.clone(),
            secret: options.secret.clone(),
            max_connections: options.max_connections,
            allowed_updates: options.allowed_updates.clone(),
        };
        health.set_serving(true);
        tracing::info!(
            addr = %local_addr,
            tls = tls.is_some(),
            path = %shared.path,
            "webhook listener serving"
        );
        let server = server::serve(listener, tls, shared, limits, options.shutdown_grace);
        let control = async {
            // `Some` once registration finished; `None` when shutdown came first.
            let registered = tokio::select! {
                result = registration(&options, &wanted) => Some(result),
                () = shutdown.requested() => None,
            };
            if matches!(registered, Some(Ok(()))) {
                shutdown.requested().await;
            }
            // NB: draining first, so whoever sees `is_serving() == false` knows new requests
            // are already refused.
            stop.raise(signal::Stage::Draining);
            health.set_serving(false);
            registered
        };
        let ((), registered) = tokio::join!(server, control);
        tracing::info!(addr = %local_addr, "webhook listener stopped");
        // NB: delete only a registration this listener saw through: after a failed `auto` the
        // webhook MPChat still has is the previous one (a failed setWebhook changes nothing),
        // which may belong to another deployment.
        let deleted = match (options.on_stop, &options.bot, &registered) {
            (OnStop::Delete, Some(bot), Some(Ok(()))) => register::delete(bot).await,
            (OnStop::Delete, Some(_), _) => {
                tracing::warn!("on_stop = delete skipped: registration did not complete");
                Ok(())
            }
            _ => Ok(()),
        };
        registered.unwrap_or(Ok(())).and(deleted)
    }
}

/// Runs the `register` policy.
async fn registration(options: &WebhookOptions, wanted: &register::Wanted) -> Result<()> {
    let Some(bot) = &options.bot else {
        return Ok(());
    };
    match options.register {
        Register::Verify => register::verify(bot, wanted).await.map(drop),
        Register::Auto => register::auto(bot, wanted).await,
        Register::Off => Ok(()),
    }
}

#[async_trait]
impl UpdateSource for Webhook {
    fn describe(&self) -> SourceInfo {
        SourceInfo::new("webhook", true)
    }

    async fn run(self: Box<Self>, sink: UpdateSink, shutdown: Shutdown) -> mpbot_core::Result<()> {
        (*self)
            .serve(sink, shutdown)
            .await
            .map_err(|e| mpbot_core::Error::source("webhook", Box::new(e) as BoxError))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// Pins that the public async entry points return `Send` futures (they run in spawned tasks).
    #[test]
    fn public_futures_are_send() {
        let options = WebhookOptions::new("https://h/p");
        assert_send(&Webhook::bind(options));
        fn serve_is_send(webhook: Webhook, sink: UpdateSink) {
            assert_send(&webhook.serve(sink, Shutdown::never()));
        }
        let _ = serve_is_send;
    }
}
