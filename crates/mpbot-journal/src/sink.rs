//! The sink a source delivers into under `ack = "stored"`.

use std::pin::pin;
use std::sync::Arc;
use std::sync::mpsc::Sender;

use async_trait::async_trait;
use mpbot_api::Update;
use mpbot_core::{Deliver, Delivered, Refused, SourceInfo, UpdateSink};
use tokio::sync::oneshot;

use crate::shared::Shared;
use crate::writer::Request;
use crate::{Error, NewEntry, StoreStats};

/// The `stored` sink: [`deliver`](Deliver::deliver) returns [`Delivered::Accepted`] only once
/// the update is durably in the journal, [`Delivered::Duplicate`] when its `update_id` already
/// is (a webhook redelivery, a re-sent batch), and refuses rather than drops:
///
/// - [`Refused::Overloaded`] when [`max_pending`](crate::JournalOptions::max_pending) entries
///   are stored but not handled yet;
/// - [`Refused::Unavailable`] when the write failed (a full disk, the size bound, an I/O
///   error); a webhook answers 503 and MPChat retries, a poller pauses
///   ([`free_capacity`](Deliver::free_capacity) is 0 for a second after a failure);
/// - [`Refused::ShuttingDown`] when the journal's writer has stopped.
///
/// Concurrent calls share one transaction and one fsync (group commit). Wrap it with
/// [`UpdateSink::new`](mpbot_core::UpdateSink::new) for a source. Cheap to clone.
///
/// # Cancel safety
/// A `deliver` future dropped after it started may still store the update; it is then handled
/// from the journal, and a redelivery of it is answered as a duplicate.
#[derive(Clone)]
pub struct JournalSink {
    shared: Arc<Shared>,
    requests: Sender<Request>,
}

impl std::fmt::Debug for JournalSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalSink")
            .field("location", &self.shared.store.location())
            .field("pending", &self.shared.reserved())
            .finish_non_exhaustive()
    }
}

impl JournalSink {
    pub(crate) fn new(shared: Arc<Shared>, requests: Sender<Request>) -> Self {
        Self { shared, requests }
    }

    /// Entries stored but not handled yet, plus appends in progress.
    pub fn pending(&self) -> usize {
        self.shared.reserved()
    }

    /// The sink for a source described by `source` (as `Dispatcher::sink` does for the
    /// dispatcher):
    ///
    /// - a redelivering source (webhook) gets this sink as it is: it refuses when full or
    ///   when a write fails, and MPChat delivers again later;
    /// - a source that does not redeliver (the poller: MPChat already consumed the batch) gets
    ///   a sink that never refuses for those reasons: it waits for room, and retries a failed
    ///   write (every [`RETRY_AFTER`](crate::RETRY_AFTER)) until it succeeds, so the poller
    ///   pauses instead of losing the batch. Only a closed journal refuses it
    ///   ([`Refused::ShuttingDown`]).
    pub fn for_source(&self, source: &SourceInfo) -> UpdateSink {
        if source.redelivers {
            UpdateSink::new(self.clone())
        } else {
            UpdateSink::new(Patient(self.clone()))
        }
    }

    /// Closes the journal: the writer commits what it has, releases the journal's lock and
    /// stops; later deliveries are refused with [`Refused::ShuttingDown`]. Resolves once it
    /// stopped (at once if it already had). The feeder does this when it ends; call it after
    /// the dispatcher returned when the feeder may have been cut off (a dispatcher aborts a
    /// source that outlives the grace period), before opening the journal again in-process.
    pub async fn close(&self) {
        let _ = self.requests.send(Request::Close);
        self.shared.stopped().await;
    }

    /// The store's counts and counters (read on a blocking thread).
    ///
    /// # Errors
    /// The store's read error.
    pub async fn stats(&self) -> Result<StoreStats, Error> {
        let store = Arc::clone(&self.shared.store);
        tokio::task::spawn_blocking(move || store.stats())
            .await
            .map_err(|e| Error::store(e.to_string()))?
    }

    /// Whether the store already holds `update` (answers a redelivery while full).
    async fn stored_already(&self, update: &Update) -> bool {
        let store = Arc::clone(&self.shared.store);
        let id = update.update_id;
        matches!(
            tokio::task::spawn_blocking(move || store.contains(id)).await,
            Ok(Ok(true))
        )
    }
}

#[async_trait]
impl Deliver for JournalSink {
    async fn deliver(&self, update: Update) -> Result<Delivered, Refused> {
        let entry = NewEntry::from_update(&update).map_err(|e| {
            tracing::warn!(update_id = update.update_id.get(), error = %e, "update not journaled");
            Refused::Unavailable(e.to_string())
        })?;
        if !self.shared.try_reserve() {
            if self.stored_already(&update).await {
                return Ok(Delivered::Duplicate);
            }
            return Err(Refused::Overloaded);
        }
        let (reply, answer) = oneshot::channel();
        let request = Request::Append {
            entry,
            update: Box::new(update),
            reply,
        };
        if self.requests.send(request).is_err() {
            self.shared.release(1);
            return Err(Refused::ShuttingDown);
        }
        // The writer releases the slot when the append failed or was a duplicate.
        answer.await.unwrap_or(Err(Refused::ShuttingDown))
    }

    fn free_capacity(&self) -> usize {
        if self.shared.is_stopped() || self.shared.unavailable_until().is_some() {
            0
        } else {
            self.shared.free_slots()
        }
    }

    async fn wait_for_capacity(&self) {
        loop {
            let mut freed = pin!(self.shared.capacity.notified());
            freed.as_mut().enable();
            match self.shared.unavailable_until() {
                Some(until) => {
                    let until = tokio::time::Instant::from_std(until);
                    tokio::select! {
                        () = tokio::time::sleep_until(until) => {}
                        () = freed => {}
                    }
                }
                None if self.shared.free_slots() > 0 || self.shared.is_stopped() => return,
                None => freed.await,
            }
        }
    }
}

/// The journal sink for a source that cannot be refused (see [`JournalSink::for_source`]).
struct Patient(JournalSink);

#[async_trait]
impl Deliver for Patient {
    async fn deliver(&self, update: Update) -> Result<Delivered, Refused> {
        let mut warned = false;
        loop {
            match self.0.deliver(update.clone()).await {
                Err(Refused::Overloaded) => self.0.wait_for_capacity().await,
                Err(Refused::Unavailable(reason)) => {
                    if !warned {
                        tracing::warn!(
                            update_id = update.update_id.get(),
                            %reason,
                            "cannot journal a polled update; holding it and retrying"
                        );
                        warned = true;
                    }
                    self.0.wait_for_capacity().await;
                }
                other => return other,
            }
        }
    }

    fn free_capacity(&self) -> usize {
        self.0.free_capacity()
    }

    async fn wait_for_capacity(&self) {
        self.0.wait_for_capacity().await;
    }
}
