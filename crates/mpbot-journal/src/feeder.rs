//! The feeder: hands journaled entries to the handlers and records when they finished.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use mpbot_api::{ChatId, Update};
use mpbot_core::{Refused, Shutdown, SourceInfo, UpdateSink, UpdateSource};
use tokio::sync::mpsc;

use crate::Seq;
use crate::shared::{Fed, Shared};
use crate::writer::Request;

/// How long the feeder waits before handing over again an entry the inner sink refused as
/// unavailable.
const UNAVAILABLE_BACKOFF: Duration = Duration::from_millis(200);

/// The other end of the journal: an [`UpdateSource`] whose updates are the journal's entries.
///
/// Run it as the dispatcher's source (`dispatcher.run(Box::new(journal_source), shutdown)`)
/// while the real source (poller, webhook) delivers into the [`JournalSink`](crate::JournalSink).
/// It first hands over the entries left unhandled by the previous run, in journal order, then
/// each new entry once it is stored. It describes itself as a redelivering source named
/// `"journal"`, so a dispatcher with the `handled` policy resolves each delivery only after the
/// handlers finished; only then is the entry marked handled.
///
/// Order: entries of one chat are handed over one at a time, in journal order, so a chat's
/// updates are handled in the order they were accepted even across a restart. Entries of
/// different chats run in parallel, up to [`max_in_flight`](crate::JournalOptions::max_in_flight).
///
/// On shutdown it stops handing over, waits for the deliveries in progress (the dispatcher
/// drains or refuses them), commits their handled marks, closes the journal (releasing its
/// lock; the [`JournalSink`](crate::JournalSink) then refuses with
/// [`Refused::ShuttingDown`]), and returns. Whatever was not handled is replayed on the next
/// start. Stop the real source first or together (the same shutdown signal).
pub struct JournalSource {
    shared: Arc<Shared>,
    requests: Sender<Request>,
    replay: Vec<Fed>,
    fed: mpsc::UnboundedReceiver<Fed>,
}

impl std::fmt::Debug for JournalSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalSource")
            .field("location", &self.shared.store.location())
            .field("replay", &self.replay.len())
            .finish_non_exhaustive()
    }
}

impl JournalSource {
    /// What it describes itself as: `"journal"`, redelivering.
    pub fn info() -> SourceInfo {
        SourceInfo::new("journal", true)
    }

    pub(crate) fn new(
        shared: Arc<Shared>,
        requests: Sender<Request>,
        replay: Vec<Fed>,
        fed: mpsc::UnboundedReceiver<Fed>,
    ) -> Self {
        Self {
            shared,
            requests,
            replay,
            fed,
        }
    }

    /// How many entries the previous run left unhandled (handed over first).
    pub fn replay_len(&self) -> usize {
        self.replay.len()
    }

    /// Feeds `sink` until `shutdown`: what [`UpdateSource::run`] does, without the box.
    pub async fn feed(mut self, sink: UpdateSink, shutdown: Shutdown) {
        let options = &self.shared.options;
        let max_in_flight = options.max_in_flight;
        let mut schedule = Schedule::default();
        for fed in std::mem::take(&mut self.replay) {
            schedule.push(fed);
        }
        let mut in_flight: FuturesUnordered<BoxFuture<'static, (Key, Seq, Outcome)>> =
            FuturesUnordered::new();
        let mut compact = tokio::time::interval(options.compact_interval);
        compact.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        compact.reset(); // The journal was compacted when it started.
        let mut stopping = false;
        let mut fed_open = true;
        loop {
            stopping |= shutdown.is_requested();
            while !stopping && in_flight.len() < max_in_flight {
                let Some((key, fed)) = schedule.next() else {
                    break;
                };
                let sink = sink.clone();
                let stop = shutdown.clone();
                in_flight.push(Box::pin(async move {
                    let outcome = hand_over(&sink, fed.update, &stop).await;
                    (key, fed.seq, outcome)
                }));
            }
            if stopping && in_flight.is_empty() {
                break;
            }
            tokio::select! {
                Some((key, seq, outcome)) = in_flight.next(), if !in_flight.is_empty() => {
                    match outcome {
                        Outcome::Handled => {
                            let _ = self.requests.send(Request::Handled(seq));
                            schedule.done(key);
                        }
                        // The entry stays unhandled; its chat stays blocked so nothing of it
                        // overtakes it; the next start replays from there.
                        Outcome::Abandoned => stopping = true,
                    }
                }
                fed = self.fed.recv(), if fed_open && !stopping => match fed {
                    Some(fed) => {
                        schedule.push(fed);
                        // A commit hands over a whole batch: take it in one turn of the loop.
                        while let Ok(fed) = self.fed.try_recv() {
                            schedule.push(fed);
                        }
                    }
                    None => fed_open = false,
                },
                _ = compact.tick(), if !stopping => {
                    let _ = self.requests.send(Request::Compact);
                }
                () = shutdown.requested(), if !stopping => stopping = true,
            }
        }
        // Commit the last handled marks and stop the writer; the lock is free once it stopped.
        let _ = self.requests.send(Request::Close);
        self.shared.stopped().await;
        tracing::debug!(left = schedule.len(), "journal feeder stopped");
    }
}

#[async_trait]
impl UpdateSource for JournalSource {
    fn describe(&self) -> SourceInfo {
        Self::info()
    }

    async fn run(self: Box<Self>, sink: UpdateSink, shutdown: Shutdown) -> mpbot_core::Result<()> {
        self.feed(sink, shutdown).await;
        Ok(())
    }
}

/// How handing over one entry ended.
enum Outcome {
    /// The inner sink took it and (with `handled` and a redelivering source) ran it.
    Handled,
    /// Not handed over (shutdown): it stays unhandled.
    Abandoned,
}

/// Delivers one entry, waiting out overload, until it is taken or the feeder stops.
async fn hand_over(sink: &UpdateSink, update: Update, stop: &Shutdown) -> Outcome {
    loop {
        match sink.deliver(update.clone()).await {
            Ok(_) => return Outcome::Handled,
            Err(Refused::ShuttingDown) => return Outcome::Abandoned,
            Err(Refused::Overloaded) => {
                tokio::select! {
                    () = sink.wait_for_capacity() => tokio::task::yield_now().await,
                    () = stop.requested() => return Outcome::Abandoned,
                }
            }
            Err(refused) => {
                tracing::warn!(
                    update_id = update.update_id.get(),
                    %refused,
                    "the dispatcher refused a journaled update; retrying"
                );
                tokio::select! {
                    () = tokio::time::sleep(UNAVAILABLE_BACKOFF) => {}
                    () = stop.requested() => return Outcome::Abandoned,
                }
            }
        }
    }
}

/// What serializes entries: their chat, or nothing (an update without a chat).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Chat(ChatId),
    Solo(Seq),
}

/// Per-chat queues: at most one entry of a chat in flight; chats start in the order they
/// became ready, entries of a chat in journal order.
#[derive(Debug, Default)]
struct Schedule {
    queues: HashMap<Key, VecDeque<Fed>>,
    busy: HashSet<Key>,
    ready: VecDeque<Key>,
}

impl Schedule {
    fn push(&mut self, fed: Fed) {
        let key = fed.update.chat_id().map_or(Key::Solo(fed.seq), Key::Chat);
        let queue = self.queues.entry(key).or_default();
        queue.push_back(fed);
        if queue.len() == 1 && !self.busy.contains(&key) {
            self.ready.push_back(key);
        }
    }

    fn next(&mut self) -> Option<(Key, Fed)> {
        let key = self.ready.pop_front()?;
        let queue = self.queues.get_mut(&key)?;
        let fed = queue.pop_front()?;
        self.busy.insert(key);
        Some((key, fed))
    }

    fn done(&mut self, key: Key) {
        self.busy.remove(&key);
        match self.queues.get(&key) {
            Some(queue) if !queue.is_empty() => self.ready.push_back(key),
            _ => {
                self.queues.remove(&key);
            }
        }
    }

    /// Entries waiting (not in flight).
    fn len(&self) -> usize {
        self.queues.values().map(VecDeque::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use mpbot_api::{Chat, ChatType, Message};

    use super::*;

    fn fed(seq: i64, chat: Option<i64>) -> Fed {
        let update = match chat {
            Some(chat) => Update::with_message(
                seq,
                Message {
                    chat: Chat::new(chat, ChatType::Private),
                    ..Message::default()
                },
            ),
            None => Update {
                update_id: seq.into(),
                ..Update::default()
            },
        };
        Fed {
            seq: Seq(seq),
            update,
        }
    }

    /// A chat's second entry waits until its first is done; other chats are not held up.
    #[test]
    fn one_entry_per_chat_in_flight_in_journal_order() {
        let mut s = Schedule::default();
        for (seq, chat) in [
            (1, Some(7)),
            (2, Some(7)),
            (3, Some(8)),
            (4, None),
            (5, Some(7)),
        ] {
            s.push(fed(seq, chat));
        }
        let started: Vec<i64> = std::iter::from_fn(|| s.next().map(|(_, f)| f.seq.0)).collect();
        assert_eq!(started, vec![1, 3, 4]);
        s.done(Key::Chat(ChatId(7)));
        let (_, next) = s.next().expect("chat 7 is ready again");
        assert_eq!(next.seq, Seq(2));
        assert!(s.next().is_none());
        s.done(Key::Chat(ChatId(7)));
        assert_eq!(s.next().map(|(_, f)| f.seq), Some(Seq(5)));
        assert_eq!(s.len(), 0);
    }
}
