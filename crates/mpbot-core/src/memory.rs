//! An in-memory [`UpdateSource`] for tests.

use std::fmt;
use std::future::Future;

use async_trait::async_trait;
use mpbot_api::Update;
use tokio::sync::{mpsc, oneshot};

use crate::{Delivered, Error, Refused, Shutdown, SourceInfo, UpdateSink, UpdateSource};

/// One update pushed by the test, with the channel its verdict goes back on.
struct Push {
    /// The update.
    update: Update,
    /// Where the sink's verdict goes.
    verdict: oneshot::Sender<Result<Delivered, Refused>>,
}

/// An [`UpdateSource`] fed from the test through a [`MemoryHandle`]; it reports each sink
/// verdict back to the pusher, as a webhook's HTTP status or a poller's ack would.
///
/// Created redelivering (behaves like a webhook: each push is delivered on its own task, so
/// pushes run concurrently and the sink may refuse) or not (behaves like a poller: pushes are
/// delivered one after the other in push order, and the sink waits for room instead of
/// refusing). It ends when shutdown is requested or every handle is dropped.
pub struct MemorySource {
    /// What the test pushes.
    pushes: mpsc::Receiver<Box<Push>>,
    /// Name and redelivery behaviour.
    info: SourceInfo,
}

impl fmt::Debug for MemorySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemorySource")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// The test's end of a [`MemorySource`]: push updates, get verdicts. Cheap to clone.
#[derive(Debug, Clone)]
pub struct MemoryHandle {
    /// Feeds the source.
    pushes: mpsc::Sender<Box<Push>>,
}

/// A verdict not yet known: await it with [`PendingVerdict::verdict`].
#[derive(Debug)]
pub struct PendingVerdict {
    /// Where the verdict arrives.
    verdict: oneshot::Receiver<Result<Delivered, Refused>>,
}

impl PendingVerdict {
    /// The sink's verdict. An update the source dropped unseen (it stopped first) counts as
    /// [`Refused::ShuttingDown`], as MPChat would see it.
    ///
    /// # Errors
    /// The sink's [`Refused`].
    pub async fn verdict(self) -> Result<Delivered, Refused> {
        self.verdict.await.unwrap_or(Err(Refused::ShuttingDown))
    }
}

impl MemorySource {
    /// A source named `"memory"` and its handle. `redelivers` picks webhook-like (true) or
    /// poller-like (false) behaviour; see [`SourceInfo::redelivers`].
    pub fn new(redelivers: bool) -> (MemorySource, MemoryHandle) {
        // NB: a small channel; the test side waits for room, which keeps pushes in order.
        let (tx, rx) = mpsc::channel(64);
        (
            MemorySource {
                pushes: rx,
                info: SourceInfo::new("memory", redelivers),
            },
            MemoryHandle { pushes: tx },
        )
    }
}

impl MemoryHandle {
    /// Pushes an update and waits for the sink's verdict.
    ///
    /// # Errors
    /// The sink's [`Refused`]; [`Refused::ShuttingDown`] when the source already stopped.
    pub fn push(
        &self,
        update: Update,
    ) -> impl Future<Output = Result<Delivered, Refused>> + Send + '_ {
        let sent = self.send(update);
        async move { sent.await.verdict().await }
    }

    /// Pushes an update without waiting for the verdict; await the returned value for it.
    /// Pushes are taken by the source in the order they were sent.
    pub fn send(&self, update: Update) -> impl Future<Output = PendingVerdict> + Send + '_ {
        let (tx, rx) = oneshot::channel();
        // NB: boxed before the future exists, so the push is not part of its state.
        let push = Box::new(Push {
            update,
            verdict: tx,
        });
        async move {
            // A closed source drops the push; its verdict then reads as "shutting down".
            let _ = self.pushes.send(push).await;
            PendingVerdict { verdict: rx }
        }
    }
}

#[async_trait]
impl UpdateSource for MemorySource {
    fn describe(&self) -> SourceInfo {
        self.info.clone()
    }

    async fn run(mut self: Box<Self>, sink: UpdateSink, shutdown: Shutdown) -> Result<(), Error> {
        loop {
            let push = tokio::select! {
                biased;
                () = shutdown.requested() => break,
                push = self.pushes.recv() => match push {
                    Some(push) => push,
                    None => break,
                },
            };
            if self.info.redelivers {
                let sink = sink.clone();
                tokio::spawn(async move {
                    let verdict = sink.deliver(push.update).await;
                    let _ = push.verdict.send(verdict);
                });
            } else {
                let verdict = tokio::select! {
                    biased;
                    // A poller stops waiting for room on shutdown; the update is then lost,
                    // which the verdict reports.
                    () = shutdown.requested() => Err(Refused::ShuttingDown),
                    verdict = sink.deliver(push.update) => verdict,
                };
                let _ = push.verdict.send(verdict);
            }
        }
        Ok(())
    }
}
