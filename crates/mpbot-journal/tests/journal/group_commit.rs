//! Concurrent deliveries share one transaction (one fsync); `max_batch = 1` does not.

use std::sync::{Arc, Mutex};

use mpbot_core::{Deliver, Delivered};
use mpbot_journal::{Journal, JournalOptions, JournalSink, JournalStore, SqliteStore};

use crate::common::{GUARD, TestStore, close, fresh_dir, update};

/// Holds the first commit, piles up `waiting` deliveries behind it, then lets commits through;
/// returns the commit count for the whole run.
async fn pile_up(name: &str, max_batch: usize, waiting: i64) -> u64 {
    let dir = fresh_dir(name);
    let (release, hold) = std::sync::mpsc::channel::<()>();
    let (entered_tx, entered) = std::sync::mpsc::channel::<usize>();
    let mut store =
        TestStore::new(SqliteStore::open(dir.join("journal.sqlite3"), 1 << 30).expect("open"));
    store.hold = Some(Arc::new(Mutex::new(hold)));
    store.entered = Some(Mutex::new(entered_tx));
    let store = Arc::new(store);
    let options = JournalOptions::new(&dir).with_max_batch(max_batch);
    let (sink, source) = Journal::with_store(Arc::clone(&store) as _, options)
        .start()
        .expect("start");

    let deliver = |sink: &JournalSink, id: i64| {
        let sink = sink.clone();
        tokio::spawn(async move { sink.deliver(update(id, id % 7)).await })
    };
    let first = deliver(&sink, 0);
    let appends_in_first = tokio::task::spawn_blocking(move || {
        let n = entered.recv().expect("the first commit starts");
        (n, entered)
    });
    let (n, entered) = tokio::time::timeout(GUARD, appends_in_first)
        .await
        .expect("guard")
        .expect("join");
    assert_eq!(n, 1);
    let rest: Vec<_> = (1..=waiting).map(|id| deliver(&sink, id)).collect();
    // Every delivery has queued its append once all hold a slot.
    tokio::time::timeout(GUARD, async {
        while sink.pending() < usize::try_from(waiting + 1).expect("small") {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("all queued");
    // Let every commit through (one permit per possible commit).
    for _ in 0..=waiting {
        release.send(()).expect("store alive");
    }
    assert_eq!(first.await.expect("join"), Ok(Delivered::Accepted));
    for r in rest {
        assert_eq!(r.await.expect("join"), Ok(Delivered::Accepted));
    }
    drop(entered);
    close(source).await;
    store.inner.stats().expect("stats").commits
}

/// 50 deliveries that arrive while a commit is in progress are stored by one more commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deliveries_share_one_commit() {
    let commits = pile_up("group", 1024, 50).await;
    // The held first commit, one for the 50 waiting, none for the close (no marks pending).
    assert_eq!(commits, 2);
}

/// With max_batch = 1 (the baseline) every delivery is its own commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_batch_one_commits_each_delivery_alone() {
    let commits = pile_up("single", 1, 50).await;
    assert_eq!(commits, 51);
}

/// The store's commit counter counts transactions, not entries.
#[test]
fn commit_counter_counts_transactions() {
    let dir = fresh_dir("counter");
    let store = SqliteStore::open(dir.join("journal.sqlite3"), 1 << 30).expect("open");
    let batch = mpbot_journal::WriteBatch::new(
        (1..=10)
            .map(|i| mpbot_journal::NewEntry::from_update(&update(i, 1)).expect("encode"))
            .collect(),
        vec![],
        std::time::SystemTime::now(),
    );
    store.commit(&batch).expect("commit");
    let stats = store.stats().expect("stats");
    assert_eq!((stats.commits, stats.appended), (1, 10));
}
