//! The sink and the feeder across restarts: durable before accepted, replay in order before
//! new updates, persistent dedup, handled marks after the handlers.

use mpbot_api::UpdateId;
use mpbot_core::{Deliver, Delivered, Refused};
use mpbot_journal::{EntryState, Journal, JournalOptions, ListQuery};

use crate::common::{Feeding, Recorder, close, fresh_dir, recv_n, started, update};

/// `deliver` resolves Accepted only once the update can be read back from the file by
/// another connection, with the feeder not even running.
#[tokio::test]
async fn accepted_update_is_in_the_file_when_deliver_returns() {
    let dir = fresh_dir("durable");
    let (sink, source) = started(JournalOptions::new(&dir));
    assert_eq!(sink.deliver(update(41, 7)).await, Ok(Delivered::Accepted));
    let inspected = Journal::inspect(&dir).expect("inspect");
    let entries = inspected.list(&ListQuery::new()).expect("list");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].update_id, UpdateId(41));
    assert_eq!(entries[0].state(), EntryState::Unhandled);
    assert_eq!(entries[0].update().expect("decode"), update(41, 7));
    close(source).await;
}

/// After a restart the unhandled entries are handed over in journal order, before updates
/// delivered after the restart (one at a time: the total order is visible).
#[tokio::test]
async fn restart_replays_unhandled_in_journal_order_before_new_updates() {
    let dir = fresh_dir("replay");
    let options = JournalOptions::new(&dir).with_max_in_flight(1);
    let (sink, source) = started(options.clone());
    // Ids not in journal order on purpose: order is the journal's, not the ids'.
    let first_run = [5, 3, 9, 1, 7, 2];
    for (i, id) in first_run.iter().enumerate() {
        let chat = i64::try_from(i % 2).expect("small");
        assert_eq!(
            sink.deliver(update(*id, chat)).await,
            Ok(Delivered::Accepted)
        );
    }
    close(source).await; // a stop before anything was handled
    assert_eq!(
        sink.deliver(update(99, 0)).await,
        Err(Refused::ShuttingDown),
        "a closed journal refuses"
    );
    drop(sink);

    let (sink, source) = started(options);
    assert_eq!(source.replay_len(), 6);
    // New updates arrive before the feeder even starts.
    assert_eq!(sink.deliver(update(20, 0)).await, Ok(Delivered::Accepted));
    assert_eq!(sink.deliver(update(21, 1)).await, Ok(Delivered::Accepted));
    let (recorder, mut seen) = Recorder::open();
    let feeding = Feeding::start(source, recorder.sink());
    assert_eq!(recv_n(&mut seen, 8).await, vec![5, 3, 9, 1, 7, 2, 20, 21]);
    feeding.stop().await;
    let stats = Journal::inspect(&dir)
        .expect("inspect")
        .stats()
        .expect("stats");
    assert_eq!((stats.entries, stats.unhandled), (8, 0));
}

/// With many chats in parallel, each chat's updates still reach the handlers in journal order.
#[tokio::test]
async fn per_chat_order_holds_with_concurrency() {
    let dir = fresh_dir("per-chat");
    let options = JournalOptions::new(&dir).with_max_in_flight(8);
    let (sink, source) = started(options);
    let (recorder, mut seen) = Recorder::open();
    let feeding = Feeding::start(source, recorder.sink());
    let sends: Vec<_> = (0..5)
        .map(|chat| {
            let sink = sink.clone();
            tokio::spawn(async move {
                for k in 0..40 {
                    let id = chat * 1000 + k;
                    assert_eq!(
                        sink.deliver(update(id, chat)).await,
                        Ok(Delivered::Accepted)
                    );
                }
            })
        })
        .collect();
    for send in sends {
        send.await.expect("sender");
    }
    let seen = recv_n(&mut seen, 200).await;
    for chat in 0..5 {
        let of_chat: Vec<i64> = seen
            .iter()
            .copied()
            .filter(|id| id / 1000 == chat)
            .collect();
        let expected: Vec<i64> = (0..40).map(|k| chat * 1000 + k).collect();
        assert_eq!(of_chat, expected, "chat {chat}");
    }
    feeding.stop().await;
}

/// An update handled before a restart is a duplicate after it, and not handed over again.
#[tokio::test]
async fn dedup_survives_a_restart() {
    let dir = fresh_dir("dedup-restart");
    let options = JournalOptions::new(&dir);
    let (sink, source) = started(options.clone());
    let (recorder, mut seen) = Recorder::open();
    let feeding = Feeding::start(source, recorder.sink());
    assert_eq!(sink.deliver(update(500, 1)).await, Ok(Delivered::Accepted));
    assert_eq!(recv_n(&mut seen, 1).await, vec![500]);
    feeding.stop().await;
    drop(sink);

    let (sink, source) = started(options);
    assert_eq!(source.replay_len(), 0, "it was marked handled");
    assert_eq!(sink.deliver(update(500, 1)).await, Ok(Delivered::Duplicate));
    assert_eq!(sink.deliver(update(501, 1)).await, Ok(Delivered::Accepted));
    let (recorder, mut seen) = Recorder::open();
    let feeding = Feeding::start(source, recorder.sink());
    assert_eq!(recv_n(&mut seen, 1).await, vec![501]);
    feeding.stop().await;
    assert!(seen.try_recv().is_err(), "500 was not handed over again");
}

/// The handled mark is written only after the inner sink resolved (the handlers finished);
/// a stop while a handler runs waits for it and then records the mark.
#[tokio::test]
async fn handled_mark_follows_the_inner_delivery() {
    let dir = fresh_dir("mark");
    let (sink, source) = started(JournalOptions::new(&dir));
    let (recorder, mut seen, gate) = Recorder::gated();
    let feeding = Feeding::start(source, recorder.sink());
    assert_eq!(sink.deliver(update(7, 7)).await, Ok(Delivered::Accepted));
    assert_eq!(recv_n(&mut seen, 1).await, vec![7]);
    // The handler is running: the entry is still unhandled on disk.
    let inspect = Journal::inspect(&dir).expect("inspect");
    assert_eq!(inspect.stats().expect("stats").unhandled, 1);

    feeding.request_stop();
    gate.add_permits(1);
    feeding.stopped().await;
    let stats = inspect.stats().expect("stats");
    assert_eq!((stats.entries, stats.unhandled), (1, 0));
}

/// `requeue` (`mpbot journal replay`) makes a handled entry run again on the next start.
#[tokio::test]
async fn requeue_re_drives_a_handled_entry_on_next_start() {
    let dir = fresh_dir("requeue");
    let options = JournalOptions::new(&dir);
    let (sink, source) = started(options.clone());
    let (recorder, mut seen) = Recorder::open();
    let feeding = Feeding::start(source, recorder.sink());
    assert_eq!(sink.deliver(update(70, 1)).await, Ok(Delivered::Accepted));
    assert_eq!(recv_n(&mut seen, 1).await, vec![70]);
    feeding.stop().await;
    drop(sink);

    let journal = Journal::open(options).expect("reopen");
    assert_eq!(journal.requeue(&[UpdateId(70)]).expect("requeue"), 1);
    let (_sink, source) = journal.start().expect("start");
    assert_eq!(source.replay_len(), 1);
    let (recorder, mut seen) = Recorder::open();
    let feeding = Feeding::start(source, recorder.sink());
    assert_eq!(recv_n(&mut seen, 1).await, vec![70]);
    feeding.stop().await;
}

/// Starting a journal compacts handled entries older than the retention (zero here), keeps the
/// unhandled ones, and forgets the compacted ids.
#[tokio::test]
async fn start_compacts_handled_entries_past_the_retention() {
    let dir = fresh_dir("start-compacts");
    let options = JournalOptions::new(&dir).with_retention(std::time::Duration::ZERO);
    let (sink, source) = started(options.clone());
    let (recorder, mut seen) = Recorder::open();
    let feeding = Feeding::start(source, recorder.sink());
    assert_eq!(sink.deliver(update(1, 1)).await, Ok(Delivered::Accepted));
    assert_eq!(recv_n(&mut seen, 1).await, vec![1]);
    feeding.stop().await;
    drop(sink);

    let journal = Journal::open(options.clone()).expect("reopen");
    let handled_at = journal.list(&ListQuery::new()).expect("list")[0]
        .handled_at
        .expect("handled");
    // Compaction keeps what was handled in the current millisecond: let the clock move on.
    while std::time::SystemTime::now() <= handled_at + std::time::Duration::from_millis(1) {
        tokio::task::yield_now().await;
    }
    let (sink, source) = journal.start().expect("start");
    assert_eq!(sink.stats().await.expect("stats").entries, 0);
    assert_eq!(
        sink.deliver(update(1, 1)).await,
        Ok(Delivered::Accepted),
        "id forgotten"
    );
    close(source).await;
}
