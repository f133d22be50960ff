//! Load bench: what `ack = "stored"` costs a webhook and a poller, against `handled` in the
//! same run.
//!
//! `cargo bench -p mpbot-journal --bench stored` (`MPBOT_BENCH_SECS`: seconds per webhook case,
//! default 3; `MPBOT_BENCH_ROUNDS`: interleaved rounds, default 5; medians and per-round ratios shown;
//! `MPBOT_BENCH_DRAIN`: updates the poller drains, default 50 000; `MPBOT_BENCH_ONLY=webhook` or
//! `=poller` runs one half; `MPBOT_BENCH_ACK=handled` or `=stored` runs one policy, for
//! profiling: no ratio then).
//!
//! - webhook: the real listener (plain HTTP/1.1 on loopback, keep-alive) in front of the real
//!   dispatcher with one noop message handler; 64 client connections post updates back to back.
//!   `handled`: listener → dispatcher (200 once the handler ran). `stored`: listener →
//!   journal (200 once fsynced, group commit) → feeder → dispatcher. Each case prints the
//!   CPU time the whole process spent per answered request (clients included, from
//!   `/proc/self/task/*/schedstat`, Linux only), and under `stored` the mean group-commit size
//!   (appends per commit, from the store's counters).
//! - poller: the emulator holds N updates; the real poller drains them through the dispatcher
//!   (`handled`: queued; `stored`: journaled first). Time until the handler saw all N.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use mpbot_api::{Bot, BotToken, Message, User};
use mpbot_core::{
    AckPolicy, Context, Dispatcher, DispatcherOptions, Router, Shutdown, UpdateSource,
};
use mpbot_emulator::{DEFAULT_BOT_TOKEN, Emulator};
use mpbot_journal::{Journal, JournalOptions, JournalSink};
use mpbot_poller::{LongPolling, LongPollingOptions};
use mpbot_webhook::{Register, Webhook, WebhookOptions};
use tokio::sync::Notify;

const CONNECTIONS: usize = 64;

/// MPChat numbers a bot's updates in ascending order, whichever connection delivers them.
static NEXT_UPDATE_ID: AtomicU64 = AtomicU64::new(1);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ack {
    Handled,
    Stored,
}

impl Ack {
    fn name(self) -> &'static str {
        match self {
            Self::Handled => "handled",
            Self::Stored => "stored",
        }
    }
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The policies to run: both, or the one `MPBOT_BENCH_ACK` names.
fn acks() -> Vec<Ack> {
    let only = std::env::var("MPBOT_BENCH_ACK").unwrap_or_default();
    [Ack::Handled, Ack::Stored]
        .into_iter()
        .filter(|ack| only.is_empty() || ack.name() == only)
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A dispatcher with one noop message handler that counts and wakes `all_seen` at `target`.
fn dispatcher(bot: Bot, handled: Arc<AtomicU64>, target: u64, all_seen: Arc<Notify>) -> Dispatcher {
    let mut router = Router::new();
    router.on_message(move |_ctx: Context, message: Message| {
        let handled = Arc::clone(&handled);
        let all_seen = Arc::clone(&all_seen);
        async move {
            std::hint::black_box(&message);
            if handled.fetch_add(1, Ordering::Relaxed) + 1 == target {
                all_seen.notify_one();
            }
            Ok::<(), Infallible>(())
        }
    });
    let options = DispatcherOptions::new().with_ack(AckPolicy::Handled);
    Dispatcher::new(bot, User::new(1), router, options)
}

/// A journal in a directory of its own, and that directory.
fn journal(name: &str) -> (Journal, PathBuf) {
    // A fresh directory per case: deleting a database another connection of this process still
    // has open confuses SQLite's per-inode locking.
    static CASE: AtomicU64 = AtomicU64::new(0);
    let case = CASE.fetch_add(1, Ordering::Relaxed);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}-{}-{case}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let journal =
        Journal::open(JournalOptions::new(&dir).with_max_pending(100_000)).expect("journal");
    (journal, dir)
}

/// A running case: what stops it, its task, and under `stored` the journal's sink and
/// directory.
struct Running {
    trigger: mpbot_core::ShutdownTrigger,
    task: tokio::task::JoinHandle<()>,
    journal: Option<(JournalSink, PathBuf)>,
}

impl Running {
    /// Stops the case; under `stored`, returns the journal's (appends, commits) and deletes
    /// the journal (a case writes tens of megabytes; a full run, a few hundred).
    async fn stop(self) -> Option<(u64, u64)> {
        self.trigger.trigger();
        let _ = self.task.await;
        let (sink, dir) = self.journal?;
        let stats = sink.stats().await.ok();
        // The case's task closed the journal; this drops the last handle on its store.
        drop(sink);
        let _ = std::fs::remove_dir_all(&dir);
        let stats = stats?;
        Some((stats.appended, stats.commits))
    }
}

/// Starts `source` under `ack`.
fn start(ack: Ack, name: &str, source: Box<dyn UpdateSource>, dispatcher: Dispatcher) -> Running {
    let (trigger, shutdown) = Shutdown::new();
    let (task, journal) = match ack {
        Ack::Handled => (
            tokio::spawn(async move {
                dispatcher.run(source, shutdown).await.expect("dispatcher");
            }),
            None,
        ),
        Ack::Stored => {
            let (journal, dir) = journal(name);
            let (sink, feeder) = journal.start().expect("start");
            let source_sink = sink.for_source(&source.describe());
            let source_task = tokio::spawn(source.run(source_sink, shutdown.clone()));
            let task = tokio::spawn(async move {
                dispatcher
                    .run(Box::new(feeder), shutdown)
                    .await
                    .expect("dispatcher");
                let _ = source_task.await;
            });
            (task, Some((sink, dir)))
        }
    };
    Running {
        trigger,
        task,
        journal,
    }
}

struct WebhookResult {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    non_ok: u64,
    /// Under `stored`: the mean group-commit size over the whole case (warm-up included).
    appends_per_commit: Option<f64>,
    /// CPU time of the whole process (server, journal and clients) per answered request in
    /// the measured window, in µs; `None` where `/proc` is missing.
    cpu_us_per_request: Option<f64>,
}

/// CPU time all threads of this process have run so far (Linux `/proc/self/task/*/schedstat`,
/// nanosecond resolution); `None` elsewhere.
fn process_cpu() -> Option<Duration> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total))
}

async fn webhook_case(ack: Ack, secs: f64) -> WebhookResult {
    let bot = Bot::builder(BotToken::new("1:bench").expect("token"))
        .api_url("http://127.0.0.1:9/bot")
        .build()
        .expect("bot");
    let handled = Arc::new(AtomicU64::new(0));
    let dispatcher = dispatcher(bot, handled, u64::MAX, Arc::new(Notify::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let options = WebhookOptions::new("https://bench.example/hook")
        .with_allow_missing_secret(true)
        .with_register(Register::Off);
    let webhook = Webhook::from_listener(listener, options).expect("webhook");
    let running = start(
        ack,
        &format!("bench-webhook-{}", ack.name()),
        Box::new(webhook),
        dispatcher,
    );

    let non_ok = Arc::new(AtomicU64::new(0));
    let measure_from = Instant::now() + Duration::from_millis(500);
    let end = measure_from + Duration::from_secs_f64(secs);
    let clients: Vec<_> = (0..CONNECTIONS)
        .map(|c| {
            tokio::spawn(connection(
                addr,
                c as i64,
                measure_from,
                end,
                Arc::clone(&non_ok),
            ))
        })
        .collect();
    // The window the clients count requests in; a thread that ends inside it (none should)
    // would take its CPU time out of the sum.
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu_from = process_cpu();
    tokio::time::sleep_until(end.into()).await;
    let cpu = process_cpu()
        .zip(cpu_from)
        .map(|(to, from)| to.saturating_sub(from));
    let mut latencies = Vec::new();
    for client in clients {
        latencies.extend(client.await.expect("client"));
    }
    let journal = running.stop().await;
    latencies.sort_unstable();
    let pick = |q: f64| {
        latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)] as f64 / 1000.0
    };
    WebhookResult {
        rps: latencies.len() as f64 / secs,
        p50_ms: pick(0.5),
        p99_ms: pick(0.99),
        non_ok: non_ok.load(Ordering::Relaxed),
        appends_per_commit: journal
            .map(|(appends, commits)| appends as f64 / commits.max(1) as f64),
        cpu_us_per_request: cpu.map(|cpu| cpu.as_secs_f64() * 1e6 / latencies.len().max(1) as f64),
    }
}

/// One keep-alive connection posting updates back to back; latencies (µs) of the 200s in the
/// measured window.
async fn connection(
    addr: SocketAddr,
    index: i64,
    measure_from: Instant,
    end: Instant,
    non_ok: Arc<AtomicU64>,
) -> Vec<u32> {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let mut latencies = Vec::new();
    let mut seq: i64 = 0;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        seq += 1;
        let body = format!(
            r#"{{"update_id":{},"message":{{"message_id":{seq},"date":1700000000,"chat":{{"id":{},"type":"private"}},"text":"hello"}}}}"#,
            NEXT_UPDATE_ID.fetch_add(1, Ordering::Relaxed),
            1000 + index
        );
        let request = Request::post("/hook")
            .header("host", "bench")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .expect("request");
        sender.ready().await.expect("ready");
        let response = sender.send_request(request).await.expect("response");
        let status = response.status();
        let _ = response.into_body().collect().await;
        if now >= measure_from {
            if status == StatusCode::OK {
                latencies.push(u32::try_from(now.elapsed().as_micros()).unwrap_or(u32::MAX));
            } else {
                non_ok.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    latencies
}

/// Drains `n` updates from the emulator; updates/s.
async fn poller_case(ack: Ack, n: u64) -> f64 {
    let emulator = Emulator::builder()
        .rate_limit(None)
        .start()
        .await
        .expect("emulator");
    let handle = emulator.default_bot();
    for i in 0..n {
        let chat = i64::try_from(i % 200).expect("small") + 1;
        handle.user_message(chat, User::new(chat), "hello");
    }
    // No client throttle: MPChat's 30 requests/s would cap both cases at 3 000 updates/s
    // (30 batches of 100) and measure the throttle, not the journal.
    let bot = Bot::builder(BotToken::new(DEFAULT_BOT_TOKEN).expect("token"))
        .api_url(emulator.api_url())
        .rate_limit(None)
        .build()
        .expect("bot");
    let handled = Arc::new(AtomicU64::new(0));
    let all_seen = Arc::new(Notify::new());
    let dispatcher = dispatcher(bot.clone(), Arc::clone(&handled), n, Arc::clone(&all_seen));
    let poller =
        LongPolling::new(bot, LongPollingOptions::new().with_timeout_secs(1)).expect("poller");
    let started = Instant::now();
    let running = start(
        ack,
        &format!("bench-poller-{}", ack.name()),
        Box::new(poller),
        dispatcher,
    );
    all_seen.notified().await;
    let elapsed = started.elapsed();
    running.stop().await;
    emulator.shutdown().await;
    n as f64 / elapsed.as_secs_f64()
}

/// The median of the values present, if any.
fn median_present(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let present: Vec<f64> = values.flatten().collect();
    (!present.is_empty()).then(|| median(present))
}

/// The per-round ratios `stored / handled` (each round's pair ran back to back under the same
/// machine load), and their median, min and max. Prints nothing unless both policies ran.
fn print_ratios(rates: &[(Ack, Vec<f64>)]) {
    let [(_, handled), (_, stored)] = rates else {
        return;
    };
    let ratios: Vec<f64> = stored.iter().zip(handled).map(|(s, h)| s / h).collect();
    let each: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
    let min = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let max = ratios.iter().copied().fold(0.0, f64::max);
    println!(
        "  ratio stored / handled per round: [{}]  median {:.2}  min {min:.2}  max {max:.2}",
        each.join(", "),
        median(ratios.clone())
    );
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let secs = if quick {
        0.5
    } else {
        env("MPBOT_BENCH_SECS", 3) as f64
    };
    let rounds = if quick {
        1
    } else {
        env("MPBOT_BENCH_ROUNDS", 5)
    };
    let drain = if quick {
        500
    } else {
        env("MPBOT_BENCH_DRAIN", 50_000)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let only = std::env::var("MPBOT_BENCH_ONLY").unwrap_or_default();
    if only != "poller" {
        webhook_cases(&runtime, secs, rounds);
    }
    if only != "webhook" {
        poller_cases(&runtime, drain, rounds);
    }
}

fn webhook_cases(runtime: &tokio::runtime::Runtime, secs: f64, rounds: u64) {
    println!(
        "webhook, {CONNECTIONS} keep-alive connections, {secs} s per case, {rounds} interleaved rounds (median)"
    );
    let mut web: Vec<(Ack, Vec<WebhookResult>)> =
        acks().into_iter().map(|ack| (ack, vec![])).collect();
    for _ in 0..rounds {
        for (ack, results) in &mut web {
            results.push(runtime.block_on(webhook_case(*ack, secs)));
        }
    }
    for (ack, results) in &web {
        let rps = median(results.iter().map(|r| r.rps).collect());
        let cpu = median_present(results.iter().map(|r| r.cpu_us_per_request))
            .map_or(String::new(), |cpu| format!("  CPU {cpu:.1} µs/req"));
        let batch = median_present(results.iter().map(|r| r.appends_per_commit))
            .map_or(String::new(), |batch| {
                format!("  appends per commit {batch:.1}")
            });
        println!(
            "  {:<8} {:>8.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  non-200 {:>4}{}{}",
            ack.name(),
            rps,
            median(results.iter().map(|r| r.p50_ms).collect()),
            median(results.iter().map(|r| r.p99_ms).collect()),
            results.iter().map(|r| r.non_ok).sum::<u64>(),
            cpu,
            batch,
        );
    }
    // The baseline alone moves by 1.5x between rounds on a shared VM: compare within rounds.
    let rates: Vec<(Ack, Vec<f64>)> = web
        .iter()
        .map(|(ack, results)| (*ack, results.iter().map(|r| r.rps).collect()))
        .collect();
    print_ratios(&rates);
}

fn poller_cases(runtime: &tokio::runtime::Runtime, drain: u64, rounds: u64) {
    println!(
        "poller drain of {drain} queued updates over 200 chats, {rounds} interleaved rounds (median)"
    );
    let mut polled: Vec<(Ack, Vec<f64>)> = acks().into_iter().map(|ack| (ack, vec![])).collect();
    for _ in 0..rounds {
        for (ack, results) in &mut polled {
            results.push(runtime.block_on(poller_case(*ack, drain)));
        }
    }
    for (ack, results) in &polled {
        println!(
            "  {:<8} {:>8.0} updates/s",
            ack.name(),
            median(results.clone())
        );
    }
    print_ratios(&polled);
}
