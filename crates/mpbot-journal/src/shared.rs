//! State shared by the sink, the writer thread and the feeder.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mpbot_api::Update;
use tokio::sync::{Notify, watch};

use crate::{JournalOptions, JournalStore, Seq};

/// After a failed write, how long the sink reports no capacity (a poller pauses this long
/// before it tries again) and how long the writer waits before it retries handled marks.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

/// A stored entry on its way to the handlers.
#[derive(Debug)]
pub(crate) struct Fed {
    pub(crate) seq: Seq,
    pub(crate) update: Update,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) store: Arc<dyn JournalStore>,
    pub(crate) options: JournalOptions,
    /// Unhandled entries plus appends on their way to the writer: what `max_pending` bounds.
    reserved: AtomicUsize,
    /// Woken when `reserved` drops or the store recovers.
    pub(crate) capacity: Notify,
    /// Set after a failed write: until then the sink reports no free capacity.
    unavailable_until: Mutex<Option<Instant>>,
    /// Becomes true once the writer stopped and released the lock.
    stopped: watch::Sender<bool>,
}

impl Shared {
    pub(crate) fn new(
        store: Arc<dyn JournalStore>,
        options: JournalOptions,
        unhandled: usize,
    ) -> Self {
        Self {
            store,
            options,
            reserved: AtomicUsize::new(unhandled),
            capacity: Notify::new(),
            unavailable_until: Mutex::new(None),
            stopped: watch::Sender::new(false),
        }
    }

    /// Called by the writer thread as it ends (after the lock was released).
    pub(crate) fn set_stopped(&self) {
        self.stopped.send_replace(true);
        self.capacity.notify_waiters();
    }

    /// Whether the writer has stopped.
    pub(crate) fn is_stopped(&self) -> bool {
        *self.stopped.borrow()
    }

    /// Resolves once the writer has stopped.
    pub(crate) async fn stopped(&self) {
        let mut stopped = self.stopped.subscribe();
        // The sender lives in `self`, so it cannot be dropped while we wait.
        let _ = stopped.wait_for(|stopped| *stopped).await;
    }

    /// Takes a slot for one more unhandled entry, unless `max_pending` are taken.
    pub(crate) fn try_reserve(&self) -> bool {
        self.reserved
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.options.max_pending).then_some(n + 1)
            })
            .is_ok()
    }

    /// Gives `n` slots back (entries handled, appends that were duplicates or failed).
    pub(crate) fn release(&self, n: usize) {
        if n > 0 {
            self.reserved.fetch_sub(n, Ordering::AcqRel);
            self.capacity.notify_waiters();
        }
    }

    /// Unhandled entries plus appends in progress.
    pub(crate) fn reserved(&self) -> usize {
        self.reserved.load(Ordering::Acquire)
    }

    pub(crate) fn free_slots(&self) -> usize {
        self.options.max_pending.saturating_sub(self.reserved())
    }

    /// When the store failed recently, until when the sink holds back.
    pub(crate) fn unavailable_until(&self) -> Option<Instant> {
        let until = *self
            .unavailable_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        until.filter(|until| *until > Instant::now())
    }

    pub(crate) fn set_unavailable(&self, failed: bool) {
        let mut until = self
            .unavailable_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let was = until.is_some();
        *until = failed.then(|| Instant::now() + RETRY_AFTER);
        drop(until);
        if was && !failed {
            self.capacity.notify_waiters();
        }
    }
}
