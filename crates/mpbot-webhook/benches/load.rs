//! Load benchmark of the webhook listener against a bare hyper baseline, on loopback.
//!
//! Run with `cargo bench -p mpbot-webhook --bench load` (add `-- --secs 5` for longer cases).
//!
//! Each server runs in a child process of this binary (so its peak RSS is its own), plain HTTP
//! on 127.0.0.1. One load generator in this process opens N keep-alive HTTP/1.1 connections
//! and posts valid updates with the secret as fast as the answers come back. Per case it
//! reports requests/s (answered 200), updates handled/s (counted by the server's noop handler),
//! p50/p99 latency, the ratio to the baseline measured in the same run at the same N, and the
//! server process's peak RSS (VmHWM).
//!
//! Servers:
//! - `baseline`: a bare hyper server that checks the secret header, parses the body into
//!   `mpbot_api::Update` and answers 200, handling the update inline (a noop).
//! - `received`: the listener with a sink that takes the update at once (the noop handler runs
//!   inline, so handled/s equals answered/s by construction).
//! - `handled`: the listener with a sink that queues the update (bounded) to a worker task and
//!   answers once the worker ran the noop handler: the shape of the `handled` ack policy.
//! - `disp-recv` / `disp-hand`: the listener in front of the real `mpbot_core::Dispatcher`
//!   (default options) and a `Router` with one noop message handler, under the `received` and
//!   `handled` ack policies.
//! - `disp-hand-m`: `disp-hand` with the Prometheus recorder installed (metrics on), so
//!   `--kinds disp-hand,disp-hand-m` measures the metrics' cost in one run.

use std::convert::Infallible;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use mpbot_api::{Message, Update};
use mpbot_core::{
    AckPolicy, Context, Deliver, Delivered, Dispatcher, DispatcherOptions, Refused, Router,
    Shutdown, UpdateSink, async_trait,
};
use mpbot_webhook::{Register, Webhook, WebhookOptions, WebhookSecret};
use tokio::sync::{mpsc, oneshot};

const SECRET: &str = "bench-secret";
const PATH: &str = "/hook";
/// Bound of the queue between the sink and the handler worker.
const QUEUE: usize = 1024;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--serve") {
        serve_child(&args[pos + 1]);
        return;
    }
    let secs = args
        .iter()
        .position(|a| a == "--secs")
        .and_then(|p| args.get(p + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0_f64);
    let conns: Vec<usize> = args
        .iter()
        .position(|a| a == "--conns")
        .and_then(|p| args.get(p + 1))
        .map(|s| s.split(',').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_else(|| vec![32, 256]);
    let rounds: usize = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|p| args.get(p + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    // `--kinds baseline,received` measures a subset; the baseline always runs first.
    let mut kinds: Vec<&str> = vec![KINDS[0]];
    match args
        .iter()
        .position(|a| a == "--kinds")
        .and_then(|p| args.get(p + 1))
    {
        Some(list) => kinds.extend(
            KINDS[1..]
                .iter()
                .filter(|k| list.split(',').any(|l| l == **k)),
        ),
        None => kinds.extend(&KINDS[1..]),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "webhook load bench: plain HTTP/1.1 keep-alive on loopback, {secs} s per case (+0.5 s \
         warm-up), {rounds} interleaved rounds, median shown"
    );
    println!(
        "{:<10} {:>5} {:>9} {:>9} {:>7} {:>7} {:>6} {:>8} {:>9} {:>8} {:>6}",
        "server",
        "conns",
        "req/s",
        "handled/s",
        "p50 ms",
        "p99 ms",
        "ratio",
        "cpu us/r",
        "cpu ratio",
        "peak MiB",
        "non200"
    );
    for &n in &conns {
        // Rounds interleave the servers so a burst of background load hits all of them alike.
        let mut results: Vec<Vec<CaseResult>> = kinds.iter().map(|_| Vec::new()).collect();
        for _ in 0..rounds {
            for (k, kind) in kinds.iter().enumerate() {
                let result = runtime.block_on(run_case(kind, n, Duration::from_secs_f64(secs)));
                results[k].push(result);
            }
        }
        let base = median(results[0].iter().map(|r| r.rps));
        let base_cpu = median(results[0].iter().map(|r| r.cpu_us));
        for (kind, runs) in kinds.iter().zip(&results) {
            let rps = median(runs.iter().map(|r| r.rps));
            let cpu = median(runs.iter().map(|r| r.cpu_us));
            println!(
                "{:<10} {:>5} {:>9.0} {:>9.0} {:>7.3} {:>7.3} {:>6.2} {:>8.2} {:>9.2} {:>8.1} {:>6}",
                kind,
                n,
                rps,
                median(runs.iter().map(|r| r.handled_ps)),
                median(runs.iter().map(|r| r.p50_ms)),
                median(runs.iter().map(|r| r.p99_ms)),
                rps / base,
                cpu,
                base_cpu / cpu,
                runs.iter().map(|r| r.peak_kib).max().unwrap_or(0) as f64 / 1024.0,
                runs.iter().map(|r| r.non_ok).sum::<u64>(),
            );
        }
    }
}

/// The servers measured, baseline first.
const KINDS: [&str; 6] = [
    "baseline",
    "received",
    "handled",
    "disp-recv",
    "disp-hand",
    "disp-hand-m",
];

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

struct CaseResult {
    /// Server CPU time (user + system) per answered request, µs.
    cpu_us: f64,
    rps: f64,
    handled_ps: f64,
    p50_ms: f64,
    p99_ms: f64,
    peak_kib: u64,
    non_ok: u64,
}

/// Starts the server child, drives load, reads its counters.
async fn run_case(kind: &str, conns: usize, duration: Duration) -> CaseResult {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["--serve", kind])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the server child");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr: SocketAddr = line.trim().strip_prefix("ADDR ").unwrap().parse().unwrap();

    let warmup = Duration::from_millis(500);
    let stats = Arc::new(LoadStats::default());
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let mut tasks = Vec::new();
    for c in 0..conns {
        tasks.push(tokio::spawn(connection(
            addr,
            c as i64,
            measure_from,
            end,
            stats.clone(),
        )));
    }
    // Handled count at the start of the measured window.
    tokio::time::sleep_until(measure_from.into()).await;
    let (handled_start, _, cpu_start) = query(&mut stdin, &mut stdout);
    tokio::time::sleep_until(end.into()).await;
    let (handled_end, _, cpu_end) = query(&mut stdin, &mut stdout);
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    // Let the handler worker catch up, then read the peak RSS.
    let (_, peak_kib, _) = query(&mut stdin, &mut stdout);
    drop(stdin);
    let _ = child.wait();

    latencies.sort_unstable();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    let secs = duration.as_secs_f64();
    let answered = stats.ok.load(Ordering::Relaxed);
    CaseResult {
        // Ticks are 10 ms; µs per answered request.
        cpu_us: (cpu_end - cpu_start) as f64 * 10_000.0 / answered.max(1) as f64,
        rps: answered as f64 / secs,
        handled_ps: (handled_end - handled_start) as f64 / secs,
        p50_ms: pick(0.50),
        p99_ms: pick(0.99),
        peak_kib,
        non_ok: stats.non_ok.load(Ordering::Relaxed),
    }
}

/// Asks the child for (handled so far, peak RSS KiB, CPU ticks so far).
fn query(stdin: &mut std::process::ChildStdin, stdout: &mut impl BufRead) -> (u64, u64, u64) {
    writeln!(stdin, "stats").unwrap();
    stdin.flush().unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let mut parts = line
        .split_whitespace()
        .filter_map(|p| p.parse::<u64>().ok());
    (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    )
}

#[derive(Default)]
struct LoadStats {
    ok: AtomicU64,
    non_ok: AtomicU64,
}

/// One keep-alive connection posting updates back to back; returns latencies (µs) of the
/// requests answered 200 within the measured window.
async fn connection(
    addr: SocketAddr,
    index: i64,
    measure_from: Instant,
    end: Instant,
    stats: Arc<LoadStats>,
) -> Vec<u32> {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut latencies = Vec::with_capacity(1 << 16);
    let mut seq: i64 = 0;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        seq += 1;
        let update_id = index * 1_000_000_000 + seq;
        let body = format!(
            r#"{{"update_id":{update_id},"message":{{"message_id":{seq},"date":1700000000,"chat":{{"id":{},"type":"private"}},"from":{{"id":{},"is_bot":false,"first_name":"Load"}},"text":"hello from the load generator"}}}}"#,
            1000 + index,
            1000 + index
        );
        let request = Request::post(PATH)
            .header("host", "bench")
            .header("content-type", "application/json")
            .header(mpbot_api::SECRET_HEADER, SECRET)
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        sender.ready().await.unwrap();
        let response = sender.send_request(request).await.unwrap();
        let status = response.status();
        let _ = response.into_body().collect().await;
        if now >= measure_from {
            if status == StatusCode::OK {
                stats.ok.fetch_add(1, Ordering::Relaxed);
                latencies.push(u32::try_from(now.elapsed().as_micros()).unwrap_or(u32::MAX));
            } else {
                stats.non_ok.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    latencies
}

/// CPU time (user + system) this process used so far, in clock ticks (1/100 s on Linux).
fn cpu_ticks() -> u64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the parenthesised command name; utime and stime are 14 and 15.
            let rest = s.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let utime: u64 = fields.get(11)?.parse().ok()?;
            let stime: u64 = fields.get(12)?.parse().ok()?;
            Some(utime + stime)
        })
        .unwrap_or(0)
}

/// Peak resident set size of this process, KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .and_then(|kb| kb.parse().ok())
        .unwrap_or(0)
}

/// The child: serves `kind` until stdin closes; answers "stats" lines.
fn serve_child(kind: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let handled = Arc::new(AtomicU64::new(0));
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (trigger, shutdown) = Shutdown::new();
        let server = match kind {
            "baseline" => tokio::spawn(baseline(listener, handled.clone())),
            "received" | "handled" => {
                let sink = if kind == "received" {
                    UpdateSink::new(AcceptSink(handled.clone()))
                } else {
                    let (tx, rx) = mpsc::channel::<Job>(QUEUE);
                    tokio::spawn(worker(rx, handled.clone()));
                    UpdateSink::new(QueueSink { tx })
                };
                let webhook = Webhook::from_listener(listener, webhook_options()).unwrap();
                tokio::spawn(async move {
                    webhook.serve(sink, shutdown).await.unwrap();
                })
            }
            "disp-recv" | "disp-hand" | "disp-hand-m" => {
                if kind == "disp-hand-m" {
                    // Metrics on: the recorder the `mpbot` facade installs with an admin
                    // listener (same buckets), before the dispatcher registers its handles.
                    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
                        .set_buckets(&[0.001, 0.01, 0.1, 1.0, 10.0])
                        .unwrap()
                        .build_recorder();
                    let handle = recorder.handle();
                    metrics::set_global_recorder(recorder).unwrap();
                    // A scrape every second (more often than Prometheus usually scrapes).
                    tokio::spawn(async move {
                        loop {
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            std::hint::black_box(handle.render());
                        }
                    });
                }
                let ack = if kind == "disp-recv" {
                    AckPolicy::Received
                } else {
                    AckPolicy::Handled
                };
                let mut router = Router::new();
                let counter = handled.clone();
                router.on_message(move |_ctx: Context, message: Message| {
                    let counter = counter.clone();
                    async move {
                        std::hint::black_box(&message);
                        counter.fetch_add(1, Ordering::Relaxed);
                        Ok::<(), Infallible>(())
                    }
                });
                // The noop handler never calls the API; the client is only required.
                let bot = mpbot_api::Bot::builder(mpbot_api::BotToken::new("1:bench").unwrap())
                    .api_url("http://127.0.0.1:9/bot")
                    .build()
                    .unwrap();
                let dispatcher = Dispatcher::new(
                    bot,
                    mpbot_api::User::new(1),
                    router,
                    DispatcherOptions::new().with_ack(ack),
                );
                let webhook = Webhook::from_listener(listener, webhook_options()).unwrap();
                tokio::spawn(async move {
                    dispatcher.run(Box::new(webhook), shutdown).await.unwrap();
                })
            }
            other => panic!("unknown server kind {other}"),
        };
        println!("ADDR {addr}");
        std::io::stdout().flush().unwrap();
        let handled = handled.clone();
        tokio::task::spawn_blocking(move || {
            let stdin = std::io::stdin();
            for line in stdin.lock().lines() {
                if line.is_err() {
                    break;
                }
                println!(
                    "{} {} {}",
                    handled.load(Ordering::Relaxed),
                    peak_rss_kib(),
                    cpu_ticks()
                );
                std::io::stdout().flush().unwrap();
            }
        })
        .await
        .unwrap();
        trigger.trigger();
        server.abort();
    });
}

/// The listener's options in every listener case: defaults, the secret, no registration.
fn webhook_options() -> WebhookOptions {
    WebhookOptions::new(format!("https://bench.example{PATH}"))
        .with_secret(WebhookSecret::new(SECRET))
        .with_register(Register::Off)
}

/// One update for the handler worker; `done` is answered once the handler ran.
struct Job {
    update: Update,
    done: oneshot::Sender<()>,
}

/// The noop "handled" step: what a dispatcher with a noop handler costs at least.
async fn worker(mut rx: mpsc::Receiver<Job>, handled: Arc<AtomicU64>) {
    while let Some(job) = rx.recv().await {
        std::hint::black_box(&job.update);
        handled.fetch_add(1, Ordering::Relaxed);
        let _ = job.done.send(());
    }
}

/// `received`: takes the update at once and runs the noop handler inline.
struct AcceptSink(Arc<AtomicU64>);

#[async_trait]
impl Deliver for AcceptSink {
    async fn deliver(&self, update: Update) -> Result<Delivered, Refused> {
        std::hint::black_box(&update);
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(Delivered::Accepted)
    }

    fn free_capacity(&self) -> usize {
        usize::MAX
    }

    async fn wait_for_capacity(&self) {}
}

/// `handled`: a bounded queue to a worker task that runs the noop handler; answers once it
/// ran. A full queue refuses (the listener answers 503).
struct QueueSink {
    tx: mpsc::Sender<Job>,
}

#[async_trait]
impl Deliver for QueueSink {
    async fn deliver(&self, update: Update) -> Result<Delivered, Refused> {
        let (done, finished) = oneshot::channel();
        self.tx
            .try_send(Job { update, done })
            .map_err(|_| Refused::Overloaded)?;
        finished.await.map_err(|_| Refused::ShuttingDown)?;
        Ok(Delivered::Accepted)
    }

    fn free_capacity(&self) -> usize {
        self.tx.capacity()
    }

    async fn wait_for_capacity(&self) {}
}

/// The baseline: a bare hyper HTTP/1.1 server that checks the secret header, parses the body
/// into `Update`, runs the noop handler inline and answers 200.
async fn baseline(listener: tokio::net::TcpListener, handled: Arc<AtomicU64>) {
    loop {
        let (stream, _) = listener.accept().await.unwrap();
        stream.set_nodelay(true).unwrap();
        let handled = handled.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                    let handled = handled.clone();
                    async move {
                        let ok = request
                            .headers()
                            .get(mpbot_api::SECRET_HEADER)
                            .is_some_and(|v| v.as_bytes() == SECRET.as_bytes());
                        let status = if !ok {
                            StatusCode::UNAUTHORIZED
                        } else {
                            let body = request.into_body().collect().await.unwrap().to_bytes();
                            match serde_json::from_slice::<Update>(&body) {
                                Ok(update) => {
                                    std::hint::black_box(&update);
                                    handled.fetch_add(1, Ordering::Relaxed);
                                    StatusCode::OK
                                }
                                Err(_) => StatusCode::BAD_REQUEST,
                            }
                        };
                        let mut response = Response::new(Full::new(Bytes::new()));
                        *response.status_mut() = status;
                        Ok::<_, Infallible>(response)
                    }
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
