//! The storage seam: what the journal needs from a durable store.

mod sqlite;

use std::fmt;
use std::time::SystemTime;

use mpbot_api::UpdateId;

pub use sqlite::SqliteStore;

use crate::{AppendOutcome, Error, ListQuery, Seq, StoreStats, StoredEntry, WriteBatch};

/// A durable home for journal entries.
///
/// The embedded default is [`SqliteStore`]; a server-backed store (PostgreSQL, a replicated
/// log) implements this trait and is handed to [`Journal::with_store`](crate::Journal::with_store);
/// sources and the sink do not change.
///
/// The methods are synchronous: the journal calls [`commit`](JournalStore::commit) from its one
/// writer thread and the others from a blocking thread, never on an async worker. An
/// implementation may block on I/O (or on a runtime of its own).
///
/// Contract:
/// - [`commit`](JournalStore::commit) is atomic and durable when it returns `Ok`: after a crash
///   (of the process, and of the machine as far as the medium keeps its promises) all of the
///   batch is there, or none of it when it returned `Err`.
/// - `update_id`s are unique among stored entries: the second append of an id is
///   [`AppendOutcome::Duplicate`]. This is the persistent dedup, kept as long as entries are.
/// - [`Seq`]s ascend in append order and are not reused.
/// - [`compact`](JournalStore::compact) removes only handled entries.
pub trait JournalStore: Send + Sync + fmt::Debug + 'static {
    /// Where the store lives (a file path, a server), for logs and errors.
    fn location(&self) -> String;

    /// Appends `batch.appends` and marks `batch.handled` in one durable transaction.
    ///
    /// Returns one outcome per append, in order.
    ///
    /// # Errors
    /// [`Error::Full`] when the store reached its bound or the disk is full; another error when
    /// the write failed. Nothing of the batch is stored then.
    fn commit(&self, batch: &WriteBatch) -> Result<Vec<AppendOutcome>, Error>;

    /// Up to `limit` unhandled entries after `after` (all when `None`), in [`Seq`] order.
    ///
    /// # Errors
    /// A read failure.
    fn load_unhandled(&self, after: Option<Seq>, limit: usize) -> Result<Vec<StoredEntry>, Error>;

    /// Whether an entry with this `update_id` is stored (the persistent seen-ids).
    ///
    /// # Errors
    /// A read failure.
    fn contains(&self, update_id: UpdateId) -> Result<bool, Error>;

    /// Deletes handled entries whose handlers finished before `handled_before`, and gives their
    /// space back where the store can. Returns how many were deleted.
    ///
    /// # Errors
    /// A write failure.
    fn compact(&self, handled_before: SystemTime) -> Result<u64, Error>;

    /// Marks handled entries with these `update_id`s unhandled again, so the next start
    /// replays them (`mpbot journal replay`). Returns how many changed.
    ///
    /// # Errors
    /// A write failure, or [`Error::ReadOnly`].
    fn requeue(&self, update_ids: &[UpdateId]) -> Result<u64, Error>;

    /// Entries matching `query`, in [`Seq`] order.
    ///
    /// # Errors
    /// A read failure.
    fn list(&self, query: &ListQuery) -> Result<Vec<StoredEntry>, Error>;

    /// Counts and counters.
    ///
    /// # Errors
    /// A read failure.
    fn stats(&self) -> Result<StoreStats, Error>;
}
