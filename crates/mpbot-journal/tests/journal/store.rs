//! The SQLite store on its own: dedup, handled marks, compaction, requeue, listing.

use std::time::{Duration, SystemTime};

use mpbot_api::UpdateId;
use mpbot_journal::{
    AppendOutcome, EntryState, JournalStore, ListQuery, NewEntry, Seq, SqliteStore, WriteBatch,
};

use crate::common::{TestDir, fresh_dir, update};

fn entry(id: i64, chat: i64) -> NewEntry {
    NewEntry::from_update(&update(id, chat)).expect("encode")
}

/// The store, and its directory (deleted when the test passes).
fn open(name: &str) -> (TestDir, SqliteStore) {
    let dir = fresh_dir(name);
    let store = SqliteStore::open(dir.join("journal.sqlite3"), 1 << 30).expect("open");
    (dir, store)
}

/// A second append of an update_id, in a later batch or the same one, is a duplicate.
#[test]
fn appends_dedup_by_update_id_within_and_across_batches() {
    let (_dir, store) = open("dedup");
    let t = SystemTime::now();
    let first = store
        .commit(&WriteBatch::new(
            vec![entry(1, 7), entry(2, 7), entry(1, 7)],
            vec![],
            t,
        ))
        .expect("commit");
    assert!(matches!(first[0], AppendOutcome::Stored(_)));
    assert!(matches!(first[1], AppendOutcome::Stored(_)));
    assert_eq!(first[2], AppendOutcome::Duplicate);
    let second = store
        .commit(&WriteBatch::new(vec![entry(2, 7), entry(3, 8)], vec![], t))
        .expect("commit");
    assert_eq!(second[0], AppendOutcome::Duplicate);
    assert!(matches!(second[1], AppendOutcome::Stored(_)));
    assert!(store.contains(UpdateId(3)).expect("read"));
    assert!(!store.contains(UpdateId(4)).expect("read"));
    let stats = store.stats().expect("stats");
    assert_eq!((stats.entries, stats.appended, stats.duplicates), (3, 3, 2));
    assert_eq!(stats.commits, 2);
}

/// Compaction deletes only handled entries older than the cut-off; their ids are then
/// forgotten by dedup, unhandled entries are kept whatever their age.
#[test]
fn compaction_removes_only_old_handled_entries() {
    let (_dir, store) = open("compact");
    let t0 = SystemTime::now() - Duration::from_secs(3600);
    let seqs: Vec<Seq> = store
        .commit(&WriteBatch::new(
            vec![entry(1, 7), entry(2, 7), entry(3, 8)],
            vec![],
            t0,
        ))
        .expect("append")
        .into_iter()
        .map(|o| match o {
            AppendOutcome::Stored(seq) => seq,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    let t1 = t0 + Duration::from_secs(60);
    store
        .commit(&WriteBatch::new(vec![], vec![seqs[0], seqs[1]], t1))
        .expect("mark");

    assert_eq!(
        store.compact(t1).expect("compact"),
        0,
        "not older than the cut-off"
    );
    assert_eq!(
        store
            .compact(t1 + Duration::from_millis(1))
            .expect("compact"),
        2
    );
    let left = store.list(&ListQuery::new()).expect("list");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].update_id, UpdateId(3));
    assert_eq!(left[0].state(), EntryState::Unhandled);
    let again = store
        .commit(&WriteBatch::new(
            vec![entry(1, 7)],
            vec![],
            SystemTime::now(),
        ))
        .expect("append");
    assert!(
        matches!(again[0], AppendOutcome::Stored(_)),
        "compacted ids are forgotten"
    );
}

/// Unhandled entries load in journal order, paged; requeue makes handled ones unhandled again.
#[test]
fn unhandled_load_in_order_and_requeue_re_drives_handled_entries() {
    let (_dir, store) = open("load");
    let t = SystemTime::now();
    let batch: Vec<NewEntry> = (1..=10).map(|i| entry(100 - i, i % 3)).collect();
    let outcomes = store
        .commit(&WriteBatch::new(batch, vec![], t))
        .expect("append");
    let AppendOutcome::Stored(third) = outcomes[2] else {
        panic!("stored")
    };
    store
        .commit(&WriteBatch::new(vec![], vec![third], t))
        .expect("mark");

    let first_page = store.load_unhandled(None, 4).expect("load");
    let rest = store
        .load_unhandled(Some(first_page[3].seq), 100)
        .expect("load");
    let ids: Vec<i64> = first_page
        .iter()
        .chain(&rest)
        .map(|e| e.update_id.get())
        .collect();
    assert_eq!(
        ids,
        vec![99, 98, 96, 95, 94, 93, 92, 91, 90],
        "journal order, not id order"
    );

    let handled = store
        .list(&ListQuery::new().state(EntryState::Handled))
        .expect("list");
    assert_eq!(handled.len(), 1);
    assert_eq!(handled[0].update_id, UpdateId(97));
    assert!(handled[0].handled_at.is_some());
    assert_eq!(
        store
            .requeue(&[UpdateId(97), UpdateId(12345)])
            .expect("requeue"),
        1
    );
    assert_eq!(store.stats().expect("stats").unhandled, 10);
    let decoded = handled[0].update().expect("decode");
    assert_eq!(decoded, update(97, 0));
}
