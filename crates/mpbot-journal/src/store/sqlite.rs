//! The embedded default store: one SQLite file in WAL mode.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use mpbot_api::{ChatId, UpdateId};
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::entry::{from_millis, to_millis};
use crate::{
    AppendOutcome, EntryState, Error, JournalStore, ListQuery, NewEntry, Seq, StoreStats,
    StoredEntry, WriteBatch,
};

/// `PRAGMA application_id` of an mpbot journal ("mpbj"): a file without it is not ours.
const APPLICATION_ID: i64 = 0x6d70_626a;
/// `PRAGMA user_version`: the schema this code writes. Version 1 kept `handled_at` in
/// `entries`; [`upgrade`] turns it into this one at open.
const SCHEMA_VERSION: i64 = 2;
/// How long a statement waits for a lock held by another connection (an inspecting CLI).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// The write-ahead log is truncated to this after a checkpoint, so it cannot grow for ever.
const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// Entries are written once and never updated: a handled mark is a row of its own in
/// `handled`. Both tables grow at their right edge (`seq` ascends, and so do MPChat's
/// `update_id`s), so a group commit dirties a few pages, not one per update. (Schema 1 updated
/// the entry in place, which rewrote the row and two partial indexes per mark: about a quarter
/// of the commit's time under the webhook bench.) The price: finding the unhandled entries is
/// a walk over the retained ones and a lookup in `handled` each, paid once per start (replay)
/// and by `mpbot journal` listings, never on the write path.
const SCHEMA: &str = "
CREATE TABLE entries (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    update_id  INTEGER NOT NULL UNIQUE,
    chat_id    INTEGER,
    stored_at  INTEGER NOT NULL,
    payload    TEXT NOT NULL
);
CREATE TABLE handled (
    seq        INTEGER PRIMARY KEY,
    handled_at INTEGER NOT NULL
);
";

/// Schema 1 → 2, in one transaction: the marks move out of `entries` into `handled`.
const UPGRADE_FROM_1: &str = "
BEGIN IMMEDIATE;
CREATE TABLE handled (
    seq        INTEGER PRIMARY KEY,
    handled_at INTEGER NOT NULL
);
INSERT INTO handled (seq, handled_at)
    SELECT seq, handled_at FROM entries WHERE handled_at IS NOT NULL;
DROP INDEX entries_unhandled;
DROP INDEX entries_handled_at;
ALTER TABLE entries DROP COLUMN handled_at;
PRAGMA user_version = 2;
COMMIT;
";

/// Entries with their marks (`h.seq IS NULL`: unhandled), as every read sees them.
const ENTRIES_WITH_MARKS: &str = "entries e LEFT JOIN handled h ON h.seq = e.seq";

/// The columns [`row`] reads, from [`ENTRIES_WITH_MARKS`].
const ENTRY_COLUMNS: &str = "e.seq, e.update_id, e.chat_id, e.stored_at, h.handled_at, e.payload";

/// The embedded journal store: a single SQLite database file (bundled SQLite, no system
/// library) in WAL mode with `synchronous = FULL`.
///
/// Durability: a [`commit`](JournalStore::commit) returns after SQLite wrote the transaction to
/// the write-ahead log and fsynced it (`synchronous = FULL` syncs the WAL at every commit in
/// WAL mode), so what it reported as stored survives a crash of the process and of the machine.
/// Checkpoints copy the log into the database file later and are themselves synced.
///
/// Bounds: `max_bytes` becomes `PRAGMA max_page_count`, so the database refuses to grow past
/// it with `SQLITE_FULL`, the same error a full disk gives; both surface as [`Error::Full`].
/// Compaction gives pages back (`auto_vacuum = INCREMENTAL`) and the WAL is truncated after
/// checkpoints.
///
/// Opening checks the file before anything is written: a file that is not SQLite, an SQLite
/// file that is not an mpbot journal, or one that fails `PRAGMA quick_check` is
/// [`Error::Corrupt`] and left untouched.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    conn: Mutex<Connection>,
    read_only: bool,
    commits: AtomicU64,
    appended: AtomicU64,
    duplicates: AtomicU64,
}

impl SqliteStore {
    /// Opens (creating it when missing) the journal database at `path`, bounded to about
    /// `max_bytes`.
    ///
    /// # Errors
    /// [`Error::Corrupt`] for a damaged or foreign file, [`Error::Open`] when it cannot be
    /// opened or created.
    pub fn open(path: impl AsRef<Path>, max_bytes: u64) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags).map_err(|e| open_error(&path, e))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| open_error(&path, e))?;
        match check_identity(&conn, &path)? {
            Identity::Fresh => initialize(&conn).map_err(|e| open_error(&path, e))?,
            Identity::Journal(version) => {
                quick_check(&conn, &path)?;
                if version < SCHEMA_VERSION {
                    upgrade(&conn, version).map_err(|e| open_error(&path, e))?;
                }
            }
        }
        configure(&conn, &path, max_bytes)?;
        Ok(Self::with_connection(path, conn, false))
    }

    /// Opens an existing journal database read-only, for inspection while a bot may run.
    ///
    /// # Errors
    /// As [`SqliteStore::open`]; a missing file is [`Error::Open`].
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags).map_err(|e| open_error(&path, e))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| open_error(&path, e))?;
        match check_identity(&conn, &path)? {
            Identity::Fresh => {
                return Err(Error::Corrupt {
                    path,
                    reason: "the file is empty, not a journal".to_owned(),
                });
            }
            // Read-only cannot upgrade; the bot's next start does.
            Identity::Journal(version) if version < SCHEMA_VERSION => {
                return Err(Error::Open {
                    path,
                    source: format!(
                        "the journal has schema {version}, written by an older mpbot; start the \
                         bot once (it upgrades the file) and inspect it again"
                    )
                    .into(),
                });
            }
            Identity::Journal(_) => {}
        }
        quick_check(&conn, &path)?;
        Ok(Self::with_connection(path, conn, true))
    }

    fn with_connection(path: PathBuf, conn: Connection, read_only: bool) -> Self {
        Self {
            path,
            conn: Mutex::new(conn),
            read_only,
            commits: AtomicU64::new(0),
            appended: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite itself consistent (an open transaction
        // is rolled back when its guard drops), so a poisoned lock is still usable.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn writable(&self) -> Result<(), Error> {
        if self.read_only {
            Err(Error::ReadOnly)
        } else {
            Ok(())
        }
    }
}

impl JournalStore for SqliteStore {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn commit(&self, batch: &WriteBatch) -> Result<Vec<AppendOutcome>, Error> {
        self.writable()?;
        let now = to_millis(batch.now);
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(classify)?;
        let mut outcomes = Vec::with_capacity(batch.appends.len());
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO entries (update_id, chat_id, stored_at, payload)
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (update_id) DO NOTHING",
                )
                .map_err(classify)?;
            for entry in &batch.appends {
                let changed = insert
                    .execute(params![
                        entry.update_id.get(),
                        entry.chat_id.map(ChatId::get),
                        now,
                        entry.payload
                    ])
                    .map_err(classify)?;
                outcomes.push(if changed == 1 {
                    AppendOutcome::Stored(Seq(tx.last_insert_rowid()))
                } else {
                    AppendOutcome::Duplicate
                });
            }
            let mut mark = tx
                .prepare_cached(
                    "INSERT INTO handled (seq, handled_at) VALUES (?1, ?2)
                     ON CONFLICT (seq) DO NOTHING",
                )
                .map_err(classify)?;
            for seq in &batch.handled {
                mark.execute(params![seq.0, now]).map_err(classify)?;
            }
        }
        tx.commit().map_err(classify)?;
        let stored = outcomes
            .iter()
            .filter(|o| matches!(o, AppendOutcome::Stored(_)))
            .count() as u64;
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.appended.fetch_add(stored, Ordering::Relaxed);
        self.duplicates
            .fetch_add(outcomes.len() as u64 - stored, Ordering::Relaxed);
        Ok(outcomes)
    }

    fn load_unhandled(&self, after: Option<Seq>, limit: usize) -> Result<Vec<StoredEntry>, Error> {
        self.list(&ListQuery {
            state: Some(EntryState::Unhandled),
            after,
            limit,
        })
    }

    fn contains(&self, update_id: UpdateId) -> Result<bool, Error> {
        let conn = self.conn();
        conn.query_row(
            "SELECT 1 FROM entries WHERE update_id = ?1",
            [update_id.get()],
            |_| Ok(()),
        )
        .optional()
        .map(|found| found.is_some())
        .map_err(classify)
    }

    fn compact(&self, handled_before: SystemTime) -> Result<u64, Error> {
        self.writable()?;
        let mut conn = self.conn();
        let before = to_millis(handled_before);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(classify)?;
        let deleted = tx
            .execute(
                "DELETE FROM entries WHERE seq IN
                     (SELECT seq FROM handled WHERE handled_at < ?1)",
                [before],
            )
            .map_err(classify)?;
        tx.execute("DELETE FROM handled WHERE handled_at < ?1", [before])
            .map_err(classify)?;
        tx.commit().map_err(classify)?;
        if deleted > 0 {
            // Give the freed pages back to the file system; without it the file keeps its
            // high-water size (the pages are reused, but the disk space is not returned).
            conn.execute_batch("PRAGMA incremental_vacuum;")
                .map_err(classify)?;
        }
        Ok(deleted as u64)
    }

    fn requeue(&self, update_ids: &[UpdateId]) -> Result<u64, Error> {
        self.writable()?;
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(classify)?;
        let mut changed = 0;
        {
            let mut stmt = tx
                .prepare_cached(
                    "DELETE FROM handled
                     WHERE seq = (SELECT seq FROM entries WHERE update_id = ?1)",
                )
                .map_err(classify)?;
            for id in update_ids {
                changed += stmt.execute([id.get()]).map_err(classify)? as u64;
            }
        }
        tx.commit().map_err(classify)?;
        Ok(changed)
    }

    fn list(&self, query: &ListQuery) -> Result<Vec<StoredEntry>, Error> {
        let conn = self.conn();
        let state = match query.state {
            None => "",
            Some(EntryState::Unhandled) => "AND h.seq IS NULL",
            Some(EntryState::Handled) => "AND h.seq IS NOT NULL",
        };
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM {ENTRIES_WITH_MARKS}
             WHERE e.seq > ?1 {state} ORDER BY e.seq LIMIT ?2"
        );
        let mut stmt = conn.prepare(&sql).map_err(classify)?;
        let rows = stmt
            .query_map(
                params![query.after.map_or(0, |s| s.0), limit_param(query.limit)],
                row,
            )
            .map_err(classify)?;
        rows.collect::<Result<_, _>>().map_err(classify)
    }

    fn stats(&self) -> Result<StoreStats, Error> {
        let conn = self.conn();
        let (entries, unhandled, oldest): (i64, i64, Option<i64>) = conn
            .query_row(
                &format!(
                    "SELECT COUNT(*), COALESCE(SUM(h.seq IS NULL), 0),
                        MIN(CASE WHEN h.seq IS NULL THEN e.stored_at END)
                 FROM {ENTRIES_WITH_MARKS}"
                ),
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(classify)?;
        let db = std::fs::metadata(&self.path).map(|m| m.len()).ok();
        let wal = std::fs::metadata(wal_path(&self.path))
            .map(|m| m.len())
            .unwrap_or(0);
        Ok(StoreStats {
            entries: u64::try_from(entries).unwrap_or(0),
            unhandled: u64::try_from(unhandled).unwrap_or(0),
            oldest_unhandled: oldest.map(from_millis),
            bytes: db.map(|db| db + wal),
            commits: self.commits.load(Ordering::Relaxed),
            appended: self.appended.load(Ordering::Relaxed),
            duplicates: self.duplicates.load(Ordering::Relaxed),
        })
    }
}

/// `<file>-wal`.
fn wal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEntry> {
    let handled_at: Option<i64> = r.get(4)?;
    Ok(StoredEntry::new(
        Seq(r.get(0)?),
        NewEntry {
            update_id: UpdateId(r.get(1)?),
            chat_id: r.get::<_, Option<i64>>(2)?.map(ChatId),
            payload: r.get(5)?,
        },
        from_millis(r.get(3)?),
        handled_at.map(from_millis),
    ))
}

/// What [`check_identity`] found.
enum Identity {
    /// No schema yet: it may be initialized.
    Fresh,
    /// An mpbot journal with this schema version (at most [`SCHEMA_VERSION`]).
    Journal(i64),
}

/// Reads the header before anything is written.
fn check_identity(conn: &Connection, path: &Path) -> Result<Identity, Error> {
    let read = |sql: &str| -> Result<i64, Error> {
        conn.query_row(sql, [], |r| r.get(0))
            .map_err(|e| classify_open(path, e))
    };
    // The first read of the file: a non-SQLite file fails here with SQLITE_NOTADB.
    let objects = read("SELECT COUNT(*) FROM sqlite_schema")?;
    let application_id = read("PRAGMA application_id")?;
    let version = read("PRAGMA user_version")?;
    if objects == 0 && application_id == 0 {
        return Ok(Identity::Fresh);
    }
    if application_id != APPLICATION_ID {
        return Err(Error::Corrupt {
            path: path.to_path_buf(),
            reason: format!(
                "it is an SQLite database but not an mpbot journal (application_id {application_id:#x})"
            ),
        });
    }
    if version > SCHEMA_VERSION {
        return Err(Error::Corrupt {
            path: path.to_path_buf(),
            reason: format!(
                "it was written by a newer mpbot (schema {version}, this version reads up to \
                 {SCHEMA_VERSION}); run that version"
            ),
        });
    }
    Ok(Identity::Journal(version))
}

/// Brings an older journal to [`SCHEMA_VERSION`], keeping every entry and mark.
fn upgrade(conn: &Connection, from: i64) -> rusqlite::Result<()> {
    if from == 1 {
        conn.execute_batch(UPGRADE_FROM_1)?;
        tracing::info!("journal upgraded from schema 1 to 2");
    }
    Ok(())
}

/// `PRAGMA quick_check`: the b-trees and pages are well-formed.
fn quick_check(conn: &Connection, path: &Path) -> Result<(), Error> {
    let mut stmt = conn
        .prepare("PRAGMA quick_check(5)")
        .map_err(|e| classify_open(path, e))?;
    let problems: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| classify_open(path, e))?;
    if problems.len() == 1 && problems[0] == "ok" {
        return Ok(());
    }
    Err(Error::Corrupt {
        path: path.to_path_buf(),
        reason: format!("integrity check failed: {}", problems.join("; ")),
    })
}

/// Creates the schema in a fresh database.
fn initialize(conn: &Connection) -> rusqlite::Result<()> {
    // Must precede the first table: lets compaction return pages to the file system.
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    conn.execute_batch(&format!(
        "BEGIN;
         PRAGMA application_id = {APPLICATION_ID};
         PRAGMA user_version = {SCHEMA_VERSION};
         {SCHEMA}
         COMMIT;"
    ))
}

/// Per-connection settings: WAL, full sync, bounds.
fn configure(conn: &Connection, path: &Path, max_bytes: u64) -> Result<(), Error> {
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(|e| classify_open(path, e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Open {
            path: path.to_path_buf(),
            source: format!("the file system does not support WAL mode (journal_mode is {mode})")
                .into(),
        });
    }
    settings(conn, max_bytes).map_err(|e| classify_open(path, e))
}

/// Full sync and the bounds.
fn settings(conn: &Connection, max_bytes: u64) -> rusqlite::Result<()> {
    // FULL: in WAL mode the log is fsynced at every commit, so a commit that returned is
    // durable across power loss, not only across a process crash (NORMAL would be the latter).
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
    let page_size: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
    let pages = i64::try_from(max_bytes).unwrap_or(i64::MAX) / page_size.max(512);
    // SQLite never sets it below the current size; a smaller bound only stops growth.
    conn.pragma_update(None, "max_page_count", pages.max(16))?;
    Ok(())
}

fn open_error(path: &Path, error: rusqlite::Error) -> Error {
    Error::Open {
        path: path.to_path_buf(),
        source: error.into(),
    }
}

/// At open time: damage is [`Error::Corrupt`], anything else [`Error::Open`].
fn classify_open(path: &Path, error: rusqlite::Error) -> Error {
    match error.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => Error::Corrupt {
            path: path.to_path_buf(),
            reason: "it is not an SQLite database (the header is wrong)".to_owned(),
        },
        Some(ErrorCode::DatabaseCorrupt) => Error::Corrupt {
            path: path.to_path_buf(),
            reason: format!("SQLite reports damage ({error})"),
        },
        _ => open_error(path, error),
    }
}

/// During operation: full is [`Error::Full`], anything else [`Error::Store`].
fn classify(error: rusqlite::Error) -> Error {
    match error.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => Error::Full {
            detail: error.to_string(),
        },
        _ => Error::store(error),
    }
}
