//! The one error type of this crate.

use std::path::PathBuf;

use mpbot_api::BoxError;

/// What went wrong opening, writing or reading the journal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The journal file exists but is not a readable mpbot journal (damaged, truncated, or some
    /// other file). Nothing was changed: the file is never reset silently.
    #[error(
        "the journal {} cannot be used: {reason}. It was left untouched. Stop the bot, then \
         either inspect it (`mpbot journal stats`, or the sqlite3 tool) or move it aside together \
         with its -wal and -shm files (`mv {0} {0}.bad`) to start with an empty journal; updates \
         it holds that were not handled yet are then not replayed",
        path.display()
    )]
    Corrupt {
        /// The journal file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Another process holds the journal (a second bot on the same directory).
    #[error(
        "the journal {} is in use by another process (it holds the lock file); stop that bot \
         first: two bots on one journal would handle the same updates twice",
        path.display()
    )]
    Locked {
        /// The journal directory.
        path: PathBuf,
    },
    /// The journal could not be created or opened (permissions, a missing parent, an I/O error).
    #[error("cannot open the journal {}: {source}", path.display())]
    Open {
        /// The file or directory that failed.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// The journal reached its size bound, or the disk is full: nothing more can be stored
    /// until handled entries are compacted or space is freed.
    #[error("the journal is full: {detail}")]
    Full {
        /// What the store reported.
        detail: String,
    },
    /// A write or read failed for another reason (an I/O error, a store server that is down).
    #[error("the journal store failed: {source}")]
    Store {
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// A stored update could not be decoded (written by an incompatible version, or damaged).
    #[error("journal entry for update {update_id} holds an unreadable update: {source}")]
    Payload {
        /// The entry's update id.
        update_id: i64,
        /// The decoding error.
        #[source]
        source: BoxError,
    },
    /// The journal was opened for inspection only; it cannot be written or started.
    #[error("the journal was opened read-only (for inspection)")]
    ReadOnly,
    /// The journal's writer has stopped.
    #[error("the journal is closed")]
    Closed,
}

impl Error {
    /// Wraps a store's own error (for implementors of [`JournalStore`](crate::JournalStore)).
    pub fn store(source: impl Into<BoxError>) -> Self {
        Self::Store {
            source: source.into(),
        }
    }

    /// The journal is full (size bound or disk): compaction or freeing space helps.
    pub fn is_full(&self) -> bool {
        matches!(self, Self::Full { .. })
    }

    /// The journal file is damaged or foreign: an operator must act, retrying will not help.
    pub fn is_corrupt(&self) -> bool {
        matches!(self, Self::Corrupt { .. })
    }

    /// The same operation may succeed later (full disk, transient I/O or server error).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Full { .. } | Self::Store { .. })
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
