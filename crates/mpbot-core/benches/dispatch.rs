//! Dispatch throughput and per-update overhead, next to a bare baseline in the same run.
//!
//! - `baseline`: a bounded tokio mpsc channel feeding a loop that spawns one task per update
//!   (no ordering, no dedup, no routing).
//! - `dispatcher`: the same updates through `UpdateSink::deliver` (a polled source: each
//!   `deliver` resolves once queued) into a `Dispatcher` with default options (64 handlers at
//!   once, 1024 queued), per-chat ordering on, spans, dedup and panic catching included.
//!
//! Each with a noop handler and with "realistic" work (serialize a `sendMessage` reply with
//! serde_json, then yield once), at 1, 100 and 10 000 chats. It also checks
//! memory with handlers slower than arrivals and prints the peak RSS, then runs baseline and
//! dispatcher in alternating pairs and prints the median throughput ratio (both first, before
//! the timed cases).
//!
//! Metrics on vs off: `metrics_paired` alternates the dispatcher built with no recorder (the
//! `metrics` calls are no-ops) and one built under a Prometheus recorder (the one the `mpbot`
//! facade installs with an admin listener), and prints the median throughput ratio.
//! `MPBOT_BENCH=metrics` runs only that case.
//!
//! Run with: `cargo bench -p mpbot-core --bench dispatch`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use mpbot_core::api::methods::SendMessage;
use mpbot_core::api::{Bot, BotToken, Chat, ChatType, Message, Update, User};
use mpbot_core::{Context, Dispatcher, DispatcherOptions, HandlerError, Router, SourceInfo};
use tokio::sync::{Notify, mpsc};

/// Updates per timed iteration.
const N: usize = 10_000;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn bot() -> Bot {
    Bot::builder(BotToken::new("1:bench").unwrap())
        .api_url("http://127.0.0.1:9/bot")
        .build()
        .unwrap()
}

fn updates(chats: usize) -> Vec<Update> {
    (0..N)
        .map(|i| {
            let message = Message {
                message_id: (i as i64).into(),
                chat: Chat::new((i % chats) as i64, ChatType::Private),
                text: Some(format!("hello {i}")),
                ..Message::default()
            };
            Update::with_message(i as i64 + 1, message)
        })
        .collect()
}

/// The "realistic" part of a handler: build and serialize a reply, then yield once (as an
/// await on I/O would).
async fn work(message: &Message) {
    let reply = SendMessage::new(message.chat.id, message.text.clone().unwrap_or_default())
        .with_reply_to(message.message_id);
    let body = serde_json::to_vec(&reply).unwrap();
    std::hint::black_box(body);
    tokio::task::yield_now().await;
}

/// Counts finished updates and wakes the bench when all `N` are done.
#[derive(Clone, Default)]
struct Done {
    count: Arc<AtomicUsize>,
    all: Arc<Notify>,
}

impl Done {
    fn one(&self) {
        if self.count.fetch_add(1, Ordering::AcqRel) + 1 == N {
            self.all.notify_one();
        }
    }
}

async fn baseline(updates: Vec<Update>, with_work: bool) -> Duration {
    let done = Done::default();
    let (tx, mut rx) = mpsc::channel::<Update>(1024);
    let spawner = {
        let done = done.clone();
        tokio::spawn(async move {
            while let Some(update) = rx.recv().await {
                let done = done.clone();
                tokio::spawn(async move {
                    if with_work && let Some(message) = &update.message {
                        work(message).await;
                    }
                    drop(update);
                    done.one();
                });
            }
        })
    };
    let start = Instant::now();
    for update in updates {
        tx.send(update).await.unwrap();
    }
    done.all.notified().await;
    let elapsed = start.elapsed();
    drop(tx);
    spawner.await.unwrap();
    elapsed
}

fn bench_dispatcher(with_work: bool, done: &Done, options: DispatcherOptions) -> Dispatcher {
    let mut router = Router::new();
    let done = done.clone();
    router.on_message(move |_ctx: Context, message: Message| {
        let done = done.clone();
        async move {
            if with_work {
                work(&message).await;
            }
            done.one();
            Ok::<_, HandlerError>(())
        }
    });
    Dispatcher::new(bot(), User::new(1), router, options)
}

async fn dispatched(updates: Vec<Update>, with_work: bool) -> Duration {
    dispatched_with(updates, with_work, None).await
}

/// [`dispatched`], with the dispatcher built under `recorder` when given (metrics on).
async fn dispatched_with(
    updates: Vec<Update>,
    with_work: bool,
    recorder: Option<&metrics_exporter_prometheus::PrometheusRecorder>,
) -> Duration {
    let done = Done::default();
    let build = || {
        let dispatcher = bench_dispatcher(with_work, &done, DispatcherOptions::new());
        let sink = dispatcher.sink(&SourceInfo::new("bench", false));
        (dispatcher, sink)
    };
    let (dispatcher, sink) = match recorder {
        Some(recorder) => metrics::with_local_recorder(recorder, build),
        None => build(),
    };
    let start = Instant::now();
    for update in updates {
        sink.deliver(update).await.unwrap();
    }
    done.all.notified().await;
    // With metrics on, one scrape's worth of work inside the timing: what the admin listener
    // does before it renders (the gauges, and the finished counters copied to the recorder).
    if let Some(recorder) = recorder {
        metrics::with_local_recorder(recorder, || dispatcher.record_gauges());
    }
    start.elapsed()
}

fn bench_dispatch(c: &mut Criterion) {
    let rt = runtime();
    for with_work in [false, true] {
        let name = if with_work { "work" } else { "noop" };
        let mut group = c.benchmark_group(format!("dispatch_{name}"));
        group
            .throughput(Throughput::Elements(N as u64))
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        for chats in [1usize, 100, 10_000] {
            let template = updates(chats);
            group.bench_function(BenchmarkId::new("baseline", chats), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += rt.block_on(baseline(template.clone(), with_work));
                    }
                    total
                });
            });
            group.bench_function(BenchmarkId::new("dispatcher", chats), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += rt.block_on(dispatched(template.clone(), with_work));
                    }
                    total
                });
            });
        }
        group.finish();
    }
}

/// Peak resident set size of this process in KiB (Linux), if readable.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Handlers slower than arrivals (1 ms each, 64 at once, about 64 000 per second at best)
/// fed as fast as the sink takes them: the queue must stay at its bound and RSS flat, whether
/// 20 000 or 100 000 updates go through.
fn memory_with_slow_handlers() {
    let rt = runtime();
    for total in [20_000usize, 100_000] {
        let stats = rt.block_on(async move {
            let done = Arc::new(AtomicUsize::new(0));
            let all = Arc::new(Notify::new());
            let mut router = Router::new();
            {
                let (done, all) = (done.clone(), all.clone());
                router.on_message(move |_ctx: Context, _message: Message| {
                    let (done, all) = (done.clone(), all.clone());
                    async move {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        if done.fetch_add(1, Ordering::AcqRel) + 1 == total {
                            all.notify_one();
                        }
                        Ok::<_, HandlerError>(())
                    }
                });
            }
            let dispatcher = Dispatcher::new(bot(), User::new(1), router, DispatcherOptions::new());
            let sink = dispatcher.sink(&SourceInfo::new("bench", false));
            let mut peak_queued = 0;
            for i in 0..total {
                let message = Message {
                    chat: Chat::new((i % 100) as i64, ChatType::Private),
                    text: Some("x".into()),
                    ..Message::default()
                };
                sink.deliver(Update::with_message(i as i64 + 1, message))
                    .await
                    .unwrap();
                peak_queued = peak_queued.max(dispatcher.stats().queued);
            }
            all.notified().await;
            (peak_queued, dispatcher.options().queue_bound)
        });
        eprintln!(
            "slow handlers: {total} updates, peak queued {} (bound {}), peak RSS {} KiB",
            stats.0,
            stats.1,
            peak_rss_kib().map_or_else(|| "?".to_owned(), |k| k.to_string())
        );
    }
}

/// Paired rounds: baseline and dispatcher alternate, so a load spike from other processes on
/// the machine hits both; prints the median of the per-pair throughput ratios.
fn paired_ratios() {
    const ROUNDS: usize = 15;
    let rt = runtime();
    for with_work in [false, true] {
        for chats in [1usize, 100, 10_000] {
            let template = updates(chats);
            let mut ratios = Vec::with_capacity(ROUNDS);
            for _ in 0..ROUNDS {
                let base = rt.block_on(baseline(template.clone(), with_work));
                let ours = rt.block_on(dispatched(template.clone(), with_work));
                ratios.push(base.as_secs_f64() / ours.as_secs_f64());
            }
            ratios.sort_by(f64::total_cmp);
            eprintln!(
                "paired: {} handlers, {chats} chats: dispatcher/baseline throughput median {:.2} \
                 (min {:.2}, max {:.2}, {ROUNDS} pairs)",
                if with_work { "work" } else { "noop" },
                ratios[ROUNDS / 2],
                ratios[0],
                ratios[ROUNDS - 1],
            );
        }
    }
}

/// Metrics off vs on, in alternating pairs; prints the median on/off throughput ratio.
fn metrics_paired() {
    // More pairs than `paired_ratios`: the difference measured is small against the noise.
    const ROUNDS: usize = 41;
    let rt = runtime();
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(&[0.001, 0.01, 0.1, 1.0, 10.0])
        .unwrap()
        .build_recorder();
    let handle = recorder.handle();
    for with_work in [false, true] {
        for chats in [1usize, 10_000] {
            let template = updates(chats);
            let (mut ratios, mut offs, mut ons) = (Vec::new(), Vec::new(), Vec::new());
            for round in 0..ROUNDS {
                let run_off = || rt.block_on(dispatched_with(template.clone(), with_work, None));
                let run_on = || {
                    rt.block_on(dispatched_with(
                        template.clone(),
                        with_work,
                        Some(&recorder),
                    ))
                };
                // Alternate which goes first, so an order effect (warm caches, allocator
                // state) does not favour one side.
                let (off, on) = if round % 2 == 0 {
                    let off = run_off();
                    (off, run_on())
                } else {
                    let on = run_on();
                    (run_off(), on)
                };
                // What the admin listener does every few seconds, outside the timed part:
                // fold the histogram samples so they do not pile up.
                handle.run_upkeep();
                ratios.push(off.as_secs_f64() / on.as_secs_f64());
                offs.push(off.as_secs_f64() * 1e9 / N as f64);
                ons.push(on.as_secs_f64() * 1e9 / N as f64);
            }
            for values in [&mut ratios, &mut offs, &mut ons] {
                values.sort_by(f64::total_cmp);
            }
            eprintln!(
                "metrics: {} handlers, {chats} chats: on/off throughput median {:.3} \
                 (min {:.3}, max {:.3}, {ROUNDS} pairs); median ns/update off {:.0}, on {:.0}",
                if with_work { "work" } else { "noop" },
                ratios[ROUNDS / 2],
                ratios[0],
                ratios[ROUNDS - 1],
                offs[ROUNDS / 2],
                ons[ROUNDS / 2],
            );
        }
    }
    // The recorder's raw costs in isolation, one thread, no cross-core traffic: two counter
    // increments and one histogram sample on registered handles (what the dispatcher did per
    // update before the finished counts and the samples were batched), on this recorder and
    // on no recorder.
    let per_update = |on: bool| {
        let register = || {
            (
                metrics::counter!("mpbot_bench_received_total", "source" => "bench", "kind" => "message"),
                metrics::counter!("mpbot_bench_finished_total", "kind" => "message", "outcome" => "handled"),
                metrics::histogram!("mpbot_bench_duration_seconds", "kind" => "message"),
            )
        };
        let (received, finished, duration) = if on {
            metrics::with_local_recorder(&recorder, register)
        } else {
            register()
        };
        const OPS: u32 = 1_000_000;
        let start = Instant::now();
        for i in 0..OPS {
            received.increment(1);
            finished.increment(1);
            duration.record(f64::from(i % 1000) * 1e-6);
        }
        let ns = start.elapsed().as_secs_f64() * 1e9 / f64::from(OPS);
        handle.run_upkeep();
        ns
    };
    let (off, on) = (per_update(false), per_update(true));
    eprintln!("metrics: two increments and a sample alone: off {off:.1} ns, on {on:.1} ns");
    // The recorder really recorded: the handled counter is in the rendered page, with the
    // count `record_gauges` published (not zero).
    let page = handle.render();
    let handled = page
        .lines()
        .find(|line| {
            line.starts_with("mpbot_updates_finished_total")
                && line.contains(r#"kind="message""#)
                && line.contains(r#"outcome="handled""#)
        })
        .unwrap_or_else(|| panic!("{page}"));
    assert!(!handled.ends_with(" 0"), "{handled}");
}

criterion_group!(benches, bench_dispatch);

fn main() {
    // First, so the peak RSS it prints is not the timed cases' (which hold 10 000 updates at
    // once). Skipped when cargo runs the bench as a test (`cargo test --benches`).
    if !std::env::args().any(|arg| arg == "--test") {
        metrics_paired();
        if std::env::var("MPBOT_BENCH").is_ok_and(|v| v == "metrics") {
            return;
        }
        memory_with_slow_handlers();
        paired_ratios();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
