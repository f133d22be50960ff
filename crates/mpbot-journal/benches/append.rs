//! Load bench: journal append throughput with group commit vs one commit per update, at 64
//! concurrent writers, in the same run.
//!
//! `cargo bench -p mpbot-journal --bench append` (`MPBOT_BENCH_SECS` sets each case's length,
//! default 3; `MPBOT_BENCH_WRITERS` the writers, default 64).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mpbot_api::{Chat, ChatType, Message, Update};
use mpbot_core::{Deliver, Delivered, Refused, Shutdown, UpdateSink, async_trait};
use mpbot_journal::{Journal, JournalOptions};

/// The dispatcher stand-in: takes every update at once.
struct Accept;

#[async_trait]
impl Deliver for Accept {
    async fn deliver(&self, _update: Update) -> Result<Delivered, Refused> {
        Ok(Delivered::Accepted)
    }

    fn free_capacity(&self) -> usize {
        usize::MAX
    }

    async fn wait_for_capacity(&self) {}
}

struct Case {
    name: &'static str,
    updates: u64,
    commits: u64,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
}

impl Case {
    fn rate(&self) -> f64 {
        self.updates as f64 / self.elapsed.as_secs_f64()
    }
}

fn update(id: i64) -> Update {
    Update::with_message(
        id,
        Message {
            chat: Chat::new(id % 500, ChatType::Private),
            text: Some("a typical short message from a user to the bot".to_owned()),
            ..Message::default()
        },
    )
}

async fn run_case(name: &'static str, max_batch: usize, writers: usize, secs: u64) -> Case {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("bench-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    let options = JournalOptions::new(&dir)
        .with_max_batch(max_batch)
        .with_max_pending(1_000_000);
    let (sink, source) = Journal::open(options)
        .expect("open")
        .start()
        .expect("start");
    let (trigger, shutdown) = Shutdown::new();
    let feeding = tokio::spawn(source.feed(UpdateSink::new(Accept), shutdown));

    let next_id = Arc::new(AtomicU64::new(1));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..writers)
        .map(|_| {
            let sink = sink.clone();
            let next_id = Arc::clone(&next_id);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let id = i64::try_from(next_id.fetch_add(1, Ordering::Relaxed)).unwrap();
                    let t = Instant::now();
                    let verdict = sink.deliver(update(id)).await;
                    assert_eq!(verdict, Ok(Delivered::Accepted));
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("writer"));
    }
    let elapsed = start.elapsed();
    let stats = sink.stats().await.expect("stats");
    trigger.trigger();
    feeding.await.expect("feeder");
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Case {
        name,
        updates: latencies.len() as u64,
        commits: stats.commits,
        elapsed,
        p50: at(0.5),
        p99: at(0.99),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it with no args: keep that
    // short.
    let quick = !std::env::args().any(|a| a == "--bench");
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let secs = if quick { 1 } else { env("MPBOT_BENCH_SECS", 3) };
    let writers = usize::try_from(env("MPBOT_BENCH_WRITERS", 64)).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let single = runtime.block_on(run_case("one-commit-per-update", 1, writers, secs));
    let group = runtime.block_on(run_case("group-commit", 1024, writers, secs));
    println!("journal append, {writers} concurrent writers, {secs} s per case");
    for case in [&single, &group] {
        println!(
            "{:<24} {:>9.0} updates/s  {:>7} updates  {:>6} commits  {:>6.1} updates/commit  p50 {:>8.2?}  p99 {:>8.2?}",
            case.name,
            case.rate(),
            case.updates,
            case.commits,
            case.updates as f64 / case.commits.max(1) as f64,
            case.p50,
            case.p99,
        );
    }
    println!(
        "ratio group-commit / one-commit-per-update: {:.1}x",
        group.rate() / single.rate()
    );
}
