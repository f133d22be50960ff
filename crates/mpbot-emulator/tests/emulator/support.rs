//! Helpers: raw HTTP calls, a hang guard, and a webhook receiver (plain or HTTPS).

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use mpbot_api::User;
use mpbot_emulator::Emulator;
use mpbot_emulator::tls::TestCa;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

pub(crate) const TOKEN: &str = "123456:TEST-TOKEN";

/// Turns a hang into a failure; never used to order events.
pub(crate) async fn guard<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("hang guard: the awaited event never happened")
}

pub(crate) async fn start() -> Emulator {
    Emulator::builder().start().await.expect("emulator starts")
}

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

pub(crate) fn user(id: i64) -> User {
    User {
        first_name: Some(format!("User{id}")),
        ..User::new(id)
    }
}

/// A raw answer: HTTP status, content type, JSON body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) body: Value,
}

pub(crate) async fn answer(resp: reqwest::Response) -> Answer {
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = resp.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Answer {
        status,
        content_type,
        body,
    }
}

/// POSTs a JSON body to a Bot API method of `token`.
pub(crate) async fn call_as(emu: &Emulator, token: &str, method: &str, params: Value) -> Answer {
    let url = format!("{}/bot{token}/{method}", emu.api_url());
    answer(
        guard(client().post(url).json(&params).send())
            .await
            .unwrap(),
    )
    .await
}

/// POSTs a JSON body to a Bot API method of the default bot.
pub(crate) async fn call(emu: &Emulator, method: &str, params: Value) -> Answer {
    call_as(emu, TOKEN, method, params).await
}

/// Calls a control route.
pub(crate) async fn control(
    emu: &Emulator,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Answer {
    let url = format!("{}/_emulator/{path}", emu.base_url());
    let mut req = client().request(method, url);
    if let Some(body) = body {
        req = req.json(&body);
    }
    answer(guard(req.send()).await.unwrap()).await
}

/// Asserts an error envelope: status == error_code, JSON, description, no result.
pub(crate) fn assert_error(a: &Answer, code: u16) {
    assert_eq!(a.status, code, "{:?}", a.body);
    assert_eq!(a.content_type, "application/json");
    assert_eq!(a.body["ok"], false);
    assert_eq!(a.body["error_code"], code);
    assert!(a.body["description"].is_string(), "{:?}", a.body);
    assert!(a.body.get("result").is_none(), "{:?}", a.body);
}

/// A request the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: Bytes,
}

impl Hit {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub(crate) fn update_id(&self) -> i64 {
        self.json()["update_id"].as_i64().unwrap_or(-1)
    }

    pub(crate) fn chat_id(&self) -> i64 {
        self.json()["message"]["chat"]["id"].as_i64().unwrap_or(0)
    }

    pub(crate) fn secret(&self) -> Option<String> {
        self.headers
            .get(mpbot_api::SECRET_HEADER)
            .map(|v| v.to_str().unwrap().to_owned())
    }
}

/// Decides the status for a hit.
pub(crate) type Responder = Arc<dyn Fn(&Hit) -> u16 + Send + Sync>;

/// Counts concurrent requests; holds them until `open_at` are in flight at once (if set).
#[derive(Debug)]
pub(crate) struct Stats {
    pub(crate) in_flight: AtomicUsize,
    pub(crate) max_in_flight: AtomicUsize,
    /// Per chat: how many requests are in flight right now, and the most ever.
    pub(crate) per_chat: Mutex<std::collections::HashMap<i64, (usize, usize)>>,
    gate: watch::Sender<bool>,
    open_at: Option<usize>,
}

/// A webhook receiver on 127.0.0.1 (plain HTTP or HTTPS with a test CA's server certificate).
#[derive(Debug)]
pub(crate) struct Receiver {
    pub(crate) port: u16,
    pub(crate) hits: mpsc::UnboundedReceiver<Hit>,
    pub(crate) stats: Arc<Stats>,
    server: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
pub(crate) struct ReceiverOptions {
    pub(crate) tls: Option<TestCa>,
    pub(crate) responder: Option<Responder>,
    pub(crate) open_at: Option<usize>,
}

impl Receiver {
    pub(crate) async fn start(opts: ReceiverOptions) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, hits) = mpsc::unbounded_channel();
        let stats = Arc::new(Stats {
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            per_chat: Mutex::default(),
            gate: watch::Sender::new(opts.open_at.is_none()),
            open_at: opts.open_at,
        });
        let responder = opts.responder.unwrap_or_else(|| Arc::new(|_: &Hit| 200));
        let acceptor = opts.tls.map(|ca| {
            let certs = CertificateDer::pem_slice_iter(ca.server_cert_pem().as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = PrivateKeyDer::from_pem_slice(ca.server_key_pem().as_bytes()).unwrap();
            let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            tokio_rustls::TlsAcceptor::from(Arc::new(config))
        });
        let task_stats = stats.clone();
        let server = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let tx = tx.clone();
                let stats = task_stats.clone();
                let responder = responder.clone();
                let acceptor = acceptor.clone();
                conns.spawn(async move {
                    let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let tx = tx.clone();
                        let stats = stats.clone();
                        let responder = responder.clone();
                        async move {
                            let headers = req.headers().clone();
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let hit = Hit { headers, body };
                            let status = stats.enter(&hit).await;
                            let status = status.unwrap_or_else(|| responder(&hit));
                            stats.leave(&hit);
                            let _ = tx.send(hit);
                            let mut resp = http::Response::new(Full::new(Bytes::new()));
                            *resp.status_mut() = http::StatusCode::from_u16(status).unwrap();
                            Ok::<_, std::convert::Infallible>(resp)
                        }
                    });
                    match acceptor {
                        Some(acceptor) => {
                            if let Ok(tls) = acceptor.accept(stream).await {
                                let _ = http1::Builder::new()
                                    .serve_connection(TokioIo::new(tls), service)
                                    .await;
                            }
                        }
                        None => {
                            let _ = http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                    }
                });
            }
        });
        Self {
            port,
            hits,
            stats,
            server,
        }
    }

    pub(crate) fn url(&self, scheme: &str, host: &str) -> String {
        format!("{scheme}://{host}:{}/hook", self.port)
    }

    pub(crate) async fn next(&mut self) -> Hit {
        guard(self.hits.recv()).await.expect("receiver alive")
    }

    /// Stops accepting and closes every connection (the port is closed when this returns).
    pub(crate) async fn stop(&mut self) {
        self.server.abort();
        let _ = (&mut self.server).await;
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Stats {
    /// Records the request as in flight; waits for the gate. An empty-body probe skips both.
    async fn enter(&self, hit: &Hit) -> Option<u16> {
        if hit.body.is_empty() {
            return None;
        }
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        {
            let mut per_chat = self.per_chat.lock().unwrap();
            let entry = per_chat.entry(hit.chat_id()).or_default();
            entry.0 += 1;
            entry.1 = entry.1.max(entry.0);
        }
        if self.open_at.is_some_and(|n| now >= n) {
            self.gate.send_replace(true);
        }
        let mut gate = self.gate.subscribe();
        let _ = gate.wait_for(|open| *open).await;
        None
    }

    fn leave(&self, hit: &Hit) {
        if hit.body.is_empty() {
            return;
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let mut per_chat = self.per_chat.lock().unwrap();
        if let Some(entry) = per_chat.get_mut(&hit.chat_id()) {
            entry.0 -= 1;
        }
    }
}
