//! [`LongPollingOptions`]: what the facade reads from `[delivery.polling]`.

use std::time::Duration;

use crate::Error;

/// The largest long-poll `timeout` MPChat accepts, in seconds.
pub const MAX_TIMEOUT_SECS: u32 = 50;
/// The largest `limit` MPChat accepts.
pub const MAX_LIMIT: u32 = 100;

/// How [`LongPolling`](crate::LongPolling) polls.
///
/// Build it with [`LongPollingOptions::new`] and the `with_*` setters; every field's doc gives
/// its default. [`LongPolling::new`](crate::LongPolling::new) validates it.
///
/// The facade fills it from the configuration file:
///
/// | field | TOML key |
/// |---|---|
/// | `timeout_secs` | `delivery.polling.timeout_secs` |
/// | `limit` | `delivery.polling.limit` |
/// | `conflict_overlap` | `delivery.polling.conflict_overlap_secs` |
/// | `allowed_updates` | `delivery.allowed_updates` (else derived from the router) |
/// | `expect_username` | `bot.expect_username` |
/// | `backoff` | none (code only) |
///
/// [`Error::InvalidOptions`] names the TOML key's last part (`timeout_secs`, `limit`, ...) or,
/// for the backoff, the field path (`backoff.initial`, ...).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use mpbot_poller::LongPollingOptions;
///
/// let options = LongPollingOptions::new()
///     .with_timeout_secs(10)
///     .with_allowed_updates(["message"])
///     .with_expect_username("demo_bot")
///     .with_conflict_overlap(Duration::from_secs(60));
/// assert!(options.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LongPollingOptions {
    /// Long-poll wait of each `getUpdates`, in seconds (TOML `timeout_secs`): 0-50, default 30.
    ///
    /// 0 is allowed but turns every call into a short poll; the poller then pauses one second
    /// after each empty answer instead of spinning, and warns once at start.
    pub timeout_secs: u32,
    /// Most updates per `getUpdates` (TOML `limit`): 1-100, default 100. The sink's free
    /// capacity lowers it further when the dispatcher is nearly full.
    pub limit: u32,
    /// Update kinds to ask for (`allowed_updates`), default `None` (MPChat's default, which is
    /// every kind). The facade fills it from the router
    /// (`Dispatcher::allowed_updates`) when the configuration does not set it. An empty list is
    /// not sent at all: MPChat reads an empty list as its default set.
    pub allowed_updates: Option<Vec<String>>,
    /// The bot username (without `@`) this token must belong to, default `None` (any bot).
    /// Compared case-insensitively with `getMe`; a mismatch is a fatal [`Error::WrongBot`].
    pub expect_username: Option<String>,
    /// How transient faults are retried. Default: [`BackoffOptions::new`].
    pub backoff: BackoffOptions,
    /// How long 409 answers with no webhook set ("another poller took over") are retried
    /// before [`Error::ConflictPersisted`], default 30 s: long enough for a rolling restart,
    /// where the old and the new instance poll at the same time for a moment.
    pub conflict_overlap: Duration,
}

impl Default for LongPollingOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl LongPollingOptions {
    /// The defaults: `timeout_secs` 30, `limit` 100, no `allowed_updates`, no
    /// `expect_username`, default backoff, `conflict_overlap` 30 s.
    pub fn new() -> Self {
        Self {
            timeout_secs: 30,
            limit: MAX_LIMIT,
            allowed_updates: None,
            expect_username: None,
            backoff: BackoffOptions::new(),
            conflict_overlap: Duration::from_secs(30),
        }
    }

    /// Sets [`timeout_secs`](Self::timeout_secs).
    pub fn with_timeout_secs(mut self, timeout_secs: u32) -> Self {
        self.timeout_secs = timeout_secs;
        self
    }

    /// Sets [`limit`](Self::limit).
    pub fn with_limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    /// Sets [`allowed_updates`](Self::allowed_updates) to the given kinds.
    pub fn with_allowed_updates<I, S>(mut self, kinds: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_updates = Some(kinds.into_iter().map(Into::into).collect());
        self
    }

    /// Sets [`allowed_updates`](Self::allowed_updates) as an `Option` (`None`: MPChat's default).
    pub fn with_allowed_updates_opt(mut self, kinds: Option<Vec<String>>) -> Self {
        self.allowed_updates = kinds;
        self
    }

    /// Sets [`expect_username`](Self::expect_username); a leading `@` is ignored.
    pub fn with_expect_username(mut self, username: impl Into<String>) -> Self {
        let username = username.into();
        self.expect_username = Some(username.trim_start_matches('@').to_owned());
        self
    }

    /// Sets [`backoff`](Self::backoff).
    pub fn with_backoff(mut self, backoff: BackoffOptions) -> Self {
        self.backoff = backoff;
        self
    }

    /// Sets [`conflict_overlap`](Self::conflict_overlap).
    pub fn with_conflict_overlap(mut self, overlap: Duration) -> Self {
        self.conflict_overlap = overlap;
        self
    }

    /// Checks every value against its allowed range.
    ///
    /// # Errors
    /// [`Error::InvalidOptions`] naming the first key that is out of range.
    pub fn validate(&self) -> Result<(), Error> {
        if self.timeout_secs > MAX_TIMEOUT_SECS {
            return Err(invalid(
                "timeout_secs",
                format!(
                    "must be 0-{MAX_TIMEOUT_SECS} (MPChat's maximum long poll), got {}",
                    self.timeout_secs
                ),
            ));
        }
        if !(1..=MAX_LIMIT).contains(&self.limit) {
            return Err(invalid(
                "limit",
                format!("must be 1-{MAX_LIMIT}, got {}", self.limit),
            ));
        }
        if let Some(kinds) = &self.allowed_updates
            && let Some(bad) = kinds.iter().find(|k| !is_update_kind_name(k))
        {
            return Err(invalid(
                "allowed_updates",
                format!(
                    "{bad:?} is not an update field name (lowercase letters and `_`, like \"message\")"
                ),
            ));
        }
        if let Some(name) = &self.expect_username
            && name.is_empty()
        {
            return Err(invalid(
                "expect_username",
                "must not be empty (leave it out to accept any bot)".to_owned(),
            ));
        }
        self.backoff.validate()?;
        Ok(())
    }
}

/// Whether `name` looks like an `Update` field name (`message`, `edited_message`, ...).
fn is_update_kind_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// How the poller waits between attempts after a transient fault (network error, timeout, 5xx,
/// 429 without `retry_after`, 409 within the overlap window).
///
/// The n-th consecutive failure (counting from 0) waits `min(max, initial × multiplierⁿ)`,
/// shortened by a random fraction of up to `jitter` of itself, so that many bots that failed
/// together do not retry together. A success resets the count. A 429 with `retry_after` waits
/// exactly that long instead. See [`BackoffOptions::delay`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BackoffOptions {
    /// The first delay, default 500 ms. Must be positive.
    pub initial: Duration,
    /// The cap, default 30 s. At least `initial`.
    pub max: Duration,
    /// Growth per failure, default 2.0. At least 1.0.
    pub multiplier: f64,
    /// The largest fraction a delay is shortened by at random, default 0.5 (so a delay `d`
    /// becomes a value in `(d/2, d]`). 0.0-1.0; 0.0 turns jitter off.
    pub jitter: f64,
}

impl Default for BackoffOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl BackoffOptions {
    /// The defaults: 500 ms doubling up to 30 s, jitter 0.5.
    pub fn new() -> Self {
        Self {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(30),
            multiplier: 2.0,
            jitter: 0.5,
        }
    }

    /// Sets [`initial`](Self::initial).
    pub fn with_initial(mut self, initial: Duration) -> Self {
        self.initial = initial;
        self
    }

    /// Sets [`max`](Self::max).
    pub fn with_max(mut self, max: Duration) -> Self {
        self.max = max;
        self
    }

    /// Sets [`multiplier`](Self::multiplier).
    pub fn with_multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = multiplier;
        self
    }

    /// Sets [`jitter`](Self::jitter).
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter;
        self
    }

    /// Checks every value against its allowed range.
    ///
    /// # Errors
    /// [`Error::InvalidOptions`] naming the first key that is out of range.
    pub fn validate(&self) -> Result<(), Error> {
        if self.initial.is_zero() {
            return Err(invalid(
                "backoff.initial",
                "must be positive (a zero delay would retry in a tight loop)".to_owned(),
            ));
        }
        if self.max < self.initial {
            return Err(invalid(
                "backoff.max",
                format!(
                    "must be at least the initial delay ({:?}), got {:?}",
                    self.initial, self.max
                ),
            ));
        }
        if !(self.multiplier.is_finite() && self.multiplier >= 1.0) {
            return Err(invalid(
                "backoff.multiplier",
                format!("must be a number >= 1.0, got {}", self.multiplier),
            ));
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err(invalid(
                "backoff.jitter",
                format!("must be 0.0-1.0, got {}", self.jitter),
            ));
        }
        Ok(())
    }
}

fn invalid(key: &'static str, reason: String) -> Error {
    Error::InvalidOptions { key, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(options: &LongPollingOptions) -> Option<&'static str> {
        match options.validate() {
            Ok(()) => None,
            Err(Error::InvalidOptions { key, .. }) => Some(key),
            Err(other) => panic!("unexpected error {other}"),
        }
    }

    /// Pins the documented defaults.
    #[test]
    fn defaults_are_documented_values() {
        let options = LongPollingOptions::new();
        assert_eq!(options.timeout_secs, 30);
        assert_eq!(options.limit, 100);
        assert_eq!(options.allowed_updates, None);
        assert_eq!(options.expect_username, None);
        assert_eq!(options.conflict_overlap, Duration::from_secs(30));
        assert_eq!(options.backoff.initial, Duration::from_millis(500));
        assert_eq!(options.backoff.max, Duration::from_secs(30));
        assert!(options.validate().is_ok());
    }

    /// Pins the range checks and that each error names the offending key.
    #[test]
    fn validation_names_the_offending_key() {
        let base = LongPollingOptions::new;
        let cases: Vec<(LongPollingOptions, Option<&str>)> = vec![
            (base().with_timeout_secs(0), None),
            (base().with_timeout_secs(50), None),
            (base().with_timeout_secs(51), Some("timeout_secs")),
            (base().with_limit(0), Some("limit")),
            (base().with_limit(1), None),
            (base().with_limit(100), None),
            (base().with_limit(101), Some("limit")),
            (base().with_allowed_updates(["message"]), None),
            (base().with_allowed_updates(Vec::<String>::new()), None),
            (
                base().with_allowed_updates(["Message"]),
                Some("allowed_updates"),
            ),
            (base().with_allowed_updates([""]), Some("allowed_updates")),
            (base().with_expect_username("@"), Some("expect_username")),
            (
                base().with_backoff(BackoffOptions::new().with_initial(Duration::ZERO)),
                Some("backoff.initial"),
            ),
            (
                base().with_backoff(BackoffOptions::new().with_max(Duration::from_millis(10))),
                Some("backoff.max"),
            ),
            (
                base().with_backoff(BackoffOptions::new().with_multiplier(0.5)),
                Some("backoff.multiplier"),
            ),
            (
                base().with_backoff(BackoffOptions::new().with_multiplier(f64::NAN)),
                Some("backoff.multiplier"),
            ),
            (
                base().with_backoff(BackoffOptions::new().with_jitter(1.5)),
                Some("backoff.jitter"),
            ),
        ];
        for (options, expected) in cases {
            assert_eq!(key_of(&options), expected, "{options:?}");
        }
    }

    /// Pins that the error text says what is allowed.
    #[test]
    fn timeout_error_states_the_range() {
        let text = LongPollingOptions::new()
            .with_timeout_secs(90)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(text.contains("timeout_secs") && text.contains("0-50") && text.contains("90"));
    }

    /// Pins that a leading `@` in `expect_username` is dropped.
    #[test]
    fn expect_username_drops_at_sign() {
        let options = LongPollingOptions::new().with_expect_username("@demo_bot");
        assert_eq!(options.expect_username.as_deref(), Some("demo_bot"));
    }
}
