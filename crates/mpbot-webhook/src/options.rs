//! The listener's options: [`WebhookOptions`] and the policies it holds.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use mpbot_api::Bot;

use crate::{Error, Result, WebhookSecret};

/// Default listen address: all interfaces, port 8443 (one of the ports Telegram allows for
/// webhooks; MPChat documents none).
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 8443);

/// What to do about the webhook registration at MPChat when the listener starts
/// (`register` in the TOML).
///
/// `setWebhook` is one of MPChat's high-risk controlled operations, so the default only looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Register {
    /// Once the listener is up, call `getWebhookInfo` and compare `url`, `allowed_updates` and
    /// `max_connections` with the options. A difference is logged as a warning; no webhook set
    /// at all is an [`Error::Registration`] (nothing would ever arrive). Changes nothing.
    #[default]
    Verify,
    /// Once the listener is serving (so MPChat's reachability probe succeeds), call
    /// `setWebhook` with `public_url`, the secret, `max_connections` and `allowed_updates`.
    /// Meant for test and emulator bots; a failure is an [`Error::Registration`].
    Auto,
    /// Do not talk to MPChat about the webhook at all (a deployment pipeline manages it).
    Off,
}

/// What to do about the webhook registration when the listener stops (`on_stop`).
///
/// Replicas of one bot share one webhook, so deleting it is never a silent default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnStop {
    /// Leave the webhook registered; MPChat keeps and retries undelivered updates.
    #[default]
    Keep,
    /// Call `deleteWebhook` after the listener stopped (needs a bot client).
    Delete,
}

/// PEM files for the listener's own TLS (`tls = { cert, key }`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsFiles {
    /// The certificate chain, leaf first, in PEM.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1) in PEM.
    pub key: PathBuf,
}

impl TlsFiles {
    /// The two files.
    pub fn new(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        Self {
            cert: cert.into(),
            key: key.into(),
        }
    }
}

/// Options of the webhook listener.
///
/// Build with [`WebhookOptions::new`] and the `with_*` setters; every field's default is in
/// its doc. The options are checked by [`Webhook::bind`](crate::Webhook::bind) and friends,
/// which return [`Error::Config`] naming the option at fault.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use mpbot_webhook::{Register, TlsFiles, WebhookOptions, WebhookSecret};
///
/// let options = WebhookOptions::new("https://bot.example.com/mp-bot/webhook")
///     .with_listen("0.0.0.0:8443".parse()?)
///     .with_secret(WebhookSecret::new("from-the-environment"))
///     .with_tls(TlsFiles::new("cert.pem", "key.pem"))
///     .with_ack_deadline(Some(Duration::from_secs(20)))
///     .with_register(Register::Off);
/// assert_eq!(options.path(), "/mp-bot/webhook");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WebhookOptions {
    /// The public HTTPS URL MPChat posts to. It must be `https://` even when a reverse proxy
    /// terminates TLS (MPChat only delivers over HTTPS). Its path (default `/` when it has
    /// none) is the only path served; every other path gets 404. Required.
    pub public_url: String,
    /// The address [`Webhook::bind`](crate::Webhook::bind) binds. Default [`DEFAULT_LISTEN`]
    /// (`0.0.0.0:8443`). Ignored when the listener is given ready-bound.
    pub listen: SocketAddr,
    /// The secret expected in `X-MpChat-Bot-Api-Secret-Token`. Default `None`, which is a
    /// config error unless [`allow_missing_secret`](Self::allow_missing_secret) is set.
    pub secret: Option<WebhookSecret>,
    /// Accept deliveries without a secret check. Default `false`: a webhook anyone can post
    /// fake updates to is a hole, so this has to be asked for.
    pub allow_missing_secret: bool,
    /// Serve TLS from these PEM files, reloaded when they change on disk. Default `None`:
    /// plain HTTP, for a reverse proxy that terminates TLS.
    pub tls: Option<TlsFiles>,
    /// Largest accepted body in bytes; larger ones get 413, judged by `Content-Length` and
    /// again while streaming. Default 1 MiB.
    pub max_body_bytes: usize,
    /// With the `handled` policy, answer 200 after this long even if the handlers have not
    /// finished, and let them finish (logged as a warning). Keep it below MPChat's delivery
    /// timeout (undocumented; Telegram's is about 60 s) so a slow handler does not turn into
    /// redeliveries. After the deadline the update counts as acknowledged: if the bot crashes
    /// before the handlers finish, it is lost. Default `None`: wait as long as the sink does.
    pub ack_deadline: Option<Duration>,
    /// Time a client has to send a request's complete headers (and, over TLS, to finish the
    /// handshake) before the connection is closed: the slowloris guard. Default 10 s.
    pub header_read_timeout: Duration,
    /// Time a client has to send a request's complete body; beyond it the answer is 408 and
    /// the connection is closed. Default 30 s.
    pub body_read_timeout: Duration,
    /// A keep-alive connection with no request in flight for this long is closed. Default
    /// 60 s. An idle HTTP/1.1 connection is also under the header-read timer (hyper starts it
    /// as soon as the connection waits for its next request), so it closes after the shorter
    /// of the two; this one governs HTTP/2.
    pub idle_timeout: Duration,
    /// Most concurrent TCP connections; further clients wait in the kernel's accept backlog
    /// until one closes. Default 1024; keep it above [`max_connections`](Self::max_connections),
    /// the most MPChat opens.
    pub connection_limit: usize,
    /// How long shutdown waits for in-flight requests before closing their connections.
    /// Default 10 s.
    pub shutdown_grace: Duration,
    /// `Retry-After` sent with 503 (rounded up to whole seconds, at least 1). Default 1 s.
    pub retry_after: Duration,
    /// `max_connections` for `setWebhook` (`Auto`) and for the comparison (`Verify`); MPChat's
    /// range is undocumented (Telegram: 1 to 100). Default `Some(40)` (Telegram's default);
    /// `None`: not sent, not compared.
    pub max_connections: Option<u32>,
    /// `allowed_updates` for `setWebhook` (`Auto`) and for the comparison (`Verify`). Default
    /// `None`: not sent, not compared.
    pub allowed_updates: Option<Vec<String>>,
    /// What to do about the registration at start. Default [`Register::Verify`], which needs
    /// [`bot`](Self::bot).
    pub register: Register,
    /// What to do about the registration at stop. Default [`OnStop::Keep`].
    pub on_stop: OnStop,
    /// The Bot API client used by [`register`](Self::register) and
    /// [`on_stop`](Self::on_stop). Default `None`, a config error unless `register` is
    /// [`Register::Off`] and `on_stop` is [`OnStop::Keep`].
    pub bot: Option<Bot>,
}

impl WebhookOptions {
    /// Options for the webhook at `public_url`, every other field at its default.
    pub fn new(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into(),
            listen: DEFAULT_LISTEN,
            secret: None,
            allow_missing_secret: false,
            tls: None,
            max_body_bytes: 1024 * 1024,
            ack_deadline: None,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            connection_limit: 1024,
            shutdown_grace: Duration::from_secs(10),
            retry_after: Duration::from_secs(1),
            max_connections: Some(40),
            allowed_updates: None,
            register: Register::Verify,
            on_stop: OnStop::Keep,
            bot: None,
        }
    }

    /// Sets [`listen`](Self::listen).
    pub fn with_listen(mut self, listen: SocketAddr) -> Self {
        self.listen = listen;
        self
    }

    /// Sets [`secret`](Self::secret).
    pub fn with_secret(mut self, secret: WebhookSecret) -> Self {
        self.secret = Some(secret);
        self
    }

    /// Sets [`allow_missing_secret`](Self::allow_missing_secret).
    pub fn with_allow_missing_secret(mut self, allow: bool) -> Self {
        self.allow_missing_secret = allow;
        self
    }

    /// Sets [`tls`](Self::tls).
    pub fn with_tls(mut self, tls: TlsFiles) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Sets [`max_body_bytes`](Self::max_body_bytes).
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Sets [`ack_deadline`](Self::ack_deadline).
    pub fn with_ack_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.ack_deadline = deadline;
        self
    }

    /// Sets [`header_read_timeout`](Self::header_read_timeout).
    pub fn with_header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Sets [`body_read_timeout`](Self::body_read_timeout).
    pub fn with_body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// Sets [`idle_timeout`](Self::idle_timeout).
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets [`connection_limit`](Self::connection_limit).
    pub fn with_connection_limit(mut self, limit: usize) -> Self {
        self.connection_limit = limit;
        self
    }

    /// Sets [`shutdown_grace`](Self::shutdown_grace).
    pub fn with_shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Sets [`retry_after`](Self::retry_after).
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// Sets [`max_connections`](Self::max_connections).
    pub fn with_max_connections(mut self, max: Option<u32>) -> Self {
        self.max_connections = max;
        self
    }

    /// Sets [`allowed_updates`](Self::allowed_updates).
    pub fn with_allowed_updates(mut self, kinds: Option<Vec<String>>) -> Self {
        self.allowed_updates = kinds;
        self
    }

    /// Sets [`register`](Self::register).
    pub fn with_register(mut self, register: Register) -> Self {
        self.register = register;
        self
    }

    /// Sets [`on_stop`](Self::on_stop).
    pub fn with_on_stop(mut self, on_stop: OnStop) -> Self {
        self.on_stop = on_stop;
        self
    }

    /// Sets [`bot`](Self::bot).
    pub fn with_bot(mut self, bot: Bot) -> Self {
        self.bot = Some(bot);
        self
    }

    /// The path served: the path of [`public_url`](Self::public_url), `/` when it has none or
    /// when the URL does not parse (which [`validate`](Self::validate) reports).
    pub fn path(&self) -> String {
        self.public_url
            .parse::<http::Uri>()
            .map(|uri| uri.path().to_owned())
            .unwrap_or_else(|_| "/".to_owned())
    }

    /// Checks the options without binding anything.
    ///
    /// # Errors
    /// [`Error::Config`] naming the first option at fault.
    pub fn validate(&self) -> Result<()> {
        let uri: http::Uri = self
            .public_url
            .parse()
            .map_err(|_| Error::config("public_url", "is not a valid URL"))?;
        if uri.scheme_str() != Some("https") {
            return Err(Error::config(
                "public_url",
                "must be https:// (MPChat delivers only over HTTPS; behind a TLS-terminating \
                 proxy use the proxy's public URL)",
            ));
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(Error::config("public_url", "has no host"));
        }
        match &self.secret {
            None if !self.allow_missing_secret => {
                return Err(Error::config(
                    "secret_token",
                    "no webhook secret configured; set one (recommended) or allow_missing_secret",
                ));
            }
            Some(secret) => {
                if let Some(problem) = secret.problem() {
                    return Err(Error::config("secret_token", problem));
                }
            }
            None => {}
        }
        if self.max_body_bytes == 0 {
            return Err(Error::config("max_body_bytes", "must be at least 1"));
        }
        if self.connection_limit == 0 {
            return Err(Error::config("connection_limit", "must be at least 1"));
        }
        for (key, value) in [
            ("header_read_timeout", self.header_read_timeout),
            ("body_read_timeout", self.body_read_timeout),
            ("idle_timeout", self.idle_timeout),
        ] {
            if value.is_zero() {
                return Err(Error::config(key, "must be longer than zero"));
            }
        }
        if self.ack_deadline.is_some_and(|d| d.is_zero()) {
            return Err(Error::config("ack_deadline", "must be longer than zero"));
        }
        if let Some(max) = self.max_connections
            && !(1..=100).contains(&max)
        {
            return Err(Error::config("max_connections", "must be 1 to 100"));
        }
        let needs_bot = self.register != Register::Off || self.on_stop == OnStop::Delete;
        if needs_bot && self.bot.is_none() {
            return Err(Error::config(
                "register",
                "verify/auto registration and on_stop = delete need a bot client (with_bot), \
                 or set register = off",
            ));
        }
        Ok(())
    }

    /// `Retry-After` in whole seconds, rounded up, at least 1.
    pub(crate) fn retry_after_secs(&self) -> u64 {
        let secs = self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0);
        secs.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> WebhookOptions {
        WebhookOptions::new("https://bot.example.com/mp-bot/webhook")
            .with_secret(WebhookSecret::new("secret"))
            .with_register(Register::Off)
    }

    /// Pins the table of option checks: each bad value is a config error naming its key.
    #[test]
    fn validate_names_the_bad_option() {
        assert!(ok().validate().is_ok());
        let cases: Vec<(WebhookOptions, &str)> = vec![
            (
                WebhookOptions {
                    public_url: "http://bot.example.com/x".into(),
                    ..ok()
                },
                "public_url",
            ),
            (
                WebhookOptions {
                    public_url: "not a url".into(),
                    ..ok()
                },
                "public_url",
            ),
            (
                WebhookOptions {
                    secret: None,
                    ..ok()
                },
                "secret_token",
            ),
            (ok().with_secret(WebhookSecret::new("a b")), "secret_token"),
            (ok().with_max_body_bytes(0), "max_body_bytes"),
            (ok().with_connection_limit(0), "connection_limit"),
            (ok().with_idle_timeout(Duration::ZERO), "idle_timeout"),
            (ok().with_ack_deadline(Some(Duration::ZERO)), "ack_deadline"),
            (ok().with_max_connections(Some(0)), "max_connections"),
            (ok().with_register(Register::Verify), "register"),
            (ok().with_on_stop(OnStop::Delete), "register"),
        ];
        for (options, key) in cases {
            match options.validate() {
                Err(Error::Config { key: got, .. }) => assert_eq!(got, key),
                other => panic!("{key}: expected a config error, got {other:?}"),
            }
        }
    }

    /// Pins that a missing secret is fine only when explicitly allowed.
    #[test]
    fn missing_secret_needs_explicit_allow() {
        let mut options = ok();
        options.secret = None;
        assert!(options.validate().unwrap_err().is_config());
        assert!(options.with_allow_missing_secret(true).validate().is_ok());
    }

    /// Pins the served path taken from public_url.
    #[test]
    fn path_comes_from_public_url() {
        let cases = [
            ("https://h/mp-bot/webhook", "/mp-bot/webhook"),
            ("https://h:8443/a?b=c", "/a"),
            ("https://h", "/"),
            ("https://h/", "/"),
        ];
        for (url, path) in cases {
            assert_eq!(WebhookOptions::new(url).path(), path, "{url}");
        }
    }

    /// Pins Retry-After rounding: whole seconds, up, never zero.
    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let cases = [(0, 1), (1, 1), (1500, 2), (3000, 3)];
        for (ms, secs) in cases {
            let options = ok().with_retry_after(Duration::from_millis(ms));
            assert_eq!(options.retry_after_secs(), secs, "{ms} ms");
        }
    }
}
