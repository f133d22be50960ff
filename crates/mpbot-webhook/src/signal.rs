//! A one-shot broadcast signal that is cheap to poll.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

/// Fires once; every [`Watch`] then resolves.
///
/// Each connection task polls its watch on every wake-up (several times per request), so a
/// poll must not take a lock: it is an `AtomicWaker` registration and an atomic load. (A
/// `CancellationToken` locks a mutex on every poll, which showed up in the load profile.)
/// Locks are taken only when a watch is created or dropped and when the signal fires.
#[derive(Debug, Default)]
pub(crate) struct Signal {
    /// Set once by `fire`.
    fired: AtomicBool,
    /// The wakers of live watches, woken by `fire`.
    watchers: Mutex<HashMap<u64, Arc<AtomicWaker>>>,
    /// Ids for `watchers`.
    next_id: AtomicU64,
}

impl Signal {
    /// Fires the signal and wakes every watch. Idempotent.
    pub(crate) fn fire(&self) {
        self.fired.store(true, Ordering::Release);
        let watchers = self
            .watchers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for waker in watchers.values() {
            waker.wake();
        }
    }

    /// Whether it fired.
    pub(crate) fn is_fired(&self) -> bool {
        self.fired.load(Ordering::Acquire)
    }

    /// A future-like handle that resolves once the signal fired.
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
        }
    }
}

/// Resolves once its [`Signal`] fired. Poll it through `&mut` (it can be polled again after it
/// resolved, and resolves again).
#[derive(Debug)]
pub(crate) struct Watch {
    signal: Arc<Signal>,
    id: u64,
    waker: Arc<AtomicWaker>,
}

impl Future for &mut Watch {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Register first, then check: a `fire` in between either is seen by the load or wakes
        // the registered waker.
        self.waker.register(cx.waker());
        if self.signal.is_fired() {
            Poll::Ready(())
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

    /// Pins that a watch resolves after `fire`, also when it started waiting before, and that
    /// dropped watches leave the registry.
    #[tokio::test]
    async fn watch_resolves_once_fired() {
        let signal = Arc::new(Signal::default());
        let mut early = signal.watch();
        let waiting = tokio::spawn({
            let signal = signal.clone();
            async move {
                let mut watch = signal.watch();
                (&mut watch).await;
            }
        });
        assert!(!signal.is_fired());
        signal.fire();
        waiting.await.unwrap();
        (&mut early).await;
        let mut late = signal.watch();
        (&mut late).await;
        drop((early, late));
        assert!(signal.watchers.lock().unwrap().is_empty());
    }
}
