//! [`PollingHealth`]: what a health endpoint can read while the poller runs.

use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use tokio::time::Instant;

/// Where the poller is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PollingState {
    /// Not started yet, or checking the bot's identity and webhook before the first
    /// successful `getUpdates`.
    Starting,
    /// The last `getUpdates` succeeded.
    Healthy,
    /// The last attempt failed with a transient fault; the poller is backing off and retrying.
    Degraded,
    /// The poller returned (shutdown or a fatal error).
    Stopped,
}

impl PollingState {
    /// A short lowercase name for logs and health endpoints.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Healthy => "healthy",
            Self::Degraded => "degraded",
            Self::Stopped => "stopped",
        }
    }
}

/// One reading of [`PollingHealth`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HealthSnapshot {
    /// The current state.
    pub state: PollingState,
    /// Wall-clock time of the last successful `getUpdates`, `None` before the first.
    pub last_success_at: Option<SystemTime>,
    /// Monotonic (tokio) time of the same moment, for "seconds since" computations that do not
    /// jump with the wall clock.
    pub last_success: Option<Instant>,
    /// Failed attempts since the last success.
    pub consecutive_failures: u32,
    /// The last transient fault, in words, while degraded.
    pub last_error: Option<String>,
    /// Updates handed to the sink since start.
    pub delivered: u64,
}

impl HealthSnapshot {
    fn starting() -> Self {
        Self {
            state: PollingState::Starting,
            last_success_at: None,
            last_success: None,
            consecutive_failures: 0,
            last_error: None,
            delivered: 0,
        }
    }
}

/// A cloneable, read-only view of a running [`LongPolling`](crate::LongPolling)'s health.
///
/// Get it with [`LongPolling::health`](crate::LongPolling::health) before handing the poller
/// over; it stays readable after the poller stopped.
#[derive(Debug, Clone)]
pub struct PollingHealth {
    rx: watch::Receiver<HealthSnapshot>,
}

impl PollingHealth {
    /// The current reading.
    pub fn snapshot(&self) -> HealthSnapshot {
        self.rx.borrow().clone()
    }

    /// The current state.
    pub fn state(&self) -> PollingState {
        self.rx.borrow().state
    }

    /// Wall-clock time of the last successful `getUpdates`, `None` before the first.
    pub fn last_success(&self) -> Option<SystemTime> {
        self.rx.borrow().last_success_at
    }

    /// Time since the last successful `getUpdates` (monotonic), `None` before the first.
    ///
    /// With the default 30 s long poll a healthy poller succeeds at least every ~30 s, so a
    /// health check can alarm above, say, `timeout_secs` + 30 s.
    pub fn since_last_success(&self) -> Option<Duration> {
        self.rx.borrow().last_success.map(|at| at.elapsed())
    }

    /// Waits until a reading satisfies `predicate` (checked at once, then on every change) and
    /// returns that reading. Returns the last reading if the poller was dropped first.
    ///
    /// # Cancel safety
    /// Cancel-safe.
    pub async fn wait_for(
        &mut self,
        mut predicate: impl FnMut(&HealthSnapshot) -> bool,
    ) -> HealthSnapshot {
        let found = self.rx.wait_for(|s| predicate(s)).await.map(|r| r.clone());
        found.unwrap_or_else(|_| self.snapshot())
    }
}

/// The poller's writing end.
#[derive(Debug)]
pub(crate) struct HealthWriter {
    tx: watch::Sender<HealthSnapshot>,
}

impl HealthWriter {
    pub(crate) fn new() -> Self {
        Self {
            tx: watch::Sender::new(HealthSnapshot::starting()),
        }
    }

    pub(crate) fn reader(&self) -> PollingHealth {
        PollingHealth {
            rx: self.tx.subscribe(),
        }
    }

    pub(crate) fn success(&self) {
        self.tx.send_modify(|s| {
            s.state = PollingState::Healthy;
            s.last_success = Some(Instant::now());
            s.last_success_at = Some(SystemTime::now());
            s.consecutive_failures = 0;
            s.last_error = None;
        });
    }

    pub(crate) fn delivered(&self, count: u64) {
        // One notification per batch, not per update.
        self.tx.send_modify(|s| s.delivered += count);
    }

    pub(crate) fn failure(&self, error: String, failures: u32) {
        self.tx.send_modify(|s| {
            s.state = PollingState::Degraded;
            s.consecutive_failures = failures;
            s.last_error = Some(error);
        });
    }

    /// A start-up call succeeded after failures: no longer degraded, but not healthy either
    /// until a `getUpdates` succeeds (unless one already did).
    pub(crate) fn recovered(&self) {
        self.tx.send_if_modified(|s| {
            if s.state != PollingState::Degraded {
                return false;
            }
            s.state = if s.last_success.is_some() {
                PollingState::Healthy
            } else {
                PollingState::Starting
            };
            s.consecutive_failures = 0;
            s.last_error = None;
            true
        });
    }

    pub(crate) fn stopped(&self) {
        self.tx.send_modify(|s| s.state = PollingState::Stopped);
    }
}
