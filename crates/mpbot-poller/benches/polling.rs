//! Load bench of the long poller against the emulator, each case next to a baseline measured in
//! the same run on the same machine.
//!
//! Run with `cargo bench -p mpbot-poller --bench polling` (or `-- drain` / `-- latency` for one
//! case). It prints one line per measurement:
//! - drain: a 200 000-update backlog (1 000 chats) handled by noop handlers through
//!   `LongPolling` + the core `Dispatcher`, in updates/s. Baselines: a bare loop of HTTP
//!   getUpdates calls (reqwest, `limit = 100`, offset confirmation, decoding only the
//!   `update_id`s, no dispatch), which is the emulator's raw serving rate, and for diagnosis the
//!   same loop through `mpbot_api::Bot::get_updates` (typed decoding of every update).
//! - latency: 1 000 sequential messages posted through the emulator's control API over HTTP
//!   while the poller's long poll is waiting; time from just before the POST to the handler
//!   running, p50/p99. Baseline: the same posts while a bare reqwest long poll waits, time to
//!   the bare client having the update.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mpbot_api::methods::GetUpdates;
use mpbot_api::{Bot, BotToken, Message, User};
use mpbot_core::{Context, Dispatcher, DispatcherOptions, Router, Shutdown};
use mpbot_emulator::{BotHandle, Emulator};
use mpbot_poller::{LongPolling, LongPollingOptions};
use serde::Deserialize;
use tokio::sync::{Notify, mpsc};

const TOKEN: &str = "123456:TEST-TOKEN";
const BACKLOG: usize = 200_000;
const CHATS: i64 = 1_000;
const ROUNDS: usize = 6;
const POSTS: usize = 1_000;

#[derive(Deserialize)]
struct Batch {
    result: Vec<UpdateIdOnly>,
}

#[derive(Deserialize)]
struct UpdateIdOnly {
    update_id: i64,
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

fn bot(emulator: &Emulator) -> Bot {
    // NB: no client-side throttle: MPChat's 30 req/s would cap any drain at 3 000 updates/s and
    // measure the throttle, not the poller.
    Bot::builder(BotToken::new(TOKEN).expect("token"))
        .api_url(emulator.api_url())
        .rate_limit(None)
        .build()
        .expect("client")
}

fn load(handle: &BotHandle, n: usize) {
    let from = User::new(1);
    for i in 0..n {
        let chat = 1 + i64::try_from(i).unwrap_or(0) % CHATS;
        handle.user_message(chat, from.clone(), "x");
    }
}

/// The bare loop: HTTP getUpdates with offset confirmation, only `update_id`s decoded.
async fn drain_raw(api_url: String, total: usize) -> Duration {
    let http = http();
    let url = format!("{api_url}/bot{TOKEN}/getUpdates");
    let mut offset = 0_i64;
    let mut got = 0;
    let started = Instant::now();
    while got < total {
        let body = http
            .post(&url)
            .json(&serde_json::json!({"offset": offset, "limit": 100, "timeout": 0}))
            .send()
            .await
            .expect("getUpdates")
            .bytes()
            .await
            .expect("body");
        let batch: Batch = serde_json::from_slice(&body).expect("envelope");
        assert!(!batch.result.is_empty(), "backlog ended early");
        got += batch.result.len();
        offset = batch.result.last().map_or(offset, |u| u.update_id + 1);
    }
    started.elapsed()
}

/// The same loop through the typed client (every update decoded), no dispatch.
async fn drain_typed(bot: Bot, total: usize) -> Duration {
    let mut request = GetUpdates::new();
    request.limit = Some(100);
    request.timeout = Some(0);
    let mut got = 0;
    let started = Instant::now();
    while got < total {
        let batch = bot.get_updates(&request).await.expect("getUpdates");
        assert!(!batch.is_empty(), "backlog ended early");
        got += batch.len();
        request.offset = batch
            .last()
            .map(|u| mpbot_api::UpdateId(u.update_id.get() + 1));
    }
    started.elapsed()
}

/// LongPolling + Dispatcher + a noop message handler, until `total` updates were handled.
async fn drain_poller(emulator: &Emulator, handle: &BotHandle, total: usize) -> Duration {
    let handled = Arc::new(AtomicU64::new(0));
    let done = Arc::new(Notify::new());
    let mut router = Router::new();
    let (h, d) = (Arc::clone(&handled), Arc::clone(&done));
    let target = u64::try_from(total).unwrap_or(u64::MAX);
    router.on_message(move |_ctx: Context, _message: Message| {
        let (h, d) = (Arc::clone(&h), Arc::clone(&d));
        async move {
            if h.fetch_add(1, Ordering::Relaxed) + 1 == target {
                d.notify_one();
            }
            Ok::<(), Infallible>(())
        }
    });
    let bot = bot(emulator);
    let dispatcher = Dispatcher::new(bot.clone(), handle.me(), router, DispatcherOptions::new());
    let options = LongPollingOptions::new().with_allowed_updates_opt(dispatcher.allowed_updates());
    let polling = LongPolling::new(bot, options).expect("options");
    let (trigger, shutdown) = Shutdown::new();
    let started = Instant::now();
    let running = tokio::spawn(dispatcher.run(Box::new(polling), shutdown));
    done.notified().await;
    let elapsed = started.elapsed();
    trigger.trigger();
    let report = running.await.expect("no panic").expect("clean stop");
    assert_eq!(report.stats.handled, target);
    elapsed
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

/// An emulator holding a fresh backlog of `BACKLOG` updates.
///
/// Every measured loop gets its own: the emulator keeps each chat's messages, so a loop that
/// ran against one that already served 400 000 updates would be measured against a slower
/// server than the loop before it.
async fn loaded_emulator() -> (Emulator, BotHandle) {
    let emulator = Emulator::builder()
        .bot(TOKEN, "demo_bot")
        .start()
        .await
        .expect("emulator");
    let handle = emulator.bot(TOKEN);
    load(&handle, BACKLOG);
    (emulator, handle)
}

/// CPU time this process has used so far (all threads, user + system), from `/proc/self/stat`
/// in clock ticks of 10 ms (Linux's `USER_HZ`); `None` off Linux.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which is in parentheses and may contain spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// One measured loop: its rate, and the CPU the whole process (emulator included) spent per
/// update while it ran.
struct Drained {
    rate: f64,
    cpu_per_update: Option<Duration>,
}

/// The three loops, each against its own freshly loaded emulator.
async fn drain_loop(name: &str) -> Drained {
    let (emulator, handle) = loaded_emulator().await;
    let cpu_before = process_cpu();
    // NB: every loop runs as a spawned task, as the poller does, so that none of them runs on
    // the runtime's blocking `block_on` thread.
    let elapsed = match name {
        "raw" => tokio::spawn(drain_raw(emulator.api_url(), BACKLOG))
            .await
            .expect("no panic"),
        "typed" => tokio::spawn(drain_typed(bot(&emulator), BACKLOG))
            .await
            .expect("no panic"),
        _ => drain_poller(&emulator, &handle, BACKLOG).await,
    };
    let cpu = process_cpu()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    emulator.shutdown().await;
    Drained {
        rate: rate(BACKLOG, elapsed),
        cpu_per_update: cpu.map(|cpu| cpu / u32::try_from(BACKLOG).unwrap_or(u32::MAX)),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn drain_case() {
    println!("drain: {BACKLOG} updates in {CHATS} chats, {ROUNDS} rounds");
    {
        let (emulator, handle) = loaded_emulator().await;
        decode_diagnosis(&emulator, &handle).await;
        emulator.shutdown().await;
    }
    let mut ratios = Vec::new();
    for round in 0..ROUNDS {
        // The order rotates, so no loop always runs first (on a cold runtime) or last.
        let mut order = ["raw", "typed", "poller"];
        order.rotate_left(round % 3);
        let mut runs = std::collections::HashMap::new();
        for name in order {
            runs.insert(name, drain_loop(name).await);
        }
        let (raw, typed, poller) = (runs["raw"].rate, runs["typed"].rate, runs["poller"].rate);
        ratios.push(poller / raw);
        let cpu = |name: &str| {
            runs[name].cpu_per_update.map_or_else(
                || "?".to_owned(),
                |d| format!("{:.2}", d.as_secs_f64() * 1e6),
            )
        };
        println!(
            "drain round {} ({}): poller+dispatcher {poller:>9.0} updates/s | bare raw loop \
             {raw:>9.0} (ratio {:.2}) | bare typed loop {typed:>9.0} (ratio {:.2}) | CPU µs per \
             update (whole process): poller {} raw {} typed {}",
            round + 1,
            order.join(", "),
            poller / raw,
            poller / typed,
            cpu("poller"),
            cpu("raw"),
            cpu("typed"),
        );
    }
    let each: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
    println!(
        "drain ratio poller+dispatcher / bare raw loop per round: [{}]  median {:.2} (target 0.70)",
        each.join(", "),
        median(ratios.clone())
    );
}

/// Diagnosis: the cost of decoding one 100-update getUpdates body the way the typed client does
/// (envelope into a `serde_json::Value`, then the result into `Vec<Update>`) versus straight
/// into the typed envelope.
async fn decode_diagnosis(emulator: &Emulator, handle: &BotHandle) {
    load(handle, 100);
    let url = format!("{}/bot{TOKEN}/getUpdates", emulator.api_url());
    let body = http()
        .post(&url)
        .json(&serde_json::json!({"limit": 100, "timeout": 0}))
        .send()
        .await
        .expect("getUpdates")
        .bytes()
        .await
        .expect("body");
    #[derive(Deserialize)]
    struct Typed {
        result: Vec<mpbot_api::Update>,
    }
    const REPS: u32 = 200;
    let started = Instant::now();
    for _ in 0..REPS {
        let envelope: mpbot_api::Envelope<serde_json::Value> =
            serde_json::from_slice(&body).expect("envelope");
        let updates: Vec<mpbot_api::Update> =
            serde_json::from_value(envelope.result.expect("result")).expect("updates");
        assert_eq!(updates.len(), 100);
    }
    let via_value = started.elapsed() / (REPS * 100);
    let started = Instant::now();
    for _ in 0..REPS {
        let typed: Typed = serde_json::from_slice(&body).expect("typed");
        assert_eq!(typed.result.len(), 100);
    }
    let direct = started.elapsed() / (REPS * 100);
    let started = Instant::now();
    for _ in 0..REPS {
        let ids: Batch = serde_json::from_slice(&body).expect("ids");
        assert_eq!(ids.result.len(), 100);
    }
    let ids_only = started.elapsed() / (REPS * 100);
    println!(
        "decode per update: via Value (the client today) {:.2} us | straight typed {:.2} us | \
         update_id only (raw loop) {:.2} us",
        via_value.as_secs_f64() * 1e6,
        direct.as_secs_f64() * 1e6,
        ids_only.as_secs_f64() * 1e6
    );
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn summary(name: &str, mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let (p50, p99) = (percentile(&samples, 0.50), percentile(&samples, 0.99));
    println!(
        "latency {name}: p50 {:>7.3} ms, p99 {:>7.3} ms, max {:>7.3} ms ({} posts)",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        samples.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        samples.len()
    );
    (p50, p99)
}

/// Posts one message through the control API over HTTP.
async fn post(http: &reqwest::Client, url: &str, i: usize) {
    let response = http
        .post(url)
        .json(&serde_json::json!({"chat_id": 7, "from": {"id": 7}, "text": format!("p{i}")}))
        .send()
        .await
        .expect("control API");
    assert!(response.status().is_success());
}

async fn latency_poller(emulator: &Emulator, handle: &BotHandle) -> Vec<Duration> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Instant>();
    let mut router = Router::new();
    router.on_message(move |_ctx: Context, _message: Message| {
        let now = Instant::now();
        let tx = tx.clone();
        async move { tx.send(now).map_err(|e| e.to_string()) }
    });
    let bot = bot(emulator);
    let dispatcher = Dispatcher::new(bot.clone(), handle.me(), router, DispatcherOptions::new());
    let polling = LongPolling::new(bot, LongPollingOptions::new()).expect("options");
    let (trigger, shutdown) = Shutdown::new();
    let running = tokio::spawn(dispatcher.run(Box::new(polling), shutdown));
    let samples = timed_posts(emulator, handle, &mut rx).await;
    trigger.trigger();
    running.await.expect("no panic").expect("clean stop");
    samples
}

/// Posts `POSTS` messages through the control API, each once a long poll waits; for each, the
/// time from just before the POST to the instant `arrived` reports.
async fn timed_posts(
    emulator: &Emulator,
    handle: &BotHandle,
    arrived: &mut mpsc::UnboundedReceiver<Instant>,
) -> Vec<Duration> {
    let http = http();
    let url = format!("{}/_emulator/bots/{TOKEN}/messages", emulator.base_url());
    let mut samples = Vec::with_capacity(POSTS);
    for i in 0..POSTS {
        handle.wait_for_long_poll().await;
        let sent = Instant::now();
        post(&http, &url, i).await;
        let got = arrived.recv().await.expect("the receiving side is running");
        samples.push(got - sent);
    }
    samples
}

async fn latency_bare(emulator: &Emulator, handle: &BotHandle) -> Vec<Duration> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Instant>();
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let url = format!("{}/bot{TOKEN}/getUpdates", emulator.api_url());
    let poller = tokio::spawn(async move {
        let http = http();
        let mut offset = 0_i64;
        loop {
            let request = http
                .post(&url)
                .json(&serde_json::json!({"offset": offset, "limit": 100, "timeout": 30}))
                .send();
            let response = tokio::select! {
                r = request => r.expect("getUpdates"),
                _ = &mut stop_rx => return,
            };
            let body = response.bytes().await.expect("body");
            let batch: Batch = serde_json::from_slice(&body).expect("envelope");
            let now = Instant::now();
            for update in &batch.result {
                offset = update.update_id + 1;
                let _ = tx.send(now);
            }
        }
    });
    let samples = timed_posts(emulator, handle, &mut rx).await;
    let _ = stop_tx.send(());
    poller.await.expect("no panic");
    handle.wait_for_no_long_poll().await;
    samples
}

async fn latency_case() {
    let emulator = Emulator::builder()
        .bot(TOKEN, "demo_bot")
        .start()
        .await
        .expect("emulator");
    let handle = emulator.bot(TOKEN);
    let bare = latency_bare(&emulator, &handle).await;
    let poller = latency_poller(&emulator, &handle).await;
    let (b50, b99) = summary("bare long poll  ", bare);
    let (p50, p99) = summary("poller+dispatch ", poller);
    println!(
        "latency ratio poller/bare: p50 {:.2}, p99 {:.2}; p99 target 2 ms: {}",
        p50.as_secs_f64() / b50.as_secs_f64(),
        p99.as_secs_f64() / b99.as_secs_f64(),
        if p99 <= Duration::from_millis(2) {
            "met"
        } else {
            "NOT met"
        }
    );
    emulator.shutdown().await;
}

fn main() {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wants = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        if wants("drain") {
            drain_case().await;
        }
        if wants("latency") {
            latency_case().await;
        }
    });
}
