//! What the journal holds, and what a store is asked to write and read.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mpbot_api::{ChatId, Update, UpdateId};

use crate::Error;

/// An entry's position in the journal: ascending in append order, never reused.
///
/// Replay follows it, so per-chat order after a restart is the order updates were accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Seq(pub i64);

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Whether an entry's handlers have finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryState {
    /// Stored, handlers not finished: replayed on the next start.
    Unhandled,
    /// Handlers finished (ok or error); kept for deduplication until the retention passes.
    Handled,
}

impl EntryState {
    /// `"unhandled"` or `"handled"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unhandled => "unhandled",
            Self::Handled => "handled",
        }
    }
}

/// An update to append: its keys and its JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// The dedup key: at most one entry per `update_id` while it is retained.
    pub update_id: UpdateId,
    /// The chat, for listing (order is kept by [`Seq`]).
    pub chat_id: Option<ChatId>,
    /// The update as JSON (what [`StoredEntry::update`] decodes).
    pub payload: String,
}

impl NewEntry {
    /// Encodes `update`.
    ///
    /// # Errors
    /// [`Error::Payload`] when it cannot be encoded as JSON (never for updates that came off
    /// the wire).
    pub fn from_update(update: &Update) -> Result<Self, Error> {
        let payload = serde_json::to_string(update).map_err(|e| Error::Payload {
            update_id: update.update_id.get(),
            source: e.into(),
        })?;
        Ok(Self {
            update_id: update.update_id,
            chat_id: update.chat_id(),
            payload,
        })
    }
}

/// One entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredEntry {
    /// Its position.
    pub seq: Seq,
    /// The update's id.
    pub update_id: UpdateId,
    /// The update's chat, when it has one.
    pub chat_id: Option<ChatId>,
    /// When it was appended.
    pub stored_at: SystemTime,
    /// When its handlers finished; `None` while unhandled.
    pub handled_at: Option<SystemTime>,
    /// The update as JSON.
    pub payload: String,
}

impl StoredEntry {
    /// Builds an entry (for implementors of [`JournalStore`](crate::JournalStore)).
    pub fn new(
        seq: Seq,
        entry: NewEntry,
        stored_at: SystemTime,
        handled_at: Option<SystemTime>,
    ) -> Self {
        Self {
            seq,
            update_id: entry.update_id,
            chat_id: entry.chat_id,
            stored_at,
            handled_at,
            payload: entry.payload,
        }
    }

    /// Handled or not.
    pub fn state(&self) -> EntryState {
        if self.handled_at.is_some() {
            EntryState::Handled
        } else {
            EntryState::Unhandled
        }
    }

    /// Decodes the stored update.
    ///
    /// # Errors
    /// [`Error::Payload`] when the JSON is not an update.
    pub fn update(&self) -> Result<Update, Error> {
        serde_json::from_str(&self.payload).map_err(|e| Error::Payload {
            update_id: self.update_id.get(),
            source: e.into(),
        })
    }
}

/// One write transaction: new entries and handled marks, committed together durably.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteBatch {
    /// Entries to append, in order; a duplicate `update_id` (already stored, or earlier in
    /// this batch) is not stored again.
    pub appends: Vec<NewEntry>,
    /// Entries whose handlers finished.
    pub handled: Vec<Seq>,
    /// The time written as `stored_at` / `handled_at`.
    pub now: SystemTime,
}

impl WriteBatch {
    /// A batch written at `now`.
    pub fn new(appends: Vec<NewEntry>, handled: Vec<Seq>, now: SystemTime) -> Self {
        Self {
            appends,
            handled,
            now,
        }
    }

    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.appends.is_empty() && self.handled.is_empty()
    }
}

/// What became of one appended entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AppendOutcome {
    /// Stored at this position.
    Stored(Seq),
    /// Its `update_id` is already in the journal (or earlier in the batch): not stored again.
    Duplicate,
}

/// Which entries [`JournalStore::list`](crate::JournalStore::list) returns, in [`Seq`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListQuery {
    /// Only entries in this state; `None` for all.
    pub state: Option<EntryState>,
    /// Only entries after this position (paging).
    pub after: Option<Seq>,
    /// At most this many.
    pub limit: usize,
}

impl ListQuery {
    /// All entries, first 100.
    pub fn new() -> Self {
        Self {
            state: None,
            after: None,
            limit: 100,
        }
    }

    /// Only entries in `state`.
    pub fn state(mut self, state: EntryState) -> Self {
        self.state = Some(state);
        self
    }

    /// Only entries after `seq`.
    pub fn after(mut self, seq: Seq) -> Self {
        self.after = Some(seq);
        self
    }

    /// At most `limit` entries.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }
}

impl Default for ListQuery {
    fn default() -> Self {
        Self::new()
    }
}

/// What a store holds and how it has been written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct StoreStats {
    /// Entries stored (handled and not).
    pub entries: u64,
    /// Entries whose handlers have not finished.
    pub unhandled: u64,
    /// When the oldest unhandled entry was stored.
    pub oldest_unhandled: Option<SystemTime>,
    /// Bytes the store occupies, when it knows (database plus write-ahead log).
    pub bytes: Option<u64>,
    /// Write transactions committed by this handle since it was opened (each one durable
    /// commit: one fsync of the write-ahead log for SQLite).
    pub commits: u64,
    /// Entries appended by this handle since it was opened.
    pub appended: u64,
    /// Appends answered as duplicates by this handle since it was opened.
    pub duplicates: u64,
}

impl StoreStats {
    /// Entries handled and retained for deduplication.
    pub fn handled(&self) -> u64 {
        self.entries - self.unhandled
    }
}

/// Milliseconds since the Unix epoch (what the SQLite store writes).
pub(crate) fn to_millis(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

/// The inverse of [`to_millis`].
pub(crate) fn from_millis(millis: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or(0))
}
