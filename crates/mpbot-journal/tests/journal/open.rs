//! Opening: damaged and foreign files are clear errors and left untouched; one process only.

use mpbot_journal::{DATABASE_FILE, EntryState, Error, Journal, JournalOptions, ListQuery};

use crate::common::{close, fresh_dir};

/// A file that is not SQLite is a startup error naming the file and the way out; unchanged.
#[test]
fn garbage_file_is_a_corrupt_error_naming_the_file_and_left_untouched() {
    let dir = fresh_dir("garbage");
    let file = dir.join(DATABASE_FILE);
    let garbage = b"this is not a database, it is a shopping list\n".repeat(200);
    std::fs::write(&file, &garbage).expect("write");

    let error = Journal::open(JournalOptions::new(&dir)).expect_err("must not open");
    assert!(error.is_corrupt(), "{error:?}");
    let text = error.to_string();
    assert!(text.contains(&file.display().to_string()), "{text}");
    assert!(text.contains("move it aside"), "{text}");
    assert!(text.contains("mpbot journal"), "{text}");
    assert_eq!(std::fs::read(&file).expect("read"), garbage, "never reset");
}

/// An SQLite database that is not an mpbot journal is refused, not adopted.
#[test]
fn foreign_sqlite_database_is_refused() {
    let dir = fresh_dir("foreign");
    let file = dir.join(DATABASE_FILE);
    {
        let conn = rusqlite::Connection::open(&file).expect("create");
        conn.execute_batch(
            "CREATE TABLE recipes (name TEXT); INSERT INTO recipes VALUES ('soup');",
        )
        .expect("fill");
    }
    let error = Journal::open(JournalOptions::new(&dir)).expect_err("must not open");
    assert!(error.is_corrupt(), "{error:?}");
    assert!(
        error.to_string().contains("not an mpbot journal"),
        "{error}"
    );
}

/// A journal whose pages were damaged on disk fails the integrity check at open.
#[tokio::test]
async fn damaged_journal_fails_the_integrity_check() {
    let dir = fresh_dir("damaged");
    let journal = Journal::open(JournalOptions::new(&dir)).expect("open");
    let (sink, source) = journal.start().expect("start");
    for i in 0..300 {
        let big = crate::common::update(i, i % 5);
        mpbot_core::Deliver::deliver(&sink, big)
            .await
            .expect("stored");
    }
    close(source).await;
    drop(sink);
    // Checkpoint the WAL into the file so the damage hits real pages.
    {
        let conn = rusqlite::Connection::open(dir.join(DATABASE_FILE)).expect("open");
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .expect("checkpoint");
    }
    let file = dir.join(DATABASE_FILE);
    let mut bytes = std::fs::read(&file).expect("read");
    assert!(bytes.len() > 4 * 4096, "several pages");
    for b in &mut bytes[2 * 4096 + 100..4 * 4096] {
        *b = 0xA5;
    }
    std::fs::write(&file, &bytes).expect("damage");

    let error = Journal::open(JournalOptions::new(&dir)).expect_err("must not open");
    assert!(error.is_corrupt(), "{error:?}");
    assert!(error.to_string().contains(&file.display().to_string()));
}

/// A second open of a journal in use is refused: two bots would handle everything twice.
#[tokio::test]
async fn second_open_while_in_use_is_locked_and_free_after_close() {
    let dir = fresh_dir("locked");
    let journal = Journal::open(JournalOptions::new(&dir)).expect("open");
    let (sink, source) = journal.start().expect("start");
    let error = Journal::open(JournalOptions::new(&dir)).expect_err("locked");
    assert!(matches!(error, Error::Locked { .. }), "{error:?}");
    // Inspection does not need the lock.
    let inspected = Journal::inspect(&dir).expect("inspect");
    assert_eq!(inspected.stats().expect("stats").entries, 0);
    assert!(matches!(inspected.requeue(&[]), Err(Error::ReadOnly)));

    close(source).await;
    drop(sink);
    Journal::open(JournalOptions::new(&dir)).expect("free after close");
}

/// Inspecting a directory without a journal is an open error, and creates nothing.
#[test]
fn inspecting_a_missing_journal_fails_without_creating_it() {
    let dir = fresh_dir("missing");
    let error = Journal::inspect(&dir).expect_err("nothing there");
    assert!(matches!(error, Error::Open { .. }), "{error:?}");
    assert!(!dir.join(DATABASE_FILE).exists());
}

/// A journal written by schema 1 (marks kept in `entries`) is upgraded at open, keeping every
/// entry and which of them were handled; inspection before the upgrade says what to do.
#[test]
fn schema_1_journal_is_upgraded_at_open_keeping_entries_and_marks() {
    let dir = fresh_dir("schema1");
    let file = dir.join(DATABASE_FILE);
    {
        let conn = rusqlite::Connection::open(&file).expect("create");
        conn.execute_batch(
            r#"PRAGMA auto_vacuum = INCREMENTAL;
            PRAGMA journal_mode = WAL;
            BEGIN;
            PRAGMA application_id = 1836081770; -- "mpbj"
            PRAGMA user_version = 1;
            CREATE TABLE entries (
                seq        INTEGER PRIMARY KEY AUTOINCREMENT,
                update_id  INTEGER NOT NULL UNIQUE,
                chat_id    INTEGER,
                stored_at  INTEGER NOT NULL,
                handled_at INTEGER,
                payload    TEXT NOT NULL
            );
            CREATE INDEX entries_unhandled ON entries (seq) WHERE handled_at IS NULL;
            CREATE INDEX entries_handled_at ON entries (handled_at) WHERE handled_at IS NOT NULL;
            INSERT INTO entries (update_id, chat_id, stored_at, handled_at, payload) VALUES
                (10, 1, 1700000000000, 1700000001000, '{"update_id":10}'),
                (11, 1, 1700000002000, NULL, '{"update_id":11}');
            COMMIT;"#,
        )
        .expect("schema 1");
    }
    let error = Journal::inspect(&dir).expect_err("read-only cannot upgrade");
    assert!(error.to_string().contains("schema 1"), "{error}");
    assert!(error.to_string().contains("start the bot once"), "{error}");

    let journal = Journal::open(JournalOptions::new(&dir)).expect("upgrades");
    let entries = journal.list(&ListQuery::new()).expect("list");
    let states: Vec<_> = entries
        .iter()
        .map(|e| (e.update_id.get(), e.state(), e.handled_at.is_some()))
        .collect();
    assert_eq!(
        states,
        vec![
            (10, EntryState::Handled, true),
            (11, EntryState::Unhandled, false)
        ]
    );
    let stats = journal.stats().expect("stats");
    assert_eq!((stats.entries, stats.unhandled), (2, 1));
    drop(journal);
    let version: i64 = rusqlite::Connection::open(&file)
        .expect("open")
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, 2);
}
