//! The sink a source delivers into under `ack = "stored"`.

use std::pin::pin;
use std::sync::Arc;
use std::sync::mpsc::Sender;

use async_trait::async_trait;
use mpbot_api::{Update, UpdateId};
use mpbot_core::{Deliver, Delivered, Refused, SourceInfo, UpdateSink};
use tokio::sync::oneshot;

/// Answers once an append was committed (or failed).
type Answer = oneshot::Receiver<Result<Delivered, Refused>>;

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
    ///   a sink that never refuses for those reasons. Its `deliver` queues the append (in
    ///   order) and answers at once; its `wait_for_capacity`, which the poller awaits before
    ///   every `getUpdates`, returns only once everything queued is committed, retrying a
    ///   failed write (every [`RETRY_AFTER`](crate::RETRY_AFTER)) until it succeeds. So a whole
    ///   batch shares one fsync, the next batch is asked for only once the previous one is on
    ///   disk, and a full disk pauses the poller instead of losing the batch. Only a closed
    ///   journal refuses it ([`Refused::ShuttingDown`]). After a failed write, retried
    ///   updates may be stored after later updates of the same batch that succeeded.
    pub fn for_source(&self, source: &SourceInfo) -> UpdateSink {
        if source.redelivers {
            UpdateSink::new(self.clone())
        } else {
            UpdateSink::new(Patient::new(self.clone()))
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

    /// The synchronous half of `deliver`: encodes, takes a slot and queues the append to the
    /// writer (so appends keep the order of the calls); the receiver answers once committed.
    fn enqueue(&self, update: Update) -> Result<Answer, (UpdateId, Refused)> {
        let entry = match NewEntry::from_update(&update) {
            Ok(entry) => entry,
            Err(e) => {
                tracing::warn!(update_id = update.update_id.get(), error = %e, "update not journaled");
                return Err((update.update_id, Refused::Unavailable(e.to_string())));
            }
        };
        if !self.shared.try_reserve() {
            return Err((update.update_id, Refused::Overloaded));
        }
        let id = update.update_id;
        let (reply, answer) = oneshot::channel();
        let request = Request::Append {
            entry,
            update: Box::new(update),
            reply,
        };
        if self.requests.send(request).is_err() {
            self.shared.release(1);
            return Err((id, Refused::ShuttingDown));
        }
        Ok(answer)
    }

    /// Whether the store already holds `update` (answers a redelivery while full).
    async fn stored_already(&self, id: UpdateId) -> bool {
        let store = Arc::clone(&self.shared.store);
        matches!(
            tokio::task::spawn_blocking(move || store.contains(id)).await,
            Ok(Ok(true))
        )
    }
}

#[async_trait]
impl Deliver for JournalSink {
    async fn deliver(&self, update: Update) -> Result<Delivered, Refused> {
        let answer = match self.enqueue(update) {
            Ok(answer) => answer,
            Err((id, Refused::Overloaded)) => {
                if self.stored_already(id).await {
                    return Ok(Delivered::Duplicate);
                }
                return Err(Refused::Overloaded);
            }
            Err((_, refused)) => return Err(refused),
        };
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
///
/// A poller hands over a batch update by update and asks for the next batch only after
/// [`wait_for_capacity`](Deliver::wait_for_capacity). So `deliver` only queues the append (in
/// order) and answers at once, and `wait_for_capacity` is the durability barrier: it returns
/// once every queued append is committed, retrying failed ones. A whole batch thus shares one
/// fsync, and the next `getUpdates` goes out only once the previous batch is on disk.
struct Patient {
    sink: JournalSink,
    /// Appends queued but not known to be committed, in order.
    queued: std::sync::Mutex<Vec<(Update, Answer)>>,
}

impl Patient {
    fn new(sink: JournalSink) -> Self {
        Self {
            sink,
            queued: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn queued(&self) -> std::sync::MutexGuard<'_, Vec<(Update, Answer)>> {
        self.queued
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits until every queued append is committed, queueing failed ones again (in order)
    /// until the store takes them. Only a closed journal ends it early (logged: those
    /// updates are lost).
    async fn settle(&self) {
        let mut warned = false;
        loop {
            let batch = std::mem::take(&mut *self.queued());
            if batch.is_empty() {
                return;
            }
            let mut retry = Vec::new();
            for (update, answer) in batch {
                match answer.await {
                    Ok(Ok(_)) => {}
                    Ok(Err(Refused::Unavailable(reason))) => {
                        if !warned {
                            tracing::warn!(
                                update_id = update.update_id.get(),
                                %reason,
                                "cannot journal polled updates; holding them and retrying"
                            );
                            warned = true;
                        }
                        retry.push(update);
                    }
                    Ok(Err(_)) | Err(_) => retry.push(update),
                }
            }
            if retry.is_empty() {
                continue;
            }
            self.sink.wait_for_capacity().await;
            let mut requeued = Vec::with_capacity(retry.len());
            for update in retry {
                loop {
                    match self.sink.enqueue(update.clone()) {
                        Ok(answer) => {
                            requeued.push((update, answer));
                            break;
                        }
                        Err((_, Refused::Overloaded)) => self.sink.wait_for_capacity().await,
                        Err((_, refused)) => {
                            tracing::error!(
                                update_id = update.update_id.get(),
                                %refused,
                                "a polled update MPChat already consumed could not be journaled"
                            );
                            break;
                        }
                    }
                }
            }
            let mut queued = self.queued();
            let later = std::mem::take(&mut *queued);
            *queued = requeued;
            queued.extend(later);
        }
    }
}

#[async_trait]
impl Deliver for Patient {
    async fn deliver(&self, update: Update) -> Result<Delivered, Refused> {
        loop {
            match self.sink.enqueue(update.clone()) {
                Ok(answer) => {
                    self.queued().push((update, answer));
                    return Ok(Delivered::Accepted);
                }
                Err((_, Refused::Overloaded)) => {
                    self.settle().await;
                    self.sink.wait_for_capacity().await;
                }
                // Cannot be encoded (never for wire updates), or the journal is closed.
                Err((_, refused)) => return Err(refused),
            }
        }
    }

    fn free_capacity(&self) -> usize {
        self.sink.free_capacity()
    }

    async fn wait_for_capacity(&self) {
        self.settle().await;
        self.sink.wait_for_capacity().await;
    }
}
