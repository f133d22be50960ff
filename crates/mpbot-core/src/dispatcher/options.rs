//! The dispatcher's options.

use std::time::Duration;

use crate::AckPolicy;

/// How a [`Dispatcher`](crate::Dispatcher) runs: concurrency, bounds, shutdown grace, dedup,
/// ack policy. Every field says its default.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DispatcherOptions {
    /// How many handlers may run at once, across all chats (`runtime.max_concurrency`).
    /// Default 64. At least 1 is used.
    pub max_concurrency: usize,
    /// How many accepted but not yet started updates may wait, in total. Beyond it the sink
    /// refuses updates from a redelivering source (a webhook answers 503) and makes a
    /// non-redelivering one (the poller) wait. It bounds memory when handlers are slower than
    /// arrivals. Default 1024. At least 1 is used.
    pub queue_bound: usize,
    /// How long a graceful shutdown waits for in-flight and queued updates before it stops
    /// them and reports them unfinished (`runtime.shutdown_grace_secs`). Default 10 s.
    pub shutdown_grace: Duration,
    /// How many recent `update_id`s are remembered to drop duplicates (webhook redeliveries).
    /// Default 4096; 0 turns deduplication off.
    pub dedup_window: usize,
    /// When an update counts as delivered (`delivery.ack`). Default [`AckPolicy::Handled`].
    /// [`AckPolicy::Stored`] needs the journal, which is not built yet: under it the sink
    /// refuses every update with [`Refused::Unavailable`](crate::Refused::Unavailable).
    pub ack: AckPolicy,
}

impl Default for DispatcherOptions {
    fn default() -> Self {
        Self {
            max_concurrency: 64,
            queue_bound: 1024,
            shutdown_grace: Duration::from_secs(10),
            dedup_window: 4096,
            ack: AckPolicy::Handled,
        }
    }
}

impl DispatcherOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`DispatcherOptions::max_concurrency`].
    pub fn with_max_concurrency(mut self, max_concurrency: usize) -> Self {
        self.max_concurrency = max_concurrency;
        self
    }

    /// Sets [`DispatcherOptions::queue_bound`].
    pub fn with_queue_bound(mut self, queue_bound: usize) -> Self {
        self.queue_bound = queue_bound;
        self
    }

    /// Sets [`DispatcherOptions::shutdown_grace`].
    pub fn with_shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Sets [`DispatcherOptions::dedup_window`].
    pub fn with_dedup_window(mut self, window: usize) -> Self {
        self.dedup_window = window;
        self
    }

    /// Sets [`DispatcherOptions::ack`].
    pub fn with_ack(mut self, ack: AckPolicy) -> Self {
        self.ack = ack;
        self
    }
}
