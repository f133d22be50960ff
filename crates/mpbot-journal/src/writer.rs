//! The single writer: group commit.
//!
//! Every append and handled mark goes through one thread. It blocks for the first request,
//! then takes everything else already waiting (up to `max_batch` appends) and commits it all in
//! one transaction, so concurrent `deliver` calls share one fsync; it answers every caller only
//! after that commit returned.

use std::fs::File;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::SystemTime;

use mpbot_api::Update;
use mpbot_core::{Delivered, Refused};
use tokio::sync::{mpsc, oneshot};

use crate::shared::{Fed, RETRY_AFTER, Shared};
use crate::{AppendOutcome, NewEntry, Seq, WriteBatch};

/// What the writer is asked to do.
#[derive(Debug)]
pub(crate) enum Request {
    /// Store one update durably, then answer.
    Append {
        entry: NewEntry,
        update: Box<Update>,
        reply: oneshot::Sender<Result<Delivered, Refused>>,
    },
    /// The entry's handlers finished.
    Handled(Seq),
    /// Delete handled entries older than the retention.
    Compact,
    /// Commit everything sent before it, release the lock, and stop.
    Close,
}

struct Waiting {
    update: Box<Update>,
    reply: oneshot::Sender<Result<Delivered, Refused>>,
}

/// Runs the writer on its own thread until every sender is gone.
///
/// `lock` (the journal's lock file) is held until the writer stops, so a new journal on the
/// same directory can be opened as soon as [`Request::Close`] was answered.
pub(crate) fn spawn(
    shared: Arc<Shared>,
    requests: Receiver<Request>,
    feed: mpsc::UnboundedSender<Fed>,
    lock: Option<File>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("mpbot-journal-writer".to_owned())
        .spawn(move || {
            Writer::new(Arc::clone(&shared), feed).run(&requests);
            drop(lock);
            // Appends still queued are dropped here: their callers hear "shutting down".
            drop(requests);
            shared.set_stopped();
        })
        .map(drop)
}

struct Writer {
    shared: Arc<Shared>,
    feed: mpsc::UnboundedSender<Fed>,
    /// Handled marks not committed yet (kept across a failed commit).
    marks: Vec<Seq>,
    entries: Vec<NewEntry>,
    waiting: Vec<Waiting>,
    close: bool,
    compact: bool,
}

impl Writer {
    fn new(shared: Arc<Shared>, feed: mpsc::UnboundedSender<Fed>) -> Self {
        Self {
            shared,
            feed,
            marks: Vec::new(),
            entries: Vec::new(),
            waiting: Vec::new(),
            close: false,
            compact: false,
        }
    }

    /// Runs until closed or every sender is gone.
    fn run(mut self, requests: &Receiver<Request>) {
        loop {
            // With marks left over from a failed commit, wake up to retry them.
            let first = if self.marks.is_empty() {
                requests.recv().map_err(|_| RecvTimeoutError::Disconnected)
            } else {
                requests.recv_timeout(RETRY_AFTER)
            };
            match first {
                Ok(request) => self.take(request),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    if !self.marks.is_empty() {
                        self.commit();
                    }
                    tracing::debug!("journal writer stopped");
                    return;
                }
            }
            while !self.close && self.entries.len() < self.shared.options.max_batch {
                match requests.try_recv() {
                    Ok(request) => self.take(request),
                    Err(_) => break,
                }
            }
            if !self.entries.is_empty() || !self.marks.is_empty() {
                self.commit();
            }
            if std::mem::take(&mut self.compact) {
                self.compact();
            }
            if self.close {
                if !self.marks.is_empty() {
                    // One more try; what still fails is replayed on the next start.
                    self.commit();
                }
                tracing::debug!("journal writer closed");
                return;
            }
        }
    }

    fn take(&mut self, request: Request) {
        match request {
            Request::Append {
                entry,
                update,
                reply,
            } => {
                self.entries.push(entry);
                self.waiting.push(Waiting { update, reply });
            }
            Request::Handled(seq) => self.marks.push(seq),
            Request::Compact => self.compact = true,
            Request::Close => self.close = true,
        }
    }

    fn commit(&mut self) {
        let batch = WriteBatch::new(
            std::mem::take(&mut self.entries),
            std::mem::take(&mut self.marks),
            SystemTime::now(),
        );
        let waiting = std::mem::take(&mut self.waiting);
        // One commit is one fsync: its latency is what `stored` costs each request.
        let started = std::time::Instant::now();
        let committed = self.shared.store.commit(&batch);
        metrics::histogram!("mpbot_journal_commit_duration_seconds").record(started.elapsed());
        let outcome = if committed.is_ok() { "ok" } else { "error" };
        metrics::counter!("mpbot_journal_commits_total", "outcome" => outcome).increment(1);
        match committed {
            Ok(outcomes) => {
                self.shared.set_unavailable(false);
                let mut released = batch.handled.len();
                for (waiter, outcome) in waiting.into_iter().zip(outcomes) {
                    let answer = match outcome {
                        AppendOutcome::Stored(seq) => {
                            // Handed to the feeder before the caller hears "accepted": journal
                            // order is feed order. A gone feeder leaves it for the next start.
                            let _ = self.feed.send(Fed {
                                seq,
                                update: *waiter.update,
                            });
                            Delivered::Accepted
                        }
                        AppendOutcome::Duplicate => {
                            released += 1;
                            Delivered::Duplicate
                        }
                    };
                    let _ = waiter.reply.send(Ok(answer));
                }
                self.shared.release(released);
                metrics::gauge!("mpbot_journal_depth").set(self.shared.reserved() as f64);
                tracing::trace!(
                    appended = batch.appends.len(),
                    handled = batch.handled.len(),
                    "journal commit"
                );
            }
            Err(error) => {
                self.shared.set_unavailable(true);
                tracing::warn!(
                    location = %self.shared.store.location(),
                    refused = waiting.len(),
                    %error,
                    "journal write failed; refusing updates until it succeeds"
                );
                let mut marks = batch.handled;
                if !batch.appends.is_empty() && !marks.is_empty() {
                    // Marks alone may still fit (they do not grow the file much): commit them so
                    // handled entries can be compacted and space comes back.
                    let retry = WriteBatch::new(Vec::new(), std::mem::take(&mut marks), batch.now);
                    match self.shared.store.commit(&retry) {
                        Ok(_) => self.shared.release(retry.handled.len()),
                        Err(_) => marks = retry.handled,
                    }
                }
                self.marks = marks;
                self.shared.release(waiting.len());
                let reason = error.to_string();
                for waiter in waiting {
                    let _ = waiter.reply.send(Err(Refused::Unavailable(reason.clone())));
                }
                // Failed appends count as no-capacity for a while: wake pollers' waits later.
                self.shared.capacity.notify_waiters();
            }
        }
    }

    fn compact(&mut self) {
        let retention = self.shared.options.retention;
        let before = SystemTime::now()
            .checked_sub(retention)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        match self.shared.store.compact(before) {
            Ok(0) => {}
            Ok(deleted) => tracing::debug!(deleted, "journal compacted"),
            Err(error) => tracing::warn!(%error, "journal compaction failed"),
        }
    }
}
