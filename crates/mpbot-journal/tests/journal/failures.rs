//! A full disk or a failing store makes the sink refuse, never drop; it recovers by itself.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use mpbot_core::{Deliver, Delivered, Refused};
use mpbot_journal::{Journal, JournalOptions, JournalStore, ListQuery, SqliteStore};

use crate::common::{TestStore, close, fresh_dir, started, update};

/// A store whose writes fail (a full disk) makes deliver refuse as unavailable, reports no
/// capacity so a poller pauses, and accepts again once writes succeed.
#[tokio::test]
async fn failing_writes_refuse_then_recover() {
    let dir = fresh_dir("failing");
    let store = Arc::new(TestStore::new(
        SqliteStore::open(dir.join("journal.sqlite3"), 1 << 30).expect("open"),
    ));
    let journal = Journal::with_store(Arc::clone(&store) as _, JournalOptions::new(&dir));
    let (sink, source) = journal.start().expect("start");
    assert_eq!(sink.deliver(update(1, 1)).await, Ok(Delivered::Accepted));

    store.fail.store(true, Ordering::SeqCst);
    let refused = sink.deliver(update(2, 1)).await;
    let Err(Refused::Unavailable(reason)) = refused else {
        panic!("expected unavailable, got {refused:?}");
    };
    assert!(reason.contains("no space left"), "{reason}");
    assert_eq!(sink.free_capacity(), 0, "a poller pauses");
    assert_eq!(sink.pending(), 1, "the refused update holds no slot");

    store.fail.store(false, Ordering::SeqCst);
    assert_eq!(sink.deliver(update(2, 1)).await, Ok(Delivered::Accepted));
    assert!(sink.free_capacity() > 0);
    let ids: Vec<i64> = store
        .inner
        .list(&ListQuery::new())
        .map(|l| l.iter().map(|e| e.update_id.get()).collect())
        .expect("list");
    assert_eq!(ids, vec![1, 2]);
    close(source).await;
}

/// With the database at its size bound (SQLite's real SQLITE_FULL), deliver refuses; every
/// update that was accepted is in the file.
#[tokio::test]
async fn size_bound_refuses_and_keeps_every_accepted_update() {
    let dir = fresh_dir("full");
    let options = JournalOptions::new(&dir).with_max_bytes(128 * 1024);
    let (sink, source) = started(options);
    let mut accepted = Vec::new();
    let mut refusal = None;
    for id in 1..10_000 {
        let mut big = update(id, id % 3);
        if let Some(message) = big.message.as_mut() {
            message.text = Some("x".repeat(2000));
        }
        match sink.deliver(big).await {
            Ok(Delivered::Accepted) => accepted.push(id),
            Ok(other) => panic!("unexpected {other:?}"),
            Err(refused) => {
                refusal = Some(refused);
                break;
            }
        }
    }
    let refused = refusal.expect("the bound is reached");
    assert!(
        matches!(&refused, Refused::Unavailable(reason) if reason.contains("full")),
        "{refused:?}"
    );
    assert!(accepted.len() > 10, "some fit: {}", accepted.len());
    let stats = sink.stats().await.expect("stats");
    assert_eq!(stats.unhandled, accepted.len() as u64);
    close(source).await;
    let stored: Vec<i64> = Journal::inspect(&dir)
        .expect("inspect")
        .list(&ListQuery::new().limit(100_000))
        .expect("list")
        .iter()
        .map(|e| e.update_id.get())
        .collect();
    assert_eq!(stored, accepted, "nothing accepted was dropped");
}

/// Beyond max_pending unhandled entries the sink refuses as overloaded, but still answers a
/// redelivery of a stored update as a duplicate.
#[tokio::test]
async fn pending_bound_refuses_overloaded_but_recognizes_duplicates() {
    let dir = fresh_dir("pending");
    let options = JournalOptions::new(&dir).with_max_pending(3);
    let (sink, source) = started(options);
    for id in 1..=3 {
        assert_eq!(sink.deliver(update(id, 1)).await, Ok(Delivered::Accepted));
    }
    assert_eq!(sink.free_capacity(), 0);
    assert_eq!(sink.deliver(update(4, 1)).await, Err(Refused::Overloaded));
    assert_eq!(sink.deliver(update(2, 1)).await, Ok(Delivered::Duplicate));
    close(source).await;
}

/// The sink for a polling source never refuses a failed write (MPChat already consumed the
/// update): it holds the update, and `wait_for_capacity` (awaited before the next getUpdates)
/// returns only once a retry stored it.
#[tokio::test]
async fn polling_sink_holds_and_retries_instead_of_refusing() {
    let dir = fresh_dir("patient");
    let (entered_tx, entered) = std::sync::mpsc::channel::<usize>();
    let mut store =
        TestStore::new(SqliteStore::open(dir.join("journal.sqlite3"), 1 << 30).expect("open"));
    store.entered = Some(std::sync::Mutex::new(entered_tx));
    store.fail.store(true, Ordering::SeqCst);
    let store = Arc::new(store);
    let journal = Journal::with_store(Arc::clone(&store) as _, JournalOptions::new(&dir));
    let (sink, source) = journal.start().expect("start");
    let polling = sink.for_source(&mpbot_core::SourceInfo::new("polling", false));
    assert_eq!(
        polling.deliver(update(1, 1)).await,
        Ok(Delivered::Accepted),
        "queued"
    );
    let barrier = {
        let polling = polling.clone();
        tokio::spawn(async move { polling.wait_for_capacity().await })
    };

    // The first attempt failed; the barrier still holds.
    let attempts = tokio::task::spawn_blocking(move || {
        let n = entered.recv().expect("a commit was attempted");
        (n, entered)
    });
    let (n, _entered) = tokio::time::timeout(crate::common::GUARD, attempts)
        .await
        .expect("guard")
        .expect("join");
    assert_eq!(n, 1);
    assert!(!barrier.is_finished());
    assert!(!store.inner.contains(mpbot_api::UpdateId(1)).expect("read"));
    store.fail.store(false, Ordering::SeqCst);
    tokio::time::timeout(crate::common::GUARD, barrier)
        .await
        .expect("guard")
        .expect("join");
    assert!(store.inner.contains(mpbot_api::UpdateId(1)).expect("read"));
    close(source).await;
}

/// A polled batch shares one commit: `deliver` queues, the barrier commits them together.
#[tokio::test]
async fn polling_sink_commits_a_batch_once() {
    let dir = fresh_dir("patient-batch");
    let (sink, source) = started(JournalOptions::new(&dir));
    let polling = sink.for_source(&mpbot_core::SourceInfo::new("polling", false));
    for id in 1..=50 {
        assert_eq!(
            polling.deliver(update(id, id % 3)).await,
            Ok(Delivered::Accepted)
        );
    }
    tokio::time::timeout(crate::common::GUARD, polling.wait_for_capacity())
        .await
        .expect("guard");
    let stats = sink.stats().await.expect("stats");
    assert_eq!(stats.unhandled, 50, "all durable after the barrier");
    assert!(stats.commits < 50, "batched: {} commits", stats.commits);
    close(source).await;
}
