//! The retry delay as a pure function of the attempt count, the `retry_after` hint and a jitter
//! sample. Only the polling loop touches the clock (and the random number generator).

use std::time::Duration;

use crate::BackoffOptions;

impl BackoffOptions {
    /// The delay before retry number `attempt` (0 for the first retry after a success), with
    /// `jitter_sample` a number in `[0, 1)` (clamped into that range).
    ///
    /// It is `min(max, initial × multiplier^attempt) × (1 − jitter × jitter_sample)`: a pure
    /// function, so callers (and tests) choose the randomness.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use mpbot_poller::BackoffOptions;
    ///
    /// let backoff = BackoffOptions::new(); // 500 ms doubling to 30 s, jitter 0.5
    /// assert_eq!(backoff.delay(0, 0.0), Duration::from_millis(500));
    /// assert_eq!(backoff.delay(3, 0.0), Duration::from_secs(4));
    /// assert_eq!(backoff.delay(3, 0.5), Duration::from_secs(3));
    /// assert_eq!(backoff.delay(30, 0.0), Duration::from_secs(30));
    /// ```
    pub fn delay(&self, attempt: u32, jitter_sample: f64) -> Duration {
        // NB: powi takes an i32; beyond ~64 doublings the value is past any cap anyway.
        let exponent = i32::try_from(attempt.min(1024)).unwrap_or(1024);
        let grown = self.initial.as_secs_f64() * self.multiplier.powi(exponent);
        let capped = grown.min(self.max.as_secs_f64());
        let sample = if jitter_sample.is_finite() {
            jitter_sample.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let factor = 1.0 - self.jitter.clamp(0.0, 1.0) * sample;
        Duration::try_from_secs_f64(capped * factor).unwrap_or(self.max)
    }
}

/// The wait before the next attempt: exactly `retry_after` when MPChat gave one (429), the
/// jittered exponential backoff otherwise.
pub(crate) fn retry_delay(
    backoff: &BackoffOptions,
    attempt: u32,
    retry_after: Option<Duration>,
    jitter_sample: f64,
) -> Duration {
    match retry_after {
        Some(wait) => wait,
        None => backoff.delay(attempt, jitter_sample),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    /// Pins the exponential growth, the cap and the jitter range, by table.
    #[test]
    fn delay_grows_exponentially_with_cap_and_jitter() {
        let backoff = BackoffOptions::new();
        let table: &[(u32, f64, Duration)] = &[
            (0, 0.0, ms(500)),
            (1, 0.0, ms(1_000)),
            (2, 0.0, ms(2_000)),
            (3, 0.0, ms(4_000)),
            (5, 0.0, ms(16_000)),
            (6, 0.0, ms(30_000)),
            (7, 0.0, ms(30_000)),
            (u32::MAX, 0.0, ms(30_000)),
            (0, 0.5, ms(375)),
            (1, 1.0, ms(500)),
            (6, 0.999_999, ms(15_000)),
            (2, -3.0, ms(2_000)),
            (2, f64::NAN, ms(2_000)),
            (2, 7.0, ms(1_000)),
        ];
        for &(attempt, sample, expected) in table {
            let got = backoff.delay(attempt, sample);
            let diff = got.abs_diff(expected);
            assert!(
                diff < ms(1),
                "attempt {attempt} sample {sample}: {got:?} != {expected:?}"
            );
        }
    }

    /// Pins that jitter never lengthens a delay and never shortens it below (1 - jitter).
    #[test]
    fn jitter_stays_within_its_fraction() {
        let backoff = BackoffOptions::new().with_jitter(0.25);
        for attempt in 0..10 {
            let full = backoff.delay(attempt, 0.0);
            for step in 0..100 {
                let d = backoff.delay(attempt, f64::from(step) / 100.0);
                assert!(
                    d <= full && d >= full.mul_f64(0.75),
                    "{attempt}/{step}: {d:?}"
                );
            }
        }
    }

    /// Pins that a multiplier of 1 gives a constant delay.
    #[test]
    fn multiplier_one_is_constant() {
        let backoff = BackoffOptions::new()
            .with_multiplier(1.0)
            .with_jitter(0.0)
            .with_initial(ms(250));
        for attempt in [0, 1, 10, 1000] {
            assert_eq!(backoff.delay(attempt, 0.9), ms(250));
        }
    }

    /// Pins that `retry_after` is used exactly, uncapped and unjittered.
    #[test]
    fn retry_after_is_exact() {
        let backoff = BackoffOptions::new();
        let table: &[(u32, Option<Duration>, f64, Duration)] = &[
            (0, Some(ms(7_000)), 0.9, ms(7_000)),
            (9, Some(ms(1_000)), 0.9, ms(1_000)),
            (0, Some(ms(120_000)), 0.0, ms(120_000)),
            (0, None, 0.0, ms(500)),
            (2, None, 0.0, ms(2_000)),
        ];
        for &(attempt, hint, sample, expected) in table {
            assert_eq!(retry_delay(&backoff, attempt, hint, sample), expected);
        }
    }
}
