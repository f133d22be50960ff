//! Load bench: how fast the emulator serves getUpdates and delivers webhooks, each next to a
//! baseline measured in the same run on the same machine.
//!
//! Run with `cargo bench -p mpbot-emulator --bench serving`. It prints one line per case with
//! the rate and the ratio to its baseline:
//! - getUpdates: a bare client loop drains a 200 000-update backlog in batches of 100 (offset
//!   confirmation, one request at a time). Baseline: the same loop against a bare hyper server
//!   answering a fixed, pre-serialized 100-update body, i.e. the HTTP round-trip ceiling.
//! - webhook: the emulator delivers 20 000 updates (1 000 chats, max_connections 40) to a bare
//!   hyper receiver. Baseline: 40 bare reqwest tasks POSTing the same bodies to the same
//!   receiver, i.e. the delivery transport ceiling.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use mpbot_api::User;
use mpbot_emulator::Emulator;
use serde::Deserialize;
use tokio::net::TcpListener;

const BACKLOG: usize = 200_000;
const BATCH: usize = 100;
const WEBHOOK_UPDATES: usize = 20_000;
const WEBHOOK_CHATS: i64 = 1_000;
const MAX_CONNECTIONS: usize = 40;

#[derive(Deserialize)]
struct Batch {
    result: Vec<UpdateIdOnly>,
}

#[derive(Deserialize)]
struct UpdateIdOnly {
    update_id: i64,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(64)
        .build()
        .expect("client")
}

/// Drains `total` updates from `url` with offset confirmation; returns (updates, elapsed).
async fn drain(url: &str, total: usize) -> (usize, Duration) {
    let http = client();
    let mut offset = 0_i64;
    let mut got = 0;
    let started = Instant::now();
    while got < total {
        let body = http
            .post(url)
            .json(&serde_json::json!({"offset": offset, "limit": BATCH, "timeout": 0}))
            .send()
            .await
            .expect("getUpdates")
            .bytes()
            .await
            .expect("body");
        let batch: Batch = serde_json::from_slice(&body).expect("envelope");
        if batch.result.is_empty() {
            break;
        }
        got += batch.result.len();
        offset = batch.result.last().map_or(offset, |u| u.update_id + 1);
    }
    (got, started.elapsed())
}

/// A bare hyper server answering every request with `body` (200, JSON).
async fn fixed_server(body: Bytes) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let body = body.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let body = body.clone();
                    async move {
                        let _ = req.into_body().collect().await;
                        let mut resp = http::Response::new(Full::new(body));
                        resp.headers_mut().insert(
                            http::header::CONTENT_TYPE,
                            http::HeaderValue::from_static("application/json"),
                        );
                        Ok::<_, std::convert::Infallible>(resp)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

async fn bench_get_updates() {
    let emulator = Emulator::builder().start().await.expect("emulator");
    let bot = emulator.default_bot();
    let load = Instant::now();
    for i in 0..BACKLOG {
        let chat = i64::try_from(i % 1000).unwrap_or(0) + 1;
        bot.user_message(chat, User::new(chat), "benchmark message text");
    }
    let load = load.elapsed();

    // The baseline answers the first real batch over and over.
    let url = format!("{}/bot{}/getUpdates", emulator.api_url(), bot.token());
    let sample = client()
        .post(&url)
        .json(&serde_json::json!({"limit": BATCH}))
        .send()
        .await
        .expect("sample")
        .bytes()
        .await
        .expect("sample body");
    // Offsets in the loop below skip the sampled batch: it is already consumed.
    let (got, elapsed) = drain(&url, BACKLOG - BATCH).await;
    assert_eq!(
        got,
        BACKLOG - BATCH,
        "the emulator served the whole backlog"
    );
    let emu_rate = got as f64 / elapsed.as_secs_f64();

    let baseline = fixed_server(sample).await;
    let base_url = format!("http://{baseline}/getUpdates");
    let baseline_requests = (BACKLOG - BATCH) / BATCH;
    let http = client();
    let started = Instant::now();
    for _ in 0..baseline_requests {
        let body = http
            .post(&base_url)
            .json(&serde_json::json!({"offset": 0, "limit": BATCH, "timeout": 0}))
            .send()
            .await
            .expect("baseline")
            .bytes()
            .await
            .expect("baseline body");
        let batch: Batch = serde_json::from_slice(&body).expect("baseline envelope");
        assert_eq!(batch.result.len(), BATCH);
    }
    let base_rate = (baseline_requests * BATCH) as f64 / started.elapsed().as_secs_f64();

    println!(
        "getUpdates: {got} updates in {:.3} s = {:.0} updates/s ({:.0} req/s); \
         baseline bare hyper {:.0} updates/s; ratio {:.2} (backlog load {:.2} s)",
        elapsed.as_secs_f64(),
        emu_rate,
        emu_rate / BATCH as f64,
        base_rate,
        emu_rate / base_rate,
        load.as_secs_f64(),
    );
    emulator.shutdown().await;
}

/// A bare receiver answering 200 and counting requests with a body.
async fn counting_receiver() -> (SocketAddr, Arc<AtomicU64>) {
    let count = Arc::new(AtomicU64::new(0));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task_count = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let count = task_count.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let count = count.clone();
                    async move {
                        let body = req.into_body().collect().await.map(|b| b.to_bytes());
                        if body.is_ok_and(|b| !b.is_empty()) {
                            count.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                            Bytes::new(),
                        )))
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, count)
}

async fn bench_webhook() {
    let emulator = Emulator::builder()
        .allow_http_webhooks(true)
        .start()
        .await
        .expect("emulator");
    let bot = emulator.default_bot();
    for i in 0..WEBHOOK_UPDATES {
        let chat = i64::try_from(i).unwrap_or(0) % WEBHOOK_CHATS + 1;
        bot.user_message(chat, User::new(chat), "benchmark message text");
    }
    let (addr, count) = counting_receiver().await;
    let url = format!("http://{addr}/hook");
    let api = format!("{}/bot{}/setWebhook", emulator.api_url(), bot.token());
    let started = Instant::now();
    let set = client()
        .post(&api)
        .json(&serde_json::json!({"url": url, "max_connections": MAX_CONNECTIONS}))
        .send()
        .await
        .expect("setWebhook");
    assert!(set.status().is_success());
    tokio::time::timeout(Duration::from_secs(120), bot.wait_until_drained())
        .await
        .expect("all delivered");
    let elapsed = started.elapsed();
    let delivered = count.load(Ordering::Relaxed);
    assert!(delivered >= WEBHOOK_UPDATES as u64);
    let emu_rate = WEBHOOK_UPDATES as f64 / elapsed.as_secs_f64();
    emulator.shutdown().await;

    // Baseline: bare reqwest tasks posting the same kind of body to the same receiver.
    let body = Bytes::from(
        serde_json::to_vec(&serde_json::json!({
            "update_id": 1,
            "message": {"message_id": 1, "chat": {"id": 1, "type": "private"},
                        "from": {"id": 1, "is_bot": false}, "date": 0,
                        "text": "benchmark message text"}
        }))
        .expect("json"),
    );
    let http = client();
    let per_task = WEBHOOK_UPDATES / MAX_CONNECTIONS;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..MAX_CONNECTIONS {
        let http = http.clone();
        let url = url.clone();
        let body = body.clone();
        tasks.spawn(async move {
            for _ in 0..per_task {
                let resp = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .expect("baseline post");
                let _ = resp.bytes().await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let base_rate = (per_task * MAX_CONNECTIONS) as f64 / started.elapsed().as_secs_f64();
    println!(
        "webhook: {WEBHOOK_UPDATES} deliveries in {:.3} s = {:.0} updates/s \
         (max_connections {MAX_CONNECTIONS}, {WEBHOOK_CHATS} chats); baseline bare reqwest \
         {:.0} req/s; ratio {:.2}",
        elapsed.as_secs_f64(),
        emu_rate,
        base_rate,
        emu_rate / base_rate,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing useful either.
    // Any argument naming a case filters to it.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wants = |name: &str| args.is_empty() || args.iter().any(|a| name.contains(a.as_str()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        if wants("get_updates") {
            bench_get_updates().await;
        }
        if wants("webhook") {
            bench_webhook().await;
        }
    });
}
