//! The stop signal: a level that only rises, cheap to poll.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

/// How far shutdown has gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stage {
    /// Serving normally.
    Running = 0,
    /// Shutdown began: stop accepting, answer 503 to new requests, close connections
    /// gracefully.
    Draining = 1,
    /// The grace period ran out: drop what is still open.
    Forced = 2,
}

impl Stage {
    fn from_u8(value: u8) -> Self {
        match value {
            0 => Self::Running,
            1 => Self::Draining,
            _ => Self::Forced,
        }
    }
}

/// The shutdown stage, broadcast to every connection.
///
/// Each connection task polls its [`Watch`] on every wake-up (several times per request), so a
/// poll must not take a lock: it is one `AtomicWaker` registration and one atomic load. (A
/// `CancellationToken` locks a mutex on every poll, which showed up in the load profile.)
/// Locks are taken only when a watch is created or dropped and when the stage rises.
#[derive(Debug, Default)]
pub(crate) struct Signal {
    /// The current [`Stage`] as a number; it only rises.
    stage: AtomicU8,
    /// The wakers of live watches, woken when the stage rises.
    watchers: Mutex<HashMap<u64, Arc<AtomicWaker>>>,
    /// Ids for `watchers`.
    next_id: AtomicU64,
}

impl Signal {
    /// Raises the stage to `stage` (never lowers it) and wakes every watch.
    pub(crate) fn raise(&self, stage: Stage) {
        self.stage.fetch_max(stage as u8, Ordering::AcqRel);
        let watchers = self
            .watchers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for waker in watchers.values() {
            waker.wake();
        }
    }

    /// The current stage.
    pub(crate) fn stage(&self) -> Stage {
        Stage::from_u8(self.stage.load(Ordering::Acquire))
    }

    /// Whether shutdown began.
    pub(crate) fn is_draining(&self) -> bool {
        self.stage() >= Stage::Draining
    }

    /// A handle that resolves each time the stage rose above what it last reported.
    pub(crate) fn watch(self: &Arc<Self>) -> Watch {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let waker = Arc::new(AtomicWaker::new());
        self.watchers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id, waker.clone());
        Watch {
            signal: self.clone(),
            id,
            waker,
            seen: Stage::Running,
        }
    }
}

/// Resolves with the new [`Stage`] each time the stage rose past the last one it reported.
/// Poll it through `&mut`.
#[derive(Debug)]
pub(crate) struct Watch {
    signal: Arc<Signal>,
    id: u64,
    waker: Arc<AtomicWaker>,
    seen: Stage,
}

impl Future for &mut Watch {
    type Output = Stage;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Stage> {
        // Register first, then load: a `raise` in between is either seen by the load or wakes
        // the registered waker.
        self.waker.register(cx.waker());
        let stage = self.signal.stage();
        if stage > self.seen {
            self.seen = stage;
            Poll::Ready(stage)
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.signal
            .watchers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins that a watch reports each rise once, also when it started waiting before, never
    /// reports a lowering, and that dropped watches leave the registry.
    #[tokio::test]
    async fn watch_reports_each_rise_once() {
        let signal = Arc::new(Signal::default());
        let mut early = signal.watch();
        let waiting = tokio::spawn({
            let signal = signal.clone();
            async move {
                let mut watch = signal.watch();
                (&mut watch).await
            }
        });
        assert!(!signal.is_draining());
        signal.raise(Stage::Draining);
        assert_eq!(waiting.await.unwrap(), Stage::Draining);
        assert_eq!((&mut early).await, Stage::Draining);
        signal.raise(Stage::Running);
        assert_eq!(signal.stage(), Stage::Draining);
        signal.raise(Stage::Forced);
        assert_eq!((&mut early).await, Stage::Forced);
        let mut late = signal.watch();
        assert_eq!((&mut late).await, Stage::Forced);
        drop((early, late));
        assert!(signal.watchers.lock().unwrap().is_empty());
    }
}
