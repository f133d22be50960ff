//! mpbot's durable update journal: what makes `ack = "stored"` real.
//!
//! MPChat consumes a `getUpdates` batch the moment it answers, and asks that a webhook update
//! be persisted before the 200. With this crate, a source's [`deliver`](mpbot_core::Deliver)
//! resolves only once the update is durably on disk; the handlers run from the journal; an
//! entry is marked handled after its handlers finished; on start, what was not handled is
//! replayed (per-chat order kept) before anything new; `update_id` dedup persists across
//! restarts for the retention period; handled entries are compacted after it.
//!
//! ```text
//! source ──deliver──▶ JournalSink ──group commit──▶ JournalStore (SQLite WAL, fsync)
//!  (poller/webhook)       │ Accepted once durable           │
//!                         ▼                                  ▼ unhandled entries, in order
//!                      writer thread ──────────────▶ JournalSource ──▶ Dispatcher (ack handled)
//!                                      handled marks ◀──────────┘        ──▶ handlers
//! ```
//!
//! # Why SQLite (the store rationale)
//!
//! The embedded default is SQLite in WAL mode through `rusqlite` with its `bundled` feature:
//! - **Proven durability.** SQLite's atomic commit and recovery are among the most tested code
//!   in existence (its test suite injects crashes, I/O errors and power loss at every write);
//!   a journal whose whole job is surviving crashes should not rely on a younger engine.
//! - **Precise guarantee.** In WAL mode with `synchronous = FULL`, a commit returns after the
//!   log was fsynced, so "accepted" means "survives a power cut", not only a process crash.
//! - **Group commit fits.** One writer thread commits many appends in one transaction: one
//!   WAL append and one fsync for a whole batch of concurrent requests.
//! - **Operable.** One file (plus `-wal`/`-shm`) that the `sqlite3` tool, backups and
//!   `mpbot journal` can open read-only while the bot runs; an `application_id` and
//!   `PRAGMA quick_check` at open tell a damaged or foreign file apart from a journal, so it is
//!   never reset silently.
//! - **Bounded.** `max_page_count` caps the file (the same `SQLITE_FULL` path as a full disk,
//!   which makes the full-disk behaviour testable for real), `auto_vacuum = INCREMENTAL`
//!   returns compacted space, `journal_size_limit` truncates the log.
//! - **No system dependency.** `bundled` compiles SQLite into the binary (a C compiler is
//!   needed at build time, as for `ring`), so a fresh machine needs no `libsqlite3`.
//!
//! Pure-Rust alternatives (`redb`, `sled`, `fjall`) were weighed: `sled` is unmaintained
//! beta, `fjall` is an LSM tree tuned for write volume we do not have, and `redb` is sound
//! but younger and offers no external tooling to inspect a journal on a server. The
//! [`JournalStore`] trait keeps the choice open: a server-backed store plugs in through
//! [`Journal::with_store`] without touching sources or the dispatcher.
//!
//! # Wiring
//!
//! [`Journal::open`] → [`Journal::start`] gives a [`JournalSink`] and a [`JournalSource`].
//! The real source runs with [`JournalSink::for_source`]; the dispatcher runs the
//! [`JournalSource`] as its source, with the `handled` ack policy (so its deliveries resolve
//! once the handlers finished, which is when the entry is marked handled). The `stored` policy
//! is the journal's; the dispatcher behind it never sees `stored`.
//!
//! # Guarantees, precisely
//! - Webhook: an update answered 200 was in the journal's fsynced log first; after any crash
//!   it is handled at least once.
//! - Polling: the poller asks for the next batch only once the previous batch is in the
//!   fsynced log (the polling sink's `wait_for_capacity` is that barrier). A batch MPChat
//!   answered but the bot had not committed when it died is lost: MPChat consumed it on
//!   answering, and no client can get it back.
//! - An update is handled a second time only if the crash came between its handlers starting
//!   and its handled mark being committed (handled marks are group-committed right after the
//!   handlers finish). Handlers that must be exactly-once use the `update_id` as their
//!   idempotency key.
//! - Dedup: a second delivery of an `update_id` still in the journal (unhandled, or handled
//!   within the retention) is [`Delivered::Duplicate`](mpbot_core::Delivered::Duplicate).
//! - The sink refuses (never drops) when the journal is full, the disk is full, a write fails,
//!   or too many entries are unhandled.

mod entry;
mod error;
mod feeder;
mod journal;
mod options;
mod shared;
mod sink;
mod store;
mod writer;

pub use entry::{
    AppendOutcome, EntryState, ListQuery, NewEntry, Seq, StoreStats, StoredEntry, WriteBatch,
};
pub use error::{Error, Result};
pub use feeder::JournalSource;
pub use journal::Journal;
pub use options::{DATABASE_FILE, JournalOptions, LOCK_FILE};
pub use shared::RETRY_AFTER;
pub use sink::JournalSink;
pub use store::{JournalStore, SqliteStore};
