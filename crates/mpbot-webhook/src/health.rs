//! What a health endpoint can ask the listener.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A cheap, cloneable view of the listener's state, for health and readiness endpoints.
///
/// Get it with [`Webhook::health`](crate::Webhook::health) before calling `run`.
#[derive(Debug, Clone, Default)]
pub struct WebhookHealth {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Whether the accept loop runs and new requests are answered normally.
    serving: AtomicBool,
    /// Milliseconds since the Unix epoch of the last update the sink accepted, 0 for none yet.
    last_update_ms: AtomicU64,
    /// Updates the sink accepted (duplicates included), since start.
    accepted: AtomicU64,
}

impl WebhookHealth {
    /// Whether the listener is serving: true from the start of `run` until shutdown begins.
    pub fn is_serving(&self) -> bool {
        self.inner.serving.load(Ordering::Acquire)
    }

    /// When the sink last accepted an update (wall clock, millisecond precision); `None` before
    /// the first. A health check can alert when this is much older than the usual traffic gap.
    pub fn last_update_at(&self) -> Option<SystemTime> {
        match self.inner.last_update_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(UNIX_EPOCH + Duration::from_millis(ms)),
        }
    }

    /// How many updates the sink accepted since start (answered 200, duplicates included).
    pub fn updates_accepted(&self) -> u64 {
        self.inner.accepted.load(Ordering::Relaxed)
    }

    pub(crate) fn set_serving(&self, serving: bool) {
        self.inner.serving.store(serving, Ordering::Release);
    }

    pub(crate) fn record_update(&self) {
        let ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| {
            u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
        });
        self.inner.last_update_ms.store(ms, Ordering::Relaxed);
        self.inner.accepted.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins that the health view starts empty and records accepted updates.
    #[test]
    fn records_last_update_and_count() {
        let health = WebhookHealth::default();
        assert!(!health.is_serving());
        assert_eq!(health.last_update_at(), None);
        let before = SystemTime::now() - Duration::from_secs(1);
        health.record_update();
        health.set_serving(true);
        assert!(health.is_serving());
        assert!(health.last_update_at().is_some_and(|t| t >= before));
        assert_eq!(health.updates_accepted(), 1);
    }
}
