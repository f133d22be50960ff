//! The dispatcher's guarantees, driven through the in-memory source: order, exactly-once under
//! duplicates, isolation, backpressure, shutdown.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mpbot_core::api::{Bot, BotToken, Chat, ChatType, Message, Update, UpdateId, User};
use mpbot_core::{
    AckPolicy, Context, Delivered, Dispatcher, DispatcherOptions, HandlerError, MemoryHandle,
    MemorySource, Refused, Router, Shutdown, ShutdownReport, ShutdownTrigger, SourceInfo,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// The hang guard around every await that waits on an event.
const GUARD: Duration = Duration::from_secs(10);

/// A client that is never called: nothing listens on port 9.
fn bot() -> Bot {
    Bot::builder(BotToken::new("1:test").unwrap())
        .api_url("http://127.0.0.1:9/bot")
        .build()
        .unwrap()
}

fn me() -> User {
    User {
        username: Some("this_bot".into()),
        is_bot: Some(true),
        ..User::new(1)
    }
}

fn text_update(id: i64, chat: i64, text: &str) -> Update {
    let message = Message {
        message_id: id.into(),
        chat: Chat::new(chat, ChatType::Private),
        text: Some(text.to_owned()),
        ..Message::default()
    };
    Update::with_message(id, message)
}

/// An update with no chat: a callback query without a message.
fn chatless_update(id: i64) -> Update {
    serde_json::from_value(serde_json::json!({
        "update_id": id,
        "callback_query": { "id": format!("q{id}") }
    }))
    .unwrap()
}

/// A running dispatcher and the handles a test needs.
struct Running {
    dispatcher: Dispatcher,
    handle: MemoryHandle,
    stop: ShutdownTrigger,
    force: ShutdownTrigger,
    task: JoinHandle<Result<ShutdownReport, mpbot_core::Error>>,
}

fn start(router: Router, options: DispatcherOptions, redelivers: bool) -> Running {
    let dispatcher = Dispatcher::new(bot(), me(), router, options);
    let (source, handle) = MemorySource::new(redelivers);
    let (stop, shutdown) = Shutdown::new();
    let (force, force_signal) = Shutdown::new();
    let task = tokio::spawn(dispatcher.clone().run_with_force(
        Box::new(source),
        shutdown,
        force_signal,
    ));
    Running {
        dispatcher,
        handle,
        stop,
        force,
        task,
    }
}

impl Running {
    async fn shutdown(self) -> ShutdownReport {
        self.stop.trigger();
        timeout(GUARD, self.task).await.unwrap().unwrap().unwrap()
    }
}

/// Per-chat order holds for random chats and random handler delays, and nothing is lost or
/// handled twice even when some updates are delivered again (property test with a fixed
/// seed, paused clock).
#[test]
fn per_chat_order_is_preserved_under_random_delays() {
    let config = Config {
        cases: 24,
        rng_seed: RngSeed::Fixed(0x6d70_626f_7400),
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let strategy = (
        1usize..=8,
        1usize..=16,
        prop::collection::vec((0i64..12, 0u64..50, prop::bool::weighted(0.2)), 1..150),
    );
    runner
        .run(&strategy, |(max_concurrency, queue_bound, plan)| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
                .unwrap();
            runtime.block_on(check_order(max_concurrency, queue_bound, plan));
            Ok(())
        })
        .unwrap();
}

async fn check_order(max_concurrency: usize, queue_bound: usize, plan: Vec<(i64, u64, bool)>) {
    let seen: Arc<Mutex<HashMap<i64, Vec<i64>>>> = Arc::default();
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (done_tx, mut done) = mpsc::unbounded_channel();
    let delays: Arc<HashMap<i64, u64>> = Arc::new(
        plan.iter()
            .enumerate()
            .map(|(i, (_, delay, _))| (i as i64 + 1, *delay))
            .collect(),
    );
    let mut router = Router::new();
    {
        let (seen, running, peak) = (seen.clone(), running.clone(), peak.clone());
        router.on_message(move |ctx: Context, message: Message| {
            let (seen, running, peak, done_tx, delays) = (
                seen.clone(),
                running.clone(),
                peak.clone(),
                done_tx.clone(),
                delays.clone(),
            );
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                let id = ctx.update_id().get();
                tokio::time::sleep(Duration::from_millis(delays[&id])).await;
                seen.lock()
                    .unwrap()
                    .entry(message.chat.id.get())
                    .or_default()
                    .push(id);
                running.fetch_sub(1, Ordering::SeqCst);
                done_tx.send(id).map_err(|e| e.to_string())
            }
        });
    }
    let options = DispatcherOptions::new()
        .with_max_concurrency(max_concurrency)
        .with_queue_bound(queue_bound);
    let run = start(router, options, false);
    let mut expected: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut duplicates = 0;
    for (i, (chat, _, again)) in plan.iter().enumerate() {
        let id = i as i64 + 1;
        expected.entry(*chat).or_default().push(id);
        let verdict = timeout(GUARD, run.handle.push(text_update(id, *chat, "x")))
            .await
            .unwrap();
        assert_eq!(verdict, Ok(Delivered::Accepted));
        assert!(run.dispatcher.stats().queued <= queue_bound);
        if *again {
            // A redelivery of an update seen a moment or a while ago.
            let earlier = id - (id % 7);
            let earlier = if earlier >= 1 { earlier } else { id };
            let chat = plan[earlier as usize - 1].0;
            let verdict = timeout(GUARD, run.handle.push(text_update(earlier, chat, "x")))
                .await
                .unwrap();
            assert_eq!(verdict, Ok(Delivered::Duplicate));
            duplicates += 1;
        }
    }
    for _ in 0..plan.len() {
        timeout(GUARD, done.recv()).await.unwrap().unwrap();
    }
    let report = run.shutdown().await;
    assert!(report.is_drained());
    assert_eq!(*seen.lock().unwrap(), expected, "per-chat order");
    assert!(peak.load(Ordering::SeqCst) <= max_concurrency);
    assert_eq!(report.stats.handled, plan.len() as u64);
    assert_eq!(report.stats.duplicates, duplicates);
}

/// A chat whose handler is stuck does not hold up other chats.
#[tokio::test]
async fn a_slow_chat_does_not_block_other_chats() {
    let gate = Arc::new(Semaphore::new(0));
    let (done_tx, mut done) = mpsc::unbounded_channel();
    let mut router = Router::new();
    {
        let gate = gate.clone();
        router.on_message(move |_ctx: Context, message: Message| {
            let (gate, done_tx) = (gate.clone(), done_tx.clone());
            async move {
                if message.chat.id.get() == 1 {
                    let _permit = gate.acquire().await.map_err(|e| e.to_string())?;
                }
                done_tx
                    .send((message.chat.id.get(), message.message_id.get()))
                    .map_err(|e| e.to_string())
            }
        });
    }
    let run = start(router, DispatcherOptions::new(), false);
    // Chat 1 gets stuck on its first update; its second waits behind it.
    for (id, chat) in [(1, 1), (2, 1), (3, 2), (4, 3), (5, 2)] {
        run.handle.push(text_update(id, chat, "x")).await.unwrap();
    }
    let mut others = Vec::new();
    for _ in 0..3 {
        others.push(timeout(GUARD, done.recv()).await.unwrap().unwrap());
    }
    others.sort_unstable();
    assert_eq!(others, [(2, 3), (2, 5), (3, 4)]);
    assert_eq!(run.dispatcher.stats().in_flight, 1);
    gate.add_permits(2);
    let first = timeout(GUARD, done.recv()).await.unwrap().unwrap();
    let second = timeout(GUARD, done.recv()).await.unwrap().unwrap();
    assert_eq!((first, second), ((1, 1), (1, 2)));
    assert!(run.shutdown().await.is_drained());
}

/// Updates without a chat run unordered: the second runs while the first is still running.
#[tokio::test]
async fn updates_without_a_chat_run_in_parallel() {
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let release = Arc::new(Semaphore::new(0));
    let mut router = Router::new();
    {
        let release = release.clone();
        router.on_other("callback_query", move |ctx: Context, _update: Update| {
            let (started_tx, release) = (started_tx.clone(), release.clone());
            async move {
                started_tx
                    .send(ctx.update_id())
                    .map_err(|e| e.to_string())?;
                let _permit = release.acquire().await.map_err(|e| e.to_string())?;
                Ok::<_, HandlerError>(())
            }
        });
    }
    let run = start(router, DispatcherOptions::new(), false);
    run.handle.push(chatless_update(1)).await.unwrap();
    run.handle.push(chatless_update(2)).await.unwrap();
    let mut ids = vec![
        timeout(GUARD, started.recv()).await.unwrap().unwrap(),
        timeout(GUARD, started.recv()).await.unwrap().unwrap(),
    ];
    ids.sort_unstable();
    assert_eq!(ids, [UpdateId(1), UpdateId(2)]);
    release.add_permits(2);
    assert_eq!(run.shutdown().await.stats.handled, 2);
}

/// Every update is handled exactly once when a webhook-like source delivers each twice,
/// concurrently, across many chats.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_are_handled_once_and_nothing_is_lost() {
    const N: i64 = 600;
    let counts: Arc<Mutex<HashMap<i64, u32>>> = Arc::default();
    let mut router = Router::new();
    {
        let counts = counts.clone();
        router.on_message(move |ctx: Context, _message: Message| {
            let counts = counts.clone();
            async move {
                tokio::task::yield_now().await;
                *counts
                    .lock()
                    .unwrap()
                    .entry(ctx.update_id().get())
                    .or_default() += 1;
                Ok::<_, HandlerError>(())
            }
        });
    }
    let options = DispatcherOptions::new()
        .with_max_concurrency(8)
        .with_queue_bound(10_000)
        .with_dedup_window(10_000);
    let run = start(router, options, true);
    let mut verdicts = Vec::new();
    for id in 1..=N {
        let update = text_update(id, id % 37, "x");
        verdicts.push(run.handle.send(update.clone()).await);
        verdicts.push(run.handle.send(update).await);
    }
    let (mut accepted, mut duplicate) = (0, 0);
    for pending in verdicts {
        match timeout(GUARD, pending.verdict()).await.unwrap() {
            Ok(Delivered::Accepted) => accepted += 1,
            Ok(Delivered::Duplicate) => duplicate += 1,
            other => panic!("unexpected verdict {other:?}"),
        }
    }
    assert_eq!((accepted, duplicate), (N, N));
    // Under `handled` a redelivering source's verdict comes after the handler: all done now.
    let counts = counts.lock().unwrap().clone();
    assert_eq!(counts.len(), N as usize);
    assert!(
        counts.values().all(|&n| n == 1),
        "handled twice: {counts:?}"
    );
    let report = run.shutdown().await;
    assert_eq!(report.stats.duplicates, N as u64);
    assert_eq!(report.stats.handled, N as u64);
}

/// A panicking handler and a failing one are counted and do not affect other updates, in the
/// same chat or others.
#[tokio::test]
async fn panics_and_errors_are_isolated() {
    let (done_tx, mut done) = mpsc::unbounded_channel();
    let mut router = Router::new();
    router.on_message(move |ctx: Context, message: Message| {
        let done_tx = done_tx.clone();
        async move {
            match message.text.as_deref() {
                Some("panic") => panic!("boom in update {}", ctx.update_id()),
                Some("fail") => Err(HandlerError::from("it failed")),
                _ => done_tx.send(ctx.update_id().get()).map_err(Into::into),
            }
        }
    });
    let run = start(router, DispatcherOptions::new(), true);
    let verdicts = [
        run.handle.send(text_update(1, 1, "panic")).await,
        run.handle.send(text_update(2, 1, "ok")).await,
        run.handle.send(text_update(3, 2, "fail")).await,
        run.handle.send(text_update(4, 2, "ok")).await,
        run.handle.send(text_update(5, 3, "ok")).await,
    ];
    for pending in verdicts {
        // The handler finished (ok, error or panic): the update counts as delivered.
        assert_eq!(
            timeout(GUARD, pending.verdict()).await.unwrap(),
            Ok(Delivered::Accepted)
        );
    }
    let mut ok = vec![
        done.recv().await.unwrap(),
        done.recv().await.unwrap(),
        done.recv().await.unwrap(),
    ];
    ok.sort_unstable();
    assert_eq!(ok, [2, 4, 5]);
    let stats = run.shutdown().await.stats;
    assert_eq!((stats.handled, stats.failed, stats.panicked), (3, 1, 1));
}

/// Beyond the queue bound a redelivering source is refused (the webhook answers 503) instead
/// of the queue growing; once handlers catch up it is accepted again.
#[tokio::test]
async fn sink_refuses_a_redelivering_source_beyond_the_bound() {
    let gate = Arc::new(Semaphore::new(0));
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let mut router = Router::new();
    {
        let gate = gate.clone();
        router.on_message(move |ctx: Context, _message: Message| {
            let (gate, started_tx) = (gate.clone(), started_tx.clone());
            async move {
                started_tx
                    .send(ctx.update_id())
                    .map_err(|e| e.to_string())?;
                let _permit = gate.acquire().await.map_err(|e| e.to_string())?;
                Ok::<_, HandlerError>(())
            }
        });
    }
    let options = DispatcherOptions::new()
        .with_max_concurrency(1)
        .with_queue_bound(4);
    let dispatcher = Dispatcher::new(bot(), me(), router, options);
    let sink = dispatcher.sink(&SourceInfo::new("webhook-like", true));
    let first = tokio::spawn({
        let sink = sink.clone();
        async move { sink.deliver(text_update(1, 1, "x")).await }
    });
    assert_eq!(
        timeout(GUARD, started.recv()).await.unwrap(),
        Some(UpdateId(1))
    );
    let mut waiting = Vec::new();
    for id in 2..=5 {
        let sink = sink.clone();
        waiting.push(tokio::spawn(async move {
            sink.deliver(text_update(id, id, "x")).await
        }));
    }
    // Wait until the four are queued (they wait for the single slot).
    while dispatcher.stats().queued < 4 {
        tokio::task::yield_now().await;
    }
    assert_eq!(sink.free_capacity(), 0);
    assert_eq!(
        sink.deliver(text_update(6, 6, "x")).await,
        Err(Refused::Overloaded)
    );
    let stats = dispatcher.stats();
    assert_eq!((stats.queued, stats.in_flight, stats.refused), (4, 1, 1));

    gate.add_permits(5);
    assert_eq!(first.await.unwrap(), Ok(Delivered::Accepted));
    for task in waiting {
        assert_eq!(
            timeout(GUARD, task).await.unwrap().unwrap(),
            Ok(Delivered::Accepted)
        );
    }
    gate.add_permits(1);
    assert_eq!(
        sink.deliver(text_update(6, 6, "x")).await,
        Ok(Delivered::Accepted)
    );
}

/// Memory stays flat when handlers are slower than arrivals: a polling-like source waits for
/// room, so the queue never exceeds its bound, and every update is handled in the end.
#[tokio::test(start_paused = true)]
async fn queue_stays_bounded_when_handlers_are_slower_than_arrivals() {
    const N: i64 = 2_000;
    const BOUND: usize = 16;
    let mut router = Router::new();
    router.on_message(|_ctx: Context, _message: Message| async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok::<_, HandlerError>(())
    });
    let options = DispatcherOptions::new()
        .with_max_concurrency(4)
        .with_queue_bound(BOUND);
    let run = start(router, options, false);
    let mut peak = 0;
    for id in 1..=N {
        let verdict = run.handle.push(text_update(id, id % 50, "x")).await;
        assert_eq!(verdict, Ok(Delivered::Accepted));
        peak = peak.max(run.dispatcher.stats().queued);
    }
    assert!(peak <= BOUND, "queued {peak} above the bound {BOUND}");
    assert_eq!(
        peak, BOUND,
        "the slow handlers should have filled the queue"
    );
    let report = run.shutdown().await;
    assert!(report.is_drained());
    assert_eq!(report.stats.handled, N as u64);
}

/// A graceful shutdown lets queued and running updates finish within the grace period.
#[tokio::test(start_paused = true)]
async fn shutdown_drains_within_the_grace_period() {
    let mut router = Router::new();
    router.on_message(|_ctx: Context, _message: Message| async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        Ok::<_, HandlerError>(())
    });
    let options = DispatcherOptions::new().with_shutdown_grace(Duration::from_secs(10));
    let run = start(router, options, false);
    for id in 1..=4 {
        // One chat: 4 × 2 s = 8 s, within the 10 s grace.
        run.handle.push(text_update(id, 1, "x")).await.unwrap();
    }
    let report = run.shutdown().await;
    assert!(report.is_drained(), "{report:?}");
    assert!(!report.forced);
    assert_eq!(report.stats.handled, 4);
}

/// Work still unfinished when the grace period ends is cancelled and reported by id; the rest
/// finished; a webhook-like source hears "shutting down" for the unfinished and for new updates.
#[tokio::test(start_paused = true)]
async fn shutdown_reports_what_the_grace_period_left_unfinished() {
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let mut router = Router::new();
    router.on_message(move |ctx: Context, message: Message| {
        let started_tx = started_tx.clone();
        async move {
            started_tx
                .send(ctx.update_id())
                .map_err(|e| e.to_string())?;
            let secs = if message.chat.id.get() == 1 { 100 } else { 1 };
            tokio::time::sleep(Duration::from_secs(secs)).await;
            Ok::<_, HandlerError>(())
        }
    });
    let options = DispatcherOptions::new().with_shutdown_grace(Duration::from_secs(10));
    let run = start(router, options, true);
    let slow = [
        run.handle.send(text_update(1, 1, "x")).await,
        run.handle.send(text_update(2, 1, "x")).await,
    ];
    let quick = run.handle.send(text_update(3, 2, "x")).await;
    for _ in 0..2 {
        timeout(GUARD, started.recv()).await.unwrap().unwrap();
    }
    run.stop.trigger();
    let late = run.handle.send(text_update(4, 3, "x")).await;
    let report = timeout(GUARD * 100, run.task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(report.unfinished, [UpdateId(1), UpdateId(2)]);
    assert!(!report.forced);
    assert_eq!(report.stats.handled, 1);
    assert_eq!(quick.verdict().await, Ok(Delivered::Accepted));
    for pending in slow {
        assert_eq!(pending.verdict().await, Err(Refused::ShuttingDown));
    }
    assert_eq!(late.verdict().await, Err(Refused::ShuttingDown));
}

/// A second signal (force) stops at once, without waiting out a long grace period.
#[tokio::test]
async fn force_signal_stops_without_waiting_for_the_grace_period() {
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let mut router = Router::new();
    router.on_message(move |ctx: Context, _message: Message| {
        let started_tx = started_tx.clone();
        async move {
            started_tx
                .send(ctx.update_id())
                .map_err(|e| e.to_string())?;
            std::future::pending::<()>().await;
            Ok::<_, HandlerError>(())
        }
    });
    let options = DispatcherOptions::new().with_shutdown_grace(Duration::from_secs(3600));
    let run = start(router, options, true);
    let stuck = run.handle.send(text_update(7, 1, "x")).await;
    timeout(GUARD, started.recv()).await.unwrap().unwrap();
    run.stop.trigger();
    run.force.trigger();
    let report = timeout(GUARD, run.task).await.unwrap().unwrap().unwrap();
    assert!(report.forced);
    assert_eq!(report.unfinished, [UpdateId(7)]);
    assert_eq!(
        timeout(GUARD, stuck.verdict()).await.unwrap(),
        Err(Refused::ShuttingDown)
    );
}

/// A polled source (no redelivery) gets its verdict once the update is queued, before the
/// handler ran, under the default `handled` policy and under `received`; so does a
/// redelivering source under `received`.
#[tokio::test]
async fn polled_updates_are_acknowledged_once_queued() {
    let cases = [
        (AckPolicy::Handled, false),
        (AckPolicy::Received, false),
        (AckPolicy::Received, true),
    ];
    for (ack, redelivers) in cases {
        let gate = Arc::new(Semaphore::new(0));
        let mut router = Router::new();
        {
            let gate = gate.clone();
            router.on_message(move |_ctx: Context, _message: Message| {
                let gate = gate.clone();
                async move {
                    let _permit = gate.acquire().await.map_err(|e| e.to_string())?;
                    Ok::<_, HandlerError>(())
                }
            });
        }
        let run = start(router, DispatcherOptions::new().with_ack(ack), redelivers);
        let verdict = timeout(GUARD, run.handle.push(text_update(1, 1, "x"))).await;
        assert_eq!(
            verdict.unwrap(),
            Ok(Delivered::Accepted),
            "{ack:?} {redelivers}"
        );
        assert_eq!(run.dispatcher.stats().handled, 0);
        gate.add_permits(1);
        assert_eq!(run.shutdown().await.stats.handled, 1);
    }
}

/// The `stored` policy is refused until the journal exists, rather than silently acting as
/// another policy.
#[tokio::test]
async fn stored_policy_is_refused_as_unavailable() {
    let dispatcher = Dispatcher::new(
        bot(),
        me(),
        Router::new(),
        DispatcherOptions::new().with_ack(AckPolicy::Stored),
    );
    let sink = dispatcher.sink(&SourceInfo::new("polling", false));
    assert!(matches!(
        sink.deliver(text_update(1, 1, "x")).await,
        Err(Refused::Unavailable(_))
    ));
}

/// When the source ends by itself (every handle dropped), `run` drains and returns.
#[tokio::test]
async fn run_returns_after_the_source_ends() {
    let mut router = Router::new();
    router.on_message(|_ctx: Context, _message: Message| async { Ok::<_, HandlerError>(()) });
    let run = start(router, DispatcherOptions::new(), false);
    for id in 1..=3 {
        run.handle.push(text_update(id, 1, "x")).await.unwrap();
    }
    drop(run.handle);
    let report = timeout(GUARD, run.task).await.unwrap().unwrap().unwrap();
    assert!(report.is_drained());
    assert_eq!(report.stats.handled, 3);
}

/// Pins that the future of `Dispatcher::run` is `Send`, so it can be spawned.
#[test]
fn run_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let dispatcher = Dispatcher::new(bot(), me(), Router::new(), DispatcherOptions::new());
    let (source, _handle) = MemorySource::new(false);
    let future = dispatcher.run(Box::new(source), Shutdown::never());
    assert_send(&future);
}

/// A source that fails fatally makes `run` return its error, after the accepted work drained.
#[tokio::test]
async fn source_failure_is_returned_after_draining() {
    struct Failing;

    #[mpbot_core::async_trait]
    impl mpbot_core::UpdateSource for Failing {
        fn describe(&self) -> SourceInfo {
            SourceInfo::new("failing", false)
        }

        async fn run(
            self: Box<Self>,
            sink: mpbot_core::UpdateSink,
            _shutdown: Shutdown,
        ) -> Result<(), mpbot_core::Error> {
            sink.deliver(text_update(1, 1, "x"))
                .await
                .map_err(mpbot_core::Error::refused)?;
            Err(mpbot_core::Error::source("failing", "token revoked"))
        }
    }

    let handled = Arc::new(AtomicUsize::new(0));
    let mut router = Router::new();
    {
        let handled = handled.clone();
        router.on_message(move |_ctx: Context, _message: Message| {
            let handled = handled.clone();
            async move {
                tokio::task::yield_now().await;
                handled.fetch_add(1, Ordering::SeqCst);
                Ok::<_, HandlerError>(())
            }
        });
    }
    let dispatcher = Dispatcher::new(bot(), me(), router, DispatcherOptions::new());
    let result = timeout(GUARD, dispatcher.run(Box::new(Failing), Shutdown::never()))
        .await
        .unwrap();
    let error = result.unwrap_err();
    assert!(error.to_string().contains("token revoked"), "{error}");
    assert_eq!(handled.load(Ordering::SeqCst), 1);
}

/// A polling-like source sees the free capacity shrink as updates queue, and
/// `wait_for_capacity` resolves once a slot frees up.
#[tokio::test]
async fn free_capacity_and_wait_for_capacity_track_the_queue() {
    let gate = Arc::new(Semaphore::new(0));
    let mut router = Router::new();
    {
        let gate = gate.clone();
        router.on_message(move |_ctx: Context, _message: Message| {
            let gate = gate.clone();
            async move {
                let _permit = gate.acquire().await.map_err(|e| e.to_string())?;
                Ok::<_, HandlerError>(())
            }
        });
    }
    let options = DispatcherOptions::new()
        .with_max_concurrency(1)
        .with_queue_bound(2);
    let dispatcher = Dispatcher::new(bot(), me(), router, options);
    let sink = dispatcher.sink(&SourceInfo::new("polling-like", false));
    assert_eq!(sink.free_capacity(), 2);
    // One chat: the first runs (once a worker took it), the next two wait in the queue.
    for id in 1..=3 {
        sink.deliver(text_update(id, 1, "x")).await.unwrap();
    }
    while dispatcher.stats().in_flight < 1 {
        tokio::task::yield_now().await;
    }
    assert_eq!(sink.free_capacity(), 0);
    let waiting = tokio::spawn({
        let sink = sink.clone();
        async move { sink.wait_for_capacity().await }
    });
    tokio::task::yield_now().await;
    assert!(!waiting.is_finished());
    gate.add_permits(1);
    timeout(GUARD, waiting).await.unwrap().unwrap();
    assert!(sink.free_capacity() >= 1);
}
