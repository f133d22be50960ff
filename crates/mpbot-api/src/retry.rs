//! When and how long to wait before repeating a failed call: MPChat's retry table as data and
//! pure functions, so the rules are tested without a clock.
//!
//! The rules (protocol notes §2.1, §2.3, §8.3):
//! - 429 and 5xx (but 501) are retried with capped exponential backoff and full jitter;
//!   `parameters.retry_after` / `Retry-After`, when present, is waited exactly (capped by
//!   [`RetryPolicy::max_delay`]).
//! - 400, 401, 403, 409, 501 and 50001 are never retried.
//! - A non-idempotent method ([`Method::IDEMPOTENT`](crate::Method::IDEMPOTENT) is `false`, e.g.
//!   `sendMessage`, `getUpdates`) is retried only when the failure says the call certainly had no
//!   effect ([`Error::is_definitely_not_done`]), never after an ambiguous timeout.

use std::time::Duration;

use crate::Error;

/// How a client retries failed calls.
///
/// The default is MPChat's recommendation: 5 attempts in all, waits of 0.5 s, 1 s, 2 s, ...
/// capped at 30 s, each with full jitter. [`RetryPolicy::none`] makes exactly one attempt.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use mpbot_api::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .with_max_attempts(3)
///     .with_max_delay(Duration::from_secs(5));
/// assert_eq!(policy.max_attempts, 3);
/// // The wait after the first failure, with the largest jitter sample.
/// assert_eq!(policy.backoff(0, None, 1.0), Duration::from_millis(500));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included. Default 5; 1 (or 0) means never retry.
    pub max_attempts: u32,
    /// The ceiling of the first wait; it doubles with each further failure. Default 500 ms.
    pub base_delay: Duration,
    /// The longest wait, for backoff and for a server's `retry_after` alike. Default 30 s.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries: one attempt, the error goes straight to the caller. The
    /// poller uses it because it runs its own backoff loop.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Sets [`RetryPolicy::max_attempts`].
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// Sets [`RetryPolicy::base_delay`].
    pub fn with_base_delay(mut self, base_delay: Duration) -> Self {
        self.base_delay = base_delay;
        self
    }

    /// Sets [`RetryPolicy::max_delay`].
    pub fn with_max_delay(mut self, max_delay: Duration) -> Self {
        self.max_delay = max_delay;
        self
    }

    /// The wait before the next attempt, a pure function of its inputs.
    ///
    /// - `failures_before` is how many attempts failed before this one, minus one: 0 for the wait
    ///   after the first failure, 1 after the second, and so on.
    /// - `retry_after` is the server's hint; when present it is waited exactly, capped at
    ///   [`RetryPolicy::max_delay`], without jitter.
    /// - `jitter` is a sample in `[0, 1]` (clamped); the wait is `jitter × min(max_delay,
    ///   base_delay × 2^failures_before)` ("full jitter", which spreads clients that failed
    ///   together).
    pub fn backoff(
        &self,
        failures_before: u32,
        retry_after: Option<Duration>,
        jitter: f64,
    ) -> Duration {
        if let Some(hint) = retry_after {
            return hint.min(self.max_delay);
        }
        // NB: 2^31 × anything overflows; past 2^20 the cap has long been reached anyway.
        let factor = 1u32 << failures_before.min(20);
        let ceiling = self
            .base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay);
        let jitter = if jitter.is_nan() {
            1.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        ceiling.mul_f64(jitter)
    }

    /// Whether a call that failed with `error`, after `attempts_made` attempts (this one
    /// included), should be tried again under this policy.
    ///
    /// True only when attempts remain, the error is retryable by MPChat's table
    /// ([`Error::is_retryable`]), and either the method is idempotent or the error proves the
    /// call had no effect ([`Error::is_definitely_not_done`]).
    pub fn should_retry(&self, error: &Error, idempotent: bool, attempts_made: u32) -> bool {
        attempts_made < self.max_attempts
            && error.is_retryable()
            && (idempotent || error.is_definitely_not_done())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TransportKind;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// The backoff table: doubling from the base, capped, scaled by the jitter sample, and a
    /// server hint taken exactly but capped.
    #[test]
    fn backoff_doubles_caps_jitters_and_honours_retry_after() {
        let p = RetryPolicy::default();
        let cases: &[(u32, Option<Duration>, f64, Duration)] = &[
            (0, None, 1.0, ms(500)),
            (1, None, 1.0, ms(1000)),
            (2, None, 1.0, ms(2000)),
            (3, None, 1.0, ms(4000)),
            (5, None, 1.0, ms(16000)),
            (6, None, 1.0, ms(30000)),
            (7, None, 1.0, ms(30000)),
            (40, None, 1.0, ms(30000)),
            (u32::MAX, None, 1.0, ms(30000)),
            (0, None, 0.0, ms(0)),
            (2, None, 0.5, ms(1000)),
            (6, None, 0.25, ms(7500)),
            (0, None, -3.0, ms(0)),
            (0, None, 7.0, ms(500)),
            (0, None, f64::NAN, ms(500)),
            (0, Some(ms(3000)), 0.0, ms(3000)),
            (4, Some(ms(1000)), 0.9, ms(1000)),
            (0, Some(Duration::from_secs(120)), 0.5, ms(30000)),
            (0, Some(Duration::ZERO), 0.5, Duration::ZERO),
        ];
        for &(failures, hint, jitter, want) in cases {
            assert_eq!(
                p.backoff(failures, hint, jitter),
                want,
                "failures={failures} hint={hint:?} jitter={jitter}"
            );
        }
        let custom = RetryPolicy::default()
            .with_base_delay(ms(100))
            .with_max_delay(ms(250));
        assert_eq!(custom.backoff(0, None, 1.0), ms(100));
        assert_eq!(custom.backoff(1, None, 1.0), ms(200));
        assert_eq!(custom.backoff(2, None, 1.0), ms(250));
        assert_eq!(custom.backoff(0, Some(ms(900)), 1.0), ms(250));
    }

    fn api(code: i64) -> Error {
        Error::Api {
            method: "m".into(),
            code,
            description: String::new(),
            retry_after: None,
            http_status: 200,
        }
    }

    fn transport(kind: TransportKind) -> Error {
        Error::Transport {
            method: "m".into(),
            kind,
            source: "x".into(),
        }
    }

    fn http(status: u16) -> Error {
        Error::Http {
            method: "m".into(),
            http_status: status,
            retry_after: None,
            body: String::new(),
        }
    }

    /// MPChat's table: which failures are retried for idempotent and non-idempotent methods.
    #[test]
    fn should_retry_follows_the_table_and_idempotency() {
        let p = RetryPolicy::default();
        // (error, retried when idempotent, retried when not idempotent)
        let cases = [
            (api(400), false, false),
            (api(401), false, false),
            (api(403), false, false),
            (api(404), false, false),
            (api(409), false, false),
            (api(429), true, true),
            (api(500), true, true),
            (api(502), true, true),
            (api(503), true, true),
            (api(501), false, false),
            (api(50001), false, false),
            (transport(TransportKind::Connect), true, true),
            (transport(TransportKind::Timeout), true, false),
            (transport(TransportKind::Other), true, false),
            (http(502), true, false),
            (http(503), true, false),
            (http(429), true, true),
            (http(501), false, false),
            (http(404), false, false),
        ];
        for (error, idempotent, non_idempotent) in cases {
            assert_eq!(p.should_retry(&error, true, 1), idempotent, "{error:?}");
            assert_eq!(
                p.should_retry(&error, false, 1),
                non_idempotent,
                "{error:?}"
            );
        }
    }

    /// Attempts are bounded: the fifth failure is final, and `none()` never retries.
    #[test]
    fn should_retry_stops_at_max_attempts() {
        let p = RetryPolicy::default();
        assert!(p.should_retry(&api(500), true, 4));
        assert!(!p.should_retry(&api(500), true, 5));
        assert!(!RetryPolicy::none().should_retry(&api(500), true, 1));
        assert!(
            !RetryPolicy::default()
                .with_max_attempts(0)
                .should_retry(&api(429), true, 1)
        );
    }
}
