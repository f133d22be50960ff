//! The bot's TOML configuration: one file, one line to switch between polling and webhook.
//!
//! The file is read in two layers. The raw layer mirrors the file (every key optional, unknown
//! keys refused with a "did you mean" suggestion, `MPBOT_*` environment overrides applied);
//! [`Config`] is the validated, typed result (durations, socket addresses, checked URLs,
//! secrets loaded from the environment or from files). Every check lives in one place, and
//! every [`ConfigError`] names the file, line, column and dotted key (or the environment
//! variable that overrode the key).
//!
//! `docs/configuration.md` is the reference for every key; a test parses each example in it.
//!
//! ```
//! use mpbot::config::{Config, SourceSettings};
//!
//! let text = r#"
//! [bot]
//! token_env = "MY_TOKEN"
//!
//! [delivery]
//! mode = "polling"
//! "#;
//! let env = |name: &str| (name == "MY_TOKEN").then(|| "123456:abc".to_owned());
//! let config = Config::from_str_with_env(text, "bot.toml", env)?;
//! assert!(matches!(config.delivery.source, SourceSettings::Polling(_)));
//! assert_eq!(config.bot.token.bot_id(), Some(123456));
//! # Ok::<(), mpbot::config::ConfigError>(())
//! ```

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use mpbot_api::BotToken;
pub use mpbot_core::AckPolicy;

pub mod defaults;
mod doc;
mod env;
mod error;
mod fields;
mod plugin;
mod raw;
mod secret;
mod summary;
mod validate;

pub use env::ENV_OVERRIDES;
pub use error::{ConfigError, ConfigErrorKind, Location};
pub use plugin::PluginSection;
pub use secret::{Secret, SecretSource};

/// A validated configuration. Build it with [`Config::from_file`] (or [`Config::from_str`]);
/// its `Display` is a one-screen summary with every secret masked.
///
/// The fields are public so an application or test can adjust a loaded configuration (point
/// `bot.api_url` at an emulator, say); what it sets there is not re-validated.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// `[bot]`: where the API is and who the bot is.
    pub bot: BotSettings,
    /// `[delivery]`: how updates arrive and when they count as delivered.
    pub delivery: DeliverySettings,
    /// `[runtime]`: the dispatcher's limits.
    pub runtime: RuntimeSettings,
    /// `[admin]`: the operations listener (health, metrics).
    pub admin: AdminSettings,
    /// `[log]`: the log format and level.
    pub log: LogSettings,
    /// Every `[plugins.NAME]` table, ordered by name (the registry applies them in the file's
    /// order, from their locations).
    pub plugins: Vec<PluginSection>,
    origin: PathBuf,
    base_dir: PathBuf,
    warnings: Vec<String>,
}

/// `[bot]`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BotSettings {
    /// `api_url`: the Bot API base, without the trailing `/` (the token and method follow it).
    /// Default `https://call.mp.net/bot`.
    pub api_url: String,
    /// The bot token, loaded from `token_env` (default `MPCHAT_BOT_TOKEN`) or `token_file`.
    pub token: BotToken,
    /// Where the token was read from.
    pub token_source: SecretSource,
    /// `expect_username`, without a leading `@`: the bot refuses to run when `getMe` reports
    /// another username. Default: not checked.
    pub expect_username: Option<String>,
}

/// `[delivery]`: settings shared by both modes, and the chosen source.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DeliverySettings {
    /// `allowed_updates`: the update types to ask MPChat for. Default: not set (derived from
    /// the handlers registered).
    pub allowed_updates: Option<Vec<String>>,
    /// `ack`: when an update counts as delivered. Default `handled`.
    pub ack: AckPolicy,
    /// `[delivery.journal]`, present when `ack = "stored"` (used by the durable-delivery
    /// feature).
    pub journal: Option<JournalSettings>,
    /// `mode` and that mode's table.
    pub source: SourceSettings,
}

impl DeliverySettings {
    /// The mode chosen by `delivery.mode`.
    pub fn mode(&self) -> DeliveryMode {
        match self.source {
            SourceSettings::Polling(_) => DeliveryMode::Polling,
            SourceSettings::Webhook(_) => DeliveryMode::Webhook,
        }
    }
}

/// `delivery.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DeliveryMode {
    /// `"polling"` (default): long polling with getUpdates, for development.
    #[default]
    Polling,
    /// `"webhook"`: an HTTPS endpoint MPChat pushes to, for production.
    Webhook,
}

impl DeliveryMode {
    /// The TOML name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Polling => "polling",
            Self::Webhook => "webhook",
        }
    }
}

/// The update source chosen by `delivery.mode`, with its validated settings. Only the chosen
/// mode's table is validated; the other may be present (that is what makes the switch one
/// line).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
// One value per process; boxing the webhook variant would only make matching clumsier.
#[allow(clippy::large_enum_variant)]
pub enum SourceSettings {
    /// `mode = "polling"`: `[delivery.polling]`.
    Polling(PollingSettings),
    /// `mode = "webhook"`: `[delivery.webhook]`.
    Webhook(WebhookSettings),
}

/// `[delivery.polling]`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PollingSettings {
    /// `timeout_secs`: the long-poll timeout, 0 to 50 s. Default 30 s. 0 means short polling
    /// (warned about).
    pub timeout: Duration,
    /// `limit`: updates per getUpdates call, 1 to 100. Default 100.
    pub limit: u32,
    /// `conflict_overlap_secs`: how long a 409 "another poller" is retried during a rolling
    /// restart before it is fatal, 0 to 600 s. Default 30 s.
    pub conflict_overlap: Duration,
}

/// `[delivery.webhook]`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WebhookSettings {
    /// `listen`: the address the listener binds. Default `0.0.0.0:8443`.
    pub listen: SocketAddr,
    /// `public_url`: the HTTPS URL MPChat posts to. Required.
    pub public_url: String,
    /// The path of `public_url` (at least `/`): the only path the listener serves.
    pub path: String,
    /// The secret MPChat sends in `X-MpChat-Bot-Api-Secret-Token`, from `secret_token_env` or
    /// `secret_token_file`. `None` only with `allow_missing_secret = true`.
    pub secret: Option<Secret>,
    /// Where the secret was read from.
    pub secret_source: Option<SecretSource>,
    /// `max_connections`: what setWebhook asks MPChat for, 1 to 100. Default 40.
    pub max_connections: u32,
    /// `tls`: certificate and key files (resolved against the config file's directory).
    /// `None` (default): plain HTTP behind a TLS-terminating proxy.
    pub tls: Option<TlsSettings>,
    /// `register`. Default [`RegisterPolicy::Verify`].
    pub register: RegisterPolicy,
    /// `on_stop`. Default [`OnStop::Keep`].
    pub on_stop: OnStop,
    /// `max_body_bytes`: larger requests get 413, 1 KiB to 64 MiB. Default 1 MiB.
    pub max_body_bytes: usize,
    /// `ack_deadline_secs` (with `ack = "handled"`): answer 200 after this long and let the
    /// handler finish, 1 to 59 s. Default: no deadline.
    pub ack_deadline: Option<Duration>,
    /// `header_read_timeout_secs`, 1 to 300 s. Default 10 s.
    pub header_read_timeout: Duration,
    /// `body_read_timeout_secs`, 1 to 300 s. Default 30 s.
    pub body_read_timeout: Duration,
    /// `idle_timeout_secs`: keep-alive idle timeout, 1 to 3600 s. Default 60 s.
    pub idle_timeout: Duration,
    /// `max_open_connections`: cap on concurrent connections, at least `max_connections`,
    /// at most 65 536. Default 1024.
    pub max_open_connections: usize,
}

/// `delivery.webhook.tls = { cert, key }`: PEM files, paths resolved against the config file's
/// directory.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsSettings {
    /// The certificate chain (PEM).
    pub cert: PathBuf,
    /// The private key (PEM).
    pub key: PathBuf,
}

/// `delivery.webhook.register`: what the bot does about the webhook registration on start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RegisterPolicy {
    /// `"verify"` (default): compare getWebhookInfo with the config and report drift; change
    /// nothing.
    #[default]
    Verify,
    /// `"auto"`: call setWebhook once the listener serves (for emulator and test bots).
    Auto,
    /// `"off"`: neither check nor change it.
    Off,
}

impl RegisterPolicy {
    /// The TOML name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Auto => "auto",
            Self::Off => "off",
        }
    }
}

/// `delivery.webhook.on_stop`: what happens to the registration when the bot stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnStop {
    /// `"keep"` (default): leave it; replicas share one webhook.
    #[default]
    Keep,
    /// `"delete"`: call deleteWebhook on a clean stop.
    Delete,
}

impl OnStop {
    /// The TOML name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Keep => "keep",
            Self::Delete => "delete",
        }
    }
}

/// `[delivery.journal]` (used by the durable-delivery feature under `ack = "stored"`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JournalSettings {
    /// `path`: the journal directory, resolved against the config file's directory. Default
    /// `mpbot-journal`.
    pub path: PathBuf,
    /// `retention_secs`: how long handled entries are kept for deduplication, 60 s to 30
    /// days. Default 24 h.
    pub retention: Duration,
}

/// `[runtime]`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuntimeSettings {
    /// `max_concurrency`: handlers running at once, 1 to 100 000. Default 64.
    pub max_concurrency: usize,
    /// `queue_bound`: updates accepted but not yet handled before the sink refuses, 1 to
    /// 1 000 000. Default 1024.
    pub queue_bound: usize,
    /// `shutdown_grace_secs`: how long shutdown waits for in-flight handlers, 0 to 3600 s.
    /// Default 10 s.
    pub shutdown_grace: Duration,
}

/// `[admin]`: the operations listener (`/healthz`, `/readyz`, `/metrics`) and the readiness
/// rules (docs/operations.md).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AdminSettings {
    /// `listen`: the admin listener's address. Default: no admin listener (and no metrics
    /// recorder). Never the webhook's address.
    pub listen: Option<SocketAddr>,
    /// `poll_grace_secs`: polling is ready while the last successful getUpdates ended less
    /// than `delivery.polling.timeout_secs` + this ago, 1 to 3600 s. Default 15 s.
    pub poll_grace: Duration,
    /// `webhook_check_interval_secs`: how often the admin listener calls getWebhookInfo for
    /// webhook readiness, 1 to 3600 s. Default 60 s.
    pub webhook_check_interval: Duration,
    /// `webhook_error_window_secs`: a getWebhookInfo `last_error_date` younger than this makes
    /// the webhook not ready, 0 to 86 400 s (0: errors are ignored). Default 300 s.
    pub webhook_error_window: Duration,
}

impl Default for AdminSettings {
    fn default() -> Self {
        Self {
            listen: None,
            poll_grace: Duration::from_secs(defaults::ADMIN_POLL_GRACE_SECS),
            webhook_check_interval: Duration::from_secs(
                defaults::ADMIN_WEBHOOK_CHECK_INTERVAL_SECS,
            ),
            webhook_error_window: Duration::from_secs(defaults::ADMIN_WEBHOOK_ERROR_WINDOW_SECS),
        }
    }
}

/// `[log]`: what [`crate::logging::init`] installs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogSettings {
    /// `format`. Default [`LogFormat::Text`].
    pub format: LogFormat,
    /// `level`: a level (`trace`, `debug`, `info`, `warn`, `error`, `off`) or a
    /// `tracing_subscriber::EnvFilter` directive list such as `info,mpbot=debug`. Default
    /// `info`.
    pub level: String,
}

impl LogSettings {
    /// Settings built in code (a program without a config file, a test): `level` is a level or
    /// an `EnvFilter` directive list, checked when [`crate::logging`] installs it.
    pub fn new(format: LogFormat, level: impl Into<String>) -> Self {
        Self {
            format,
            level: level.into(),
        }
    }
}

/// `log.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LogFormat {
    /// `"text"` (default): human-readable lines.
    #[default]
    Text,
    /// `"json"`: one JSON object per line.
    Json,
}

impl LogFormat {
    /// The TOML name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Json => "json",
        }
    }
}

impl Config {
    /// Reads and validates the file at `path`, with overrides and secrets from the process
    /// environment. Relative paths in it (`token_file`, `tls`, the journal) are resolved
    /// against the file's directory.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the file, line, column and key of the first problem.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        Self::from_file_with_env(path, |name| std::env::var(name).ok())
    }

    /// [`Config::from_file`] with the environment read through `env` (tests pass a map).
    ///
    /// # Errors
    /// As [`Config::from_file`].
    pub fn from_file_with_env(
        path: impl AsRef<Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(
                ConfigErrorKind::Io,
                Location::WholeFile {
                    path: path.to_path_buf(),
                },
                None,
                format!("cannot read the config file: {e}"),
            )
            .with_source(e)
        })?;
        Self::from_str_with_env(&text, path, env)
    }

    /// Parses `text` as if read from `origin` (named in errors; relative paths resolve against
    /// its directory), with overrides and secrets from the process environment.
    ///
    /// # Errors
    /// A [`ConfigError`] naming `origin`, line, column and key of the first problem.
    #[allow(clippy::should_implement_trait)] // two arguments: not `FromStr`
    pub fn from_str(text: &str, origin: impl AsRef<Path>) -> Result<Self, ConfigError> {
        Self::from_str_with_env(text, origin, |name| std::env::var(name).ok())
    }

    /// [`Config::from_str`] with the environment read through `env`, so tests need not touch
    /// the process environment. `env` is asked for the `MPBOT_*` overrides and for the
    /// variables the file names (`token_env`, `secret_token_env`).
    ///
    /// # Errors
    /// As [`Config::from_str`].
    pub fn from_str_with_env(
        text: &str,
        origin: impl AsRef<Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let origin = origin.as_ref();
        let doc = doc::Doc::parse(text, origin)?;
        let mut raw: raw::RawConfig = toml::from_str(text).map_err(|e| doc.serde_error(&e))?;
        let overrides = env::apply(&mut raw, &env)?;
        let base_dir = origin.parent().map(Path::to_path_buf).unwrap_or_default();
        let ctx = validate::Ctx {
            doc: &doc,
            overrides: &overrides,
            env: &env,
            base_dir: &base_dir,
        };
        let mut config = Self::from_raw(&raw, &ctx)?;
        config.origin = origin.to_path_buf();
        config.base_dir = base_dir;
        Ok(config)
    }

    /// The file (or origin name) this configuration was read from.
    pub fn origin(&self) -> &Path {
        &self.origin
    }

    /// The directory relative paths were resolved against (empty: the working directory).
    pub fn base_dir(&self) -> &Path {
        &self.base_dir
    }

    /// Things that are allowed but probably unintended (`timeout_secs = 0`, a webhook without
    /// a secret, the token sent over plain `http://` to a non-loopback host, an unknown update
    /// type in `allowed_updates`). `mpbot check` prints them; the bot logs them at start.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The `[plugins.NAME]` table for `name`, if the file has one.
    pub fn plugin(&self, name: &str) -> Option<&PluginSection> {
        self.plugins.iter().find(|p| p.name() == name)
    }

    /// The delivery mode (`delivery.mode`).
    pub fn mode(&self) -> DeliveryMode {
        self.delivery.mode()
    }
}

impl fmt::Display for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        summary::write(self, f)
    }
}
