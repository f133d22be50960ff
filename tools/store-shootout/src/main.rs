//! What one group commit costs in each embedded store we could put behind `JournalStore`.
//!
//! `cargo run --release --manifest-path tools/store-shootout/Cargo.toml -- <dir>`
//!
//! Each store commits the same groups one after another on one thread: 16 appends of the webhook
//! bench's update (117 bytes of JSON, deduplicated by `update_id`) and the handled marks of the
//! previous group, durably (the store's fsync or fdatasync before the commit returns). Printed per
//! store: the commit's latency and the CPU time the committing thread spent on it (the kernel's
//! sync work included; a store's background threads, fjall's, are not). `<dir>` should be on the
//! disk a journal would use; each round's files are deleted when it ends.
//!
//! The stores:
//! - `journal`: mpbot-journal's own `SqliteStore` (schema 2: WAL, `synchronous = FULL`,
//!   `AUTOINCREMENT`, incremental auto-vacuum);
//! - `no-autoinc`, `lean`: the same SQL on a schema without `AUTOINCREMENT`, and without it and
//!   without auto-vacuum (raw rusqlite, same pragmas);
//! - `redb`: redb 2 (copy-on-write B-trees, `Durability::Immediate`);
//! - `fjall`: fjall 2 (an LSM tree; a write batch with `PersistMode::SyncData`);
//! - `log`: no store at all, the floor: each group written with one `pwrite` at the end of a
//!   preallocated file, then one `fdatasync`.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use mpbot_api::UpdateId;
use mpbot_journal::{AppendOutcome, JournalStore, NewEntry, Seq, SqliteStore, WriteBatch};
use redb::ReadableTable;

/// Appends per group: about what the webhook bench's 64 connections make per commit.
const GROUP: u64 = 16;
const COMMITS: usize = 3000;
const ROUNDS: usize = 3;

/// The update the webhook bench posts, as the journal stores it.
fn payload(update_id: u64) -> String {
    format!(
        r#"{{"update_id":{update_id},"message":{{"message_id":{update_id},"date":1700000000,"chat":{{"id":{},"type":"private"}},"text":"hello"}}}}"#,
        update_id % 200 + 1
    )
}

/// One group: its appends (`update_id`, payload), and the marks of the group before (handled
/// since).
struct Group {
    appends: Vec<(u64, String)>,
    handled: std::ops::Range<u64>,
}

/// Every group of a run, encoded before the clock starts: a commit's cost is what is measured.
fn groups() -> Vec<Group> {
    (0..COMMITS as u64)
        .map(|i| {
            let first = 1 + i * GROUP;
            Group {
                appends: (first..first + GROUP).map(|id| (id, payload(id))).collect(),
                handled: if i == 0 { 0..0 } else { first - GROUP..first },
            }
        })
        .collect()
}

/// A store under test: commits one group durably.
trait Contender {
    fn commit(&mut self, group: &Group);
}

/// The CPU time this thread has used.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant Linux supports.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn run(name: &str, mut store: impl Contender) {
    let groups = groups();
    let mut latencies = Vec::with_capacity(COMMITS);
    let cpu = thread_cpu();
    for group in &groups {
        let started = Instant::now();
        store.commit(group);
        latencies.push(started.elapsed().as_secs_f64() * 1e6);
    }
    let cpu = (thread_cpu() - cpu).as_secs_f64() * 1e6 / COMMITS as f64;
    latencies.sort_by(f64::total_cmp);
    let mean = latencies.iter().sum::<f64>() / COMMITS as f64;
    let p50 = latencies[COMMITS / 2];
    let p99 = latencies[COMMITS * 99 / 100];
    println!(
        "{name:<11} latency mean {mean:6.1} µs  p50 {p50:6.1}  p99 {p99:6.1}   CPU {cpu:6.1} µs per commit"
    );
}

/// The journal's own store.
struct Journal(SqliteStore);

impl Contender for Journal {
    fn commit(&mut self, group: &Group) {
        // Owned, as the journal's writer receives them.
        let appends = group
            .appends
            .iter()
            .map(|(id, payload)| NewEntry {
                update_id: UpdateId(*id as i64),
                chat_id: None,
                payload: payload.clone(),
            })
            .collect();
        let handled = group.handled.clone().map(|s| Seq(s as i64)).collect();
        let outcomes = self
            .0
            .commit(&WriteBatch::new(appends, handled, SystemTime::now()))
            .expect("journal commit");
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, AppendOutcome::Stored(_)))
        );
    }
}

/// The journal's SQL on another schema.
struct Sqlite(rusqlite::Connection);

impl Sqlite {
    fn open(path: &Path, autoincrement: bool, auto_vacuum: bool) -> Self {
        let conn = rusqlite::Connection::open(path).expect("open");
        if auto_vacuum {
            conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
                .expect("auto_vacuum");
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .expect("WAL");
        conn.pragma_update(None, "synchronous", "FULL")
            .expect("synchronous");
        let autoincrement = if autoincrement { "AUTOINCREMENT" } else { "" };
        conn.execute_batch(&format!(
            "CREATE TABLE entries (
                seq INTEGER PRIMARY KEY {autoincrement}, update_id INTEGER NOT NULL UNIQUE,
                chat_id INTEGER, stored_at INTEGER NOT NULL, payload TEXT NOT NULL);
             CREATE TABLE handled (seq INTEGER PRIMARY KEY, handled_at INTEGER NOT NULL);"
        ))
        .expect("schema");
        Self(conn)
    }
}

impl Contender for Sqlite {
    fn commit(&mut self, group: &Group) {
        let tx = self
            .0
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .expect("begin");
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO entries (update_id, chat_id, stored_at, payload)
                     VALUES (?1, NULL, 1, ?2) ON CONFLICT (update_id) DO NOTHING",
                )
                .expect("prepare");
            for (id, payload) in &group.appends {
                assert_eq!(
                    insert.execute(rusqlite::params![*id as i64, payload]),
                    Ok(1)
                );
            }
            let mut mark = tx
                .prepare_cached(
                    "INSERT INTO handled (seq, handled_at) VALUES (?1, 1)
                     ON CONFLICT (seq) DO NOTHING",
                )
                .expect("prepare");
            for seq in group.handled.clone() {
                mark.execute([seq as i64]).expect("mark");
            }
        }
        tx.commit().expect("commit");
    }
}

const ENTRIES: redb::TableDefinition<u64, &str> = redb::TableDefinition::new("entries");
const BY_UPDATE_ID: redb::TableDefinition<u64, u64> = redb::TableDefinition::new("by_update_id");
const HANDLED: redb::TableDefinition<u64, u64> = redb::TableDefinition::new("handled");

struct Redb {
    db: redb::Database,
    next_seq: u64,
}

impl Contender for Redb {
    fn commit(&mut self, group: &Group) {
        let tx = self.db.begin_write().expect("begin");
        {
            let mut entries = tx.open_table(ENTRIES).expect("entries");
            let mut by_update_id = tx.open_table(BY_UPDATE_ID).expect("index");
            let mut handled = tx.open_table(HANDLED).expect("handled");
            for (id, payload) in &group.appends {
                if by_update_id.get(id).expect("read").is_none() {
                    by_update_id.insert(id, self.next_seq).expect("index");
                    entries
                        .insert(self.next_seq, payload.as_str())
                        .expect("entry");
                    self.next_seq += 1;
                }
            }
            for seq in group.handled.clone() {
                handled.insert(seq, 1).expect("mark");
            }
        }
        tx.commit().expect("commit");
    }
}

struct Fjall {
    keyspace: fjall::Keyspace,
    entries: fjall::PartitionHandle,
    by_update_id: fjall::PartitionHandle,
    handled: fjall::PartitionHandle,
    next_seq: u64,
}

impl Fjall {
    fn open(path: &Path) -> Self {
        let keyspace = fjall::Config::new(path).open().expect("open");
        let partition = |name| {
            keyspace
                .open_partition(name, fjall::PartitionCreateOptions::default())
                .expect("partition")
        };
        Self {
            entries: partition("entries"),
            by_update_id: partition("by_update_id"),
            handled: partition("handled"),
            keyspace,
            next_seq: 1,
        }
    }
}

impl Contender for Fjall {
    fn commit(&mut self, group: &Group) {
        let mut batch = self
            .keyspace
            .batch()
            .durability(Some(fjall::PersistMode::SyncData));
        for (id, payload) in &group.appends {
            if self
                .by_update_id
                .get(id.to_be_bytes())
                .expect("read")
                .is_none()
            {
                let seq = self.next_seq.to_be_bytes();
                batch.insert(&self.by_update_id, id.to_be_bytes(), seq);
                batch.insert(&self.entries, seq, payload.as_bytes());
                self.next_seq += 1;
            }
        }
        for seq in group.handled.clone() {
            batch.insert(&self.handled, seq.to_be_bytes(), 1u64.to_be_bytes());
        }
        batch.commit().expect("commit");
    }
}

/// The floor: one write and one fdatasync per group.
struct Log {
    file: File,
    end: u64,
    buffer: Vec<u8>,
}

impl Log {
    fn open(path: &Path) -> Self {
        let file = File::options()
            .create_new(true)
            .read(true)
            .write(true)
            .open(path)
            .expect("create");
        // Preallocated, so a sync writes the data, not the file's growing size.
        file.set_len(64 << 20).expect("preallocate");
        file.sync_all().expect("sync");
        Self {
            file,
            end: 0,
            buffer: Vec::new(),
        }
    }
}

impl Contender for Log {
    fn commit(&mut self, group: &Group) {
        self.buffer.clear();
        for (id, payload) in &group.appends {
            self.buffer.extend_from_slice(&id.to_le_bytes());
            self.buffer
                .extend_from_slice(&(payload.len() as u32).to_le_bytes());
            self.buffer.extend_from_slice(payload.as_bytes());
        }
        for seq in group.handled.clone() {
            self.buffer.extend_from_slice(&seq.to_le_bytes());
        }
        self.file
            .write_all_at(&self.buffer, self.end)
            .expect("write");
        self.file.sync_data().expect("fdatasync");
        self.end += self.buffer.len() as u64;
    }
}

fn main() {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: store-shootout <dir on the journal's disk>");
        std::process::exit(2);
    };
    println!(
        "{COMMITS} group commits of {GROUP} appends and {GROUP} marks per store, {ROUNDS} rounds"
    );
    for round in 1..=ROUNDS {
        println!("round {round}");
        let dir = dir.join(format!("store-shootout-{}-{round}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the directory");
        run(
            "journal",
            Journal(SqliteStore::open(dir.join("journal.sqlite3"), 1 << 30).expect("open")),
        );
        run(
            "no-autoinc",
            Sqlite::open(&dir.join("no-autoinc.sqlite3"), false, true),
        );
        run(
            "lean",
            Sqlite::open(&dir.join("lean.sqlite3"), false, false),
        );
        run(
            "redb",
            Redb {
                db: redb::Database::create(dir.join("journal.redb")).expect("open"),
                next_seq: 1,
            },
        );
        run("fjall", Fjall::open(&dir.join("fjall")));
        run("log", Log::open(&dir.join("journal.log")));
        std::fs::remove_dir_all(&dir).expect("delete the round's files");
    }
}
