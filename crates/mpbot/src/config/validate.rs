//! `Config::from_raw`: every check, in one place.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::defaults as d;
use super::doc::Doc;
use super::error::{ConfigError, ConfigErrorKind as Kind, Location};
use super::plugin::{PluginSection, table_to_json};
use super::raw::{RawConfig, RawWebhook};
use super::{
    AckPolicy, AdminSettings, BotSettings, BotToken, Config, DeliveryMode, DeliverySettings,
    JournalSettings, LogFormat, LogSettings, OnStop, PollingSettings, RegisterPolicy,
    RuntimeSettings, Secret, SecretSource, SourceSettings, TlsSettings, WebhookSettings,
};

/// Update types MPChat is known to send; others are allowed but warned about (likely typos).
const KNOWN_UPDATE_TYPES: &[&str] = &[
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "callback_query",
    "inline_query",
    "chosen_inline_result",
    "shipping_query",
    "pre_checkout_query",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
];

const LOG_LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "off"];

/// What the checks need besides the raw values: where each key is, which keys an environment
/// variable overrode, the environment, and the directory relative paths start from.
pub(crate) struct Ctx<'a> {
    pub(crate) doc: &'a Doc,
    pub(crate) overrides: &'a BTreeMap<String, String>,
    pub(crate) env: &'a dyn Fn(&str) -> Option<String>,
    pub(crate) base_dir: &'a Path,
}

impl Ctx<'_> {
    /// Where the value of `key` came from: its overriding variable, its place in the file, or
    /// (absent from both) the file as a whole.
    fn loc(&self, key: &str) -> Location {
        match self.overrides.get(key) {
            Some(var) => Location::Env { var: var.clone() },
            None => self.doc.loc(key),
        }
    }

    /// Whether `key` was set (in the file or by an override).
    fn is_set(&self, key: &str) -> bool {
        self.overrides.contains_key(key) || self.doc.has(key)
    }

    fn err(&self, kind: Kind, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::new(kind, self.loc(key), Some(key.to_owned()), message)
    }

    fn int(
        &self,
        key: &str,
        value: Option<i64>,
        default: i64,
        range: RangeInclusive<i64>,
    ) -> Result<i64, ConfigError> {
        let Some(v) = value else { return Ok(default) };
        if range.contains(&v) {
            Ok(v)
        } else {
            Err(self.err(
                Kind::OutOfRange,
                key,
                format!(
                    "{v} is out of range: expected {} to {}",
                    range.start(),
                    range.end()
                ),
            ))
        }
    }

    fn secs(
        &self,
        key: &str,
        value: Option<i64>,
        default: u64,
        range: RangeInclusive<i64>,
    ) -> Result<Duration, ConfigError> {
        let default = i64::try_from(default).unwrap_or(i64::MAX);
        let v = self.int(key, value, default, range)?;
        Ok(Duration::from_secs(v.unsigned_abs()))
    }

    fn count(
        &self,
        key: &str,
        value: Option<i64>,
        default: usize,
        range: RangeInclusive<i64>,
    ) -> Result<usize, ConfigError> {
        let default = i64::try_from(default).unwrap_or(i64::MAX);
        let v = self.int(key, value, default, range)?;
        Ok(usize::try_from(v).unwrap_or(usize::MAX))
    }

    fn choice<T: Copy>(
        &self,
        key: &str,
        value: Option<&str>,
        default: T,
        options: &[(&str, T)],
    ) -> Result<T, ConfigError> {
        let Some(v) = value else { return Ok(default) };
        if let Some((_, t)) = options.iter().find(|(name, _)| *name == v) {
            return Ok(*t);
        }
        let names: Vec<String> = options.iter().map(|(n, _)| format!("\"{n}\"")).collect();
        Err(self.err(
            Kind::UnknownValue,
            key,
            format!("unknown value {v:?}; expected one of {}", names.join(", ")),
        ))
    }

    fn socket(&self, key: &str, value: &str) -> Result<SocketAddr, ConfigError> {
        value.trim().parse().map_err(|_| {
            self.err(
                Kind::InvalidValue,
                key,
                format!(
                    "{value:?} is not a socket address; expected IP:PORT such as \
                     \"0.0.0.0:8443\" or \"[::1]:8443\""
                ),
            )
        })
    }

    fn path(&self, value: &str) -> PathBuf {
        self.base_dir.join(value)
    }

    /// Reads a secret from the variable or file named by `env_key` / `file_key`.
    fn secret(
        &self,
        env_key: &str,
        env_name: Option<&str>,
        file_key: &str,
        file_name: Option<&str>,
        what: &str,
    ) -> Result<Option<(String, SecretSource)>, ConfigError> {
        if let (Some(_), Some(_)) = (env_name, file_name) {
            return Err(self.err(
                Kind::Conflict,
                file_key,
                format!("set either `{env_key}` or `{file_key}` for the {what}, not both"),
            ));
        }
        if let Some(var) = env_name {
            if !is_env_name(var) {
                // Likely the secret itself pasted into the wrong key: never echo it.
                return Err(self.err(
                    Kind::InvalidValue,
                    env_key,
                    format!(
                        "must be the NAME of an environment variable (letters, digits and `_`, \
                         such as MPCHAT_BOT_TOKEN) that holds the {what}, not the {what} itself \
                         (the value is not shown)"
                    ),
                ));
            }
            return match (self.env)(var) {
                Some(v) if !v.trim().is_empty() => Ok(Some((
                    v.trim().to_owned(),
                    SecretSource::Env(var.to_owned()),
                ))),
                Some(_) => Err(self.err(
                    Kind::MissingSecret,
                    env_key,
                    format!("environment variable {var} is empty; it should hold the {what}"),
                )),
                None => Err(self.err(
                    Kind::MissingSecret,
                    env_key,
                    format!(
                        "environment variable {var} is not set; it should hold the {what} \
                         (or name a file holding it with `{file_key}`)"
                    ),
                )),
            };
        }
        if let Some(file) = file_name {
            let path = self.path(file);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                self.err(
                    Kind::MissingSecret,
                    file_key,
                    format!("cannot read the {what} from {}: {e}", path.display()),
                )
                .with_source(e)
            })?;
            let text = text.trim();
            if text.is_empty() {
                return Err(self.err(
                    Kind::MissingSecret,
                    file_key,
                    format!("{} is empty; it should hold the {what}", path.display()),
                ));
            }
            return Ok(Some((text.to_owned(), SecretSource::File(path))));
        }
        Ok(None)
    }
}

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Config {
    /// Validates the raw layer into a `Config`. Every check is here.
    pub(super) fn from_raw(raw: &RawConfig, ctx: &Ctx<'_>) -> Result<Self, ConfigError> {
        let mut warnings = Vec::new();

        // [bot]
        let api_url = check_api_url(ctx, raw.bot.api_url.as_deref(), &mut warnings)?;
        let token_env = match (&raw.bot.token_env, &raw.bot.token_file) {
            (None, None) => Some(d::TOKEN_ENV),
            (env, _) => env.as_deref(),
        };
        let (token, token_source) = ctx
            .secret(
                "bot.token_env",
                token_env,
                "bot.token_file",
                raw.bot.token_file.as_deref(),
                "bot token",
            )?
            .expect("token_env defaults when token_file is unset");
        let key = match token_source {
            SecretSource::Env(_) => "bot.token_env",
            SecretSource::File(_) => "bot.token_file",
        };
        let token = BotToken::new(token).map_err(|e| {
            ctx.err(
                Kind::InvalidSecret,
                key,
                format!("the bot token from {token_source} is unusable: {e}"),
            )
        })?;
        let expect_username = match raw.bot.expect_username.as_deref() {
            None => None,
            Some(name) => {
                let name = name.trim().trim_start_matches('@');
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(ctx.err(
                        Kind::InvalidValue,
                        "bot.expect_username",
                        "expected a bot username (letters, digits and `_`, with or without `@`)",
                    ));
                }
                Some(name.to_owned())
            }
        };
        let bot = BotSettings {
            api_url,
            token,
            token_source,
            expect_username,
        };

        // [delivery]
        let del = &raw.delivery;
        let mode = ctx.choice(
            "delivery.mode",
            del.mode.as_deref(),
            DeliveryMode::Polling,
            &[
                ("polling", DeliveryMode::Polling),
                ("webhook", DeliveryMode::Webhook),
            ],
        )?;
        let ack = ctx.choice(
            "delivery.ack",
            del.ack.as_deref(),
            AckPolicy::Handled,
            &[
                ("handled", AckPolicy::Handled),
                ("received", AckPolicy::Received),
                ("stored", AckPolicy::Stored),
            ],
        )?;
        let allowed_updates = match &del.allowed_updates {
            None => None,
            Some(list) => Some(check_allowed_updates(ctx, list, &mut warnings)?),
        };
        let journal_path = del.journal.path.as_deref().unwrap_or(d::JOURNAL_PATH);
        if journal_path.trim().is_empty() {
            return Err(ctx.err(
                Kind::InvalidValue,
                "delivery.journal.path",
                "expected a directory path, found an empty string",
            ));
        }
        let journal = JournalSettings {
            path: ctx.path(journal_path),
            retention: ctx.secs(
                "delivery.journal.retention_secs",
                del.journal.retention_secs,
                d::JOURNAL_RETENTION_SECS,
                60..=30 * 24 * 60 * 60,
            )?,
        };
        let journal = (ack == AckPolicy::Stored).then_some(journal);

        // The polling table is cheap to check and needs nothing from the environment, so it
        // is checked in both modes: a mistake there shows up before the day someone switches.
        let p = &del.polling;
        let polling = PollingSettings {
            timeout: ctx.secs(
                "delivery.polling.timeout_secs",
                p.timeout_secs,
                d::POLL_TIMEOUT_SECS,
                0..=50,
            )?,
            limit: u32::try_from(ctx.int(
                "delivery.polling.limit",
                p.limit,
                i64::from(d::POLL_LIMIT),
                1..=100,
            )?)
            .unwrap_or(d::POLL_LIMIT),
            conflict_overlap: ctx.secs(
                "delivery.polling.conflict_overlap_secs",
                p.conflict_overlap_secs,
                d::CONFLICT_OVERLAP_SECS,
                0..=600,
            )?,
        };
        let source = match mode {
            DeliveryMode::Polling => {
                if polling.timeout.is_zero() {
                    warnings.push(
                        "delivery.polling.timeout_secs = 0 means short polling: a request per \
                         moment without updates; use 25-50 in production"
                            .to_owned(),
                    );
                }
                SourceSettings::Polling(polling)
            }
            DeliveryMode::Webhook => {
                SourceSettings::Webhook(check_webhook(ctx, &del.webhook, &mut warnings)?)
            }
        };
        if let SourceSettings::Webhook(w) = &source
            && let Some(deadline) = w.ack_deadline
            && ack != AckPolicy::Handled
        {
            warnings.push(format!(
                "delivery.webhook.ack_deadline_secs = {} has no effect with ack = \"{}\"",
                deadline.as_secs(),
                ack.as_str()
            ));
        }
        let delivery = DeliverySettings {
            allowed_updates,
            ack,
            journal,
            source,
        };

        // [runtime]
        let r = &raw.runtime;
        let runtime = RuntimeSettings {
            max_concurrency: ctx.count(
                "runtime.max_concurrency",
                r.max_concurrency,
                d::MAX_CONCURRENCY,
                1..=100_000,
            )?,
            queue_bound: ctx.count(
                "runtime.queue_bound",
                r.queue_bound,
                d::QUEUE_BOUND,
                1..=1_000_000,
            )?,
            shutdown_grace: ctx.secs(
                "runtime.shutdown_grace_secs",
                r.shutdown_grace_secs,
                d::SHUTDOWN_GRACE_SECS,
                0..=3600,
            )?,
        };

        // [admin]
        let admin = AdminSettings {
            listen: match raw.admin.listen.as_deref() {
                None => None,
                Some(addr) => Some(ctx.socket("admin.listen", addr)?),
            },
            poll_grace: ctx.secs(
                "admin.poll_grace_secs",
                raw.admin.poll_grace_secs,
                d::ADMIN_POLL_GRACE_SECS,
                1..=3600,
            )?,
            webhook_check_interval: ctx.secs(
                "admin.webhook_check_interval_secs",
                raw.admin.webhook_check_interval_secs,
                d::ADMIN_WEBHOOK_CHECK_INTERVAL_SECS,
                1..=3600,
            )?,
            webhook_error_window: ctx.secs(
                "admin.webhook_error_window_secs",
                raw.admin.webhook_error_window_secs,
                d::ADMIN_WEBHOOK_ERROR_WINDOW_SECS,
                0..=86_400,
            )?,
        };
        if let (Some(admin_addr), SourceSettings::Webhook(w)) = (admin.listen, &delivery.source)
            && same_socket(admin_addr, w.listen)
        {
            return Err(ctx.err(
                Kind::Conflict,
                "admin.listen",
                format!(
                    "the admin listener cannot share the webhook's address {}: the webhook \
                     endpoint is public and exposes no admin interface; pick another port",
                    w.listen
                ),
            ));
        }

        // [log]
        let format = ctx.choice(
            "log.format",
            raw.log.format.as_deref(),
            LogFormat::Text,
            &[("text", LogFormat::Text), ("json", LogFormat::Json)],
        )?;
        let level = raw.log.level.as_deref().unwrap_or(d::LOG_LEVEL).trim();
        check_log_level(ctx, level)?;
        let log = LogSettings {
            format,
            level: level.to_owned(),
        };

        // [plugins.NAME]
        let mut plugins = Vec::with_capacity(raw.plugins.len());
        for (name, table) in &raw.plugins {
            let key = format!("plugins.{name}");
            let Some(json) = table_to_json(table) else {
                return Err(ctx.err(
                    Kind::InvalidValue,
                    &key,
                    "holds a float JSON cannot represent (nan or inf)",
                ));
            };
            plugins.push(PluginSection::new(
                name.clone(),
                json,
                ctx.loc(&key),
                ctx.doc.locations_under(&key),
            ));
        }

        Ok(Self {
            bot,
            delivery,
            runtime,
            admin,
            log,
            plugins,
            origin: PathBuf::new(),
            base_dir: PathBuf::new(),
            warnings,
        })
    }
}

/// Two listen addresses collide when their ports match (port 0 never collides) and their IPs
/// match or either is the unspecified address.
fn same_socket(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() != 0
        && a.port() == b.port()
        && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

fn check_api_url(
    ctx: &Ctx<'_>,
    value: Option<&str>,
    warnings: &mut Vec<String>,
) -> Result<String, ConfigError> {
    const KEY: &str = "bot.api_url";
    let Some(value) = value else {
        return Ok(d::API_URL.to_owned());
    };
    // Not quoted in errors: a mistaken api_url may hold the token.
    let url = url::Url::parse(value.trim()).map_err(|e| {
        ctx.err(
            Kind::InvalidValue,
            KEY,
            format!("not a valid URL ({e}); expected something like \"https://call.mp.net/bot\""),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(ctx.err(
            Kind::InvalidValue,
            KEY,
            "expected an http:// or https:// URL with a host",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(ctx.err(
            Kind::InvalidValue,
            KEY,
            "expected a base URL without user, query or fragment (the token and method name are \
             appended to it)",
        ));
    }
    if url.path_segments().is_some_and(|mut segs| {
        segs.any(|s| {
            s.split_once(':').is_some_and(|(id, _)| {
                let id = id.strip_prefix("bot").unwrap_or(id);
                !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())
            })
        })
    }) {
        return Err(ctx.err(
            Kind::InlineSecret,
            KEY,
            "looks like it contains a bot token (`bot<digits>:...`): give the base URL only; the \
             token comes from `bot.token_env` or `bot.token_file` (the value is not shown)",
        ));
    }
    if url.scheme() == "http" {
        let loopback = match url.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        if !loopback {
            warnings.push(
                "bot.api_url uses plain http:// to a non-loopback host: the bot token travels \
                 in cleartext"
                    .to_owned(),
            );
        }
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn check_allowed_updates(
    ctx: &Ctx<'_>,
    list: &[String],
    warnings: &mut Vec<String>,
) -> Result<Vec<String>, ConfigError> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let key = format!("delivery.allowed_updates[{i}]");
        let item = item.trim();
        if item.is_empty() {
            return Err(ctx.err(Kind::InvalidValue, &key, "empty update type"));
        }
        if out.iter().any(|o| o == item) {
            return Err(ctx.err(
                Kind::InvalidValue,
                &key,
                format!("{item:?} is listed twice"),
            ));
        }
        if !KNOWN_UPDATE_TYPES.contains(&item) {
            let hint = super::doc::suggest(item, KNOWN_UPDATE_TYPES)
                .map(|s| format!(" (did you mean {s:?}?)"))
                .unwrap_or_default();
            warnings.push(format!(
                "delivery.allowed_updates: {item:?} is not an update type MPChat is known to \
                 send{hint}"
            ));
        }
        out.push(item.to_owned());
    }
    Ok(out)
}

fn check_log_level(ctx: &Ctx<'_>, level: &str) -> Result<(), ConfigError> {
    let bad = |what: &str| {
        ctx.err(
            Kind::InvalidValue,
            "log.level",
            format!(
                "{what}; expected a level ({}) or directives such as \"info,mpbot=debug\"",
                LOG_LEVELS.join(", ")
            ),
        )
    };
    if level.is_empty() {
        return Err(bad("empty"));
    }
    for directive in level.split(',').map(str::trim) {
        let lvl = directive.rsplit_once('=').map_or(directive, |(_, l)| l);
        if !LOG_LEVELS.contains(&lvl.to_ascii_lowercase().as_str()) {
            return Err(bad(&format!("{directive:?} does not end in a level")));
        }
    }
    Ok(())
}

fn check_webhook(
    ctx: &Ctx<'_>,
    w: &RawWebhook,
    warnings: &mut Vec<String>,
) -> Result<WebhookSettings, ConfigError> {
    let listen = ctx.socket(
        "delivery.webhook.listen",
        w.listen.as_deref().unwrap_or(d::WEBHOOK_LISTEN),
    )?;

    let Some(public_url) = w.public_url.as_deref() else {
        // Point at what made it required: the webhook table if there is one, else the mode.
        let at = if ctx.is_set("delivery.webhook") {
            ctx.loc("delivery.webhook")
        } else {
            ctx.loc("delivery.mode")
        };
        return Err(ConfigError::new(
            Kind::MissingKey,
            at,
            Some("delivery.webhook.public_url".to_owned()),
            "required when delivery.mode = \"webhook\": the HTTPS URL MPChat posts updates to, \
             such as \"https://bot.example.com/mp-bot/webhook\"",
        ));
    };
    const URL_KEY: &str = "delivery.webhook.public_url";
    let url = url::Url::parse(public_url.trim()).map_err(|e| {
        ctx.err(
            Kind::InvalidValue,
            URL_KEY,
            format!("{public_url:?} is not a valid URL ({e})"),
        )
    })?;
    if url.scheme() != "https" {
        return Err(ctx.err(
            Kind::InvalidValue,
            URL_KEY,
            format!(
                "must be an https:// URL (MPChat only delivers to HTTPS), found {:?}; behind a \
                 TLS-terminating proxy keep https:// here and omit `tls`",
                url.scheme()
            ),
        ));
    }
    if url.host().is_none() || !url.username().is_empty() || url.password().is_some() {
        return Err(ctx.err(
            Kind::InvalidValue,
            URL_KEY,
            "expected an https:// URL with a host and no user or password",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ctx.err(
            Kind::InvalidValue,
            URL_KEY,
            "must not have a query or fragment: the listener matches the path only; put any \
             unguessable part in the path",
        ));
    }
    let path = url.path().to_owned();

    let secret_env = w.secret_token_env.as_deref();
    let secret_file = w.secret_token_file.as_deref();
    let allow_missing = w.allow_missing_secret.unwrap_or(false);
    let loaded = ctx.secret(
        "delivery.webhook.secret_token_env",
        secret_env,
        "delivery.webhook.secret_token_file",
        secret_file,
        "webhook secret",
    )?;
    let (secret, secret_source) = match loaded {
        Some((value, source)) => {
            let key = match source {
                SecretSource::Env(_) => "delivery.webhook.secret_token_env",
                SecretSource::File(_) => "delivery.webhook.secret_token_file",
            };
            if value.len() > 256
                || !value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(ctx.err(
                    Kind::InvalidSecret,
                    key,
                    format!(
                        "the webhook secret from {source} must be 1 to 256 characters from \
                         A-Z a-z 0-9 _ - (the value is not shown)"
                    ),
                ));
            }
            (Some(Secret::new(value)), Some(source))
        }
        None if allow_missing => {
            warnings.push(
                "delivery.webhook: no secret (allow_missing_secret = true): anyone who finds \
                 the URL can post updates"
                    .to_owned(),
            );
            (None, None)
        }
        None => {
            let at = if ctx.is_set("delivery.webhook") {
                ctx.loc("delivery.webhook")
            } else {
                ctx.loc("delivery.mode")
            };
            return Err(ConfigError::new(
                Kind::MissingKey,
                at,
                Some("delivery.webhook.secret_token_env".to_owned()),
                "a webhook secret is required: set `secret_token_env` (an environment variable \
                 name) or `secret_token_file`, or `allow_missing_secret = true` to run without \
                 one",
            ));
        }
    };

    let max_connections = ctx.int(
        "delivery.webhook.max_connections",
        w.max_connections,
        i64::from(d::WEBHOOK_MAX_CONNECTIONS),
        1..=100,
    )?;
    let tls = match &w.tls {
        None => None,
        Some(tls) => {
            let file = |name: &str, value: &Option<String>| match value.as_deref() {
                Some(v) if !v.trim().is_empty() => Ok(ctx.path(v.trim())),
                _ => Err(ConfigError::new(
                    Kind::MissingKey,
                    ctx.loc("delivery.webhook.tls"),
                    Some(format!("delivery.webhook.tls.{name}")),
                    "`tls` needs both `cert` and `key` (PEM file paths); omit `tls` entirely \
                     when a proxy terminates TLS",
                )),
            };
            Some(TlsSettings {
                cert: file("cert", &tls.cert)?,
                key: file("key", &tls.key)?,
            })
        }
    };
    let register = ctx.choice(
        "delivery.webhook.register",
        w.register.as_deref(),
        RegisterPolicy::Verify,
        &[
            ("verify", RegisterPolicy::Verify),
            ("auto", RegisterPolicy::Auto),
            ("off", RegisterPolicy::Off),
        ],
    )?;
    let on_stop = ctx.choice(
        "delivery.webhook.on_stop",
        w.on_stop.as_deref(),
        OnStop::Keep,
        &[("keep", OnStop::Keep), ("delete", OnStop::Delete)],
    )?;
    let max_body_bytes = ctx.count(
        "delivery.webhook.max_body_bytes",
        w.max_body_bytes,
        d::WEBHOOK_MAX_BODY_BYTES,
        1024..=64 * 1024 * 1024,
    )?;
    let ack_deadline = match w.ack_deadline_secs {
        None => None,
        Some(v) => Some(ctx.secs("delivery.webhook.ack_deadline_secs", Some(v), 0, 1..=59)?),
    };
    let max_open_connections = ctx.count(
        "delivery.webhook.max_open_connections",
        w.max_open_connections,
        d::WEBHOOK_MAX_OPEN_CONNECTIONS,
        1..=65_536,
    )?;
    let max_connections = u32::try_from(max_connections).unwrap_or(d::WEBHOOK_MAX_CONNECTIONS);
    if max_open_connections < max_connections as usize {
        return Err(ctx.err(
            Kind::Conflict,
            "delivery.webhook.max_open_connections",
            format!(
                "{max_open_connections} is below max_connections = {max_connections}: MPChat \
                 would open more connections than the listener accepts"
            ),
        ));
    }
    Ok(WebhookSettings {
        listen,
        public_url: url.as_str().to_owned(),
        path,
        secret,
        secret_source,
        max_connections,
        tls,
        register,
        on_stop,
        max_body_bytes,
        ack_deadline,
        header_read_timeout: ctx.secs(
            "delivery.webhook.header_read_timeout_secs",
            w.header_read_timeout_secs,
            d::WEBHOOK_HEADER_READ_TIMEOUT_SECS,
            1..=300,
        )?,
        body_read_timeout: ctx.secs(
            "delivery.webhook.body_read_timeout_secs",
            w.body_read_timeout_secs,
            d::WEBHOOK_BODY_READ_TIMEOUT_SECS,
            1..=300,
        )?,
        idle_timeout: ctx.secs(
            "delivery.webhook.idle_timeout_secs",
            w.idle_timeout_secs,
            d::WEBHOOK_IDLE_TIMEOUT_SECS,
            1..=3600,
        )?,
        max_open_connections,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Listen addresses collide on the same port unless one is port 0 or the IPs differ.
    #[test]
    fn socket_collisions() {
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert!(same_socket(a("127.0.0.1:8443"), a("0.0.0.0:8443")));
        assert!(same_socket(a("127.0.0.1:8443"), a("127.0.0.1:8443")));
        assert!(!same_socket(a("127.0.0.1:8443"), a("10.0.0.1:8443")));
        assert!(!same_socket(a("127.0.0.1:9090"), a("0.0.0.0:8443")));
        assert!(!same_socket(a("127.0.0.1:0"), a("127.0.0.1:0")));
    }

    /// Only identifier-like strings are environment variable names.
    #[test]
    fn env_names() {
        assert!(is_env_name("MPCHAT_BOT_TOKEN"));
        assert!(is_env_name("_x1"));
        assert!(!is_env_name("123456:abc"));
        assert!(!is_env_name(""));
        assert!(!is_env_name("A B"));
    }
}
