//! How a journal is set up.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The journal's file name inside [`JournalOptions::dir`].
pub const DATABASE_FILE: &str = "journal.sqlite3";
/// The lock file inside [`JournalOptions::dir`] that keeps a second bot out.
pub const LOCK_FILE: &str = "journal.lock";

/// Settings of a [`Journal`](crate::Journal). The facade fills them from `[delivery.journal]`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JournalOptions {
    /// The directory holding the journal (`delivery.journal.path`); created when missing.
    pub dir: PathBuf,
    /// How long handled entries are kept: the window of the persistent dedup
    /// (`delivery.journal.retention_secs`). Default 24 h, MPChat's own retention of updates.
    pub retention: Duration,
    /// How often compaction runs. Default 60 s.
    pub compact_interval: Duration,
    /// Unhandled entries (stored, handlers not finished) beyond which the sink refuses with
    /// [`Refused::Overloaded`](mpbot_core::Refused::Overloaded) (a webhook answers 503, a
    /// poller waits). Bounds the memory the feeder holds. Default 10 000.
    pub max_pending: usize,
    /// The database's size bound in bytes; beyond it the sink refuses with
    /// [`Refused::Unavailable`](mpbot_core::Refused::Unavailable) until compaction frees
    /// space. Default 1 GiB.
    pub max_bytes: u64,
    /// Most updates one write transaction (one fsync) takes. 1 means one commit per update
    /// (the baseline the group commit is measured against). Default 1024.
    pub max_batch: usize,
    /// Most entries handed to the inner sink at once (set it to the dispatcher's
    /// `max_concurrency`). Entries of one chat are handed over one at a time. Default 64.
    pub max_in_flight: usize,
}

impl JournalOptions {
    /// Defaults, with the journal in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            retention: Duration::from_secs(24 * 60 * 60),
            compact_interval: Duration::from_secs(60),
            max_pending: 10_000,
            max_bytes: 1 << 30,
            max_batch: 1024,
            max_in_flight: 64,
        }
    }

    /// Sets [`JournalOptions::retention`].
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Sets [`JournalOptions::compact_interval`] (at least 1 ms).
    pub fn with_compact_interval(mut self, interval: Duration) -> Self {
        self.compact_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Sets [`JournalOptions::max_pending`] (at least 1).
    pub fn with_max_pending(mut self, max_pending: usize) -> Self {
        self.max_pending = max_pending.max(1);
        self
    }

    /// Sets [`JournalOptions::max_bytes`].
    pub fn with_max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// Sets [`JournalOptions::max_batch`] (at least 1).
    pub fn with_max_batch(mut self, max_batch: usize) -> Self {
        self.max_batch = max_batch.max(1);
        self
    }

    /// Sets [`JournalOptions::max_in_flight`] (at least 1).
    pub fn with_max_in_flight(mut self, max_in_flight: usize) -> Self {
        self.max_in_flight = max_in_flight.max(1);
        self
    }

    /// The database file: `dir/journal.sqlite3`.
    pub fn database_path(&self) -> PathBuf {
        database_path(&self.dir)
    }
}

/// `dir/journal.sqlite3`.
pub(crate) fn database_path(dir: &Path) -> PathBuf {
    dir.join(DATABASE_FILE)
}
