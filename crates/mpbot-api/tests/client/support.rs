//! A scripted Bot API server on loopback, and a `tracing` capture, for the client tests.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use mpbot_api::{Bot, BotBuilder, BotToken, RetryPolicy};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// The token every test uses; the redaction tests look for it in every output.
pub(crate) const TOKEN: &str = "987654:REDACT-ME-very-secret-token";

/// The hang guard: turns a hang into a failure, never orders events.
pub(crate) const GUARD: Duration = Duration::from_secs(10);

/// What the server answers to one request.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    status: u16,
    content_type: &'static str,
    /// `{path}` in the body is replaced by the request path (which holds the token), to check
    /// the client masks a server echoing it.
    body: String,
    headers: Vec<(&'static str, String)>,
    /// Hold the response this long first (a long poll being held).
    delay: Option<Duration>,
    /// Never answer.
    hang: bool,
}

impl Reply {
    /// `{"ok": true, "result": result}`.
    pub(crate) fn ok(result: serde_json::Value) -> Self {
        let envelope = mpbot_api::Envelope::success(result);
        Self::json(200, &serde_json::to_value(envelope).unwrap())
    }

    /// An error envelope with HTTP status `status`.
    pub(crate) fn error(status: u16, code: i64, description: &str) -> Self {
        Self::json(
            status,
            &serde_json::json!({"ok": false, "error_code": code, "description": description}),
        )
    }

    /// Any JSON body.
    pub(crate) fn json(status: u16, body: &serde_json::Value) -> Self {
        Self::raw(status, "application/json", &body.to_string())
    }

    /// Any body.
    pub(crate) fn raw(status: u16, content_type: &'static str, body: &str) -> Self {
        Self {
            status,
            content_type,
            body: body.to_owned(),
            headers: Vec::new(),
            delay: None,
            hang: false,
        }
    }

    /// Never answers.
    pub(crate) fn hang() -> Self {
        Self {
            hang: true,
            ..Self::ok(serde_json::Value::Null)
        }
    }

    /// Adds a response header.
    pub(crate) fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    /// Holds the response for `delay` before answering.
    pub(crate) fn delayed(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    /// The last path segment.
    pub(crate) method: String,
    /// The whole path.
    pub(crate) path: String,
    /// The `Content-Type` header.
    pub(crate) content_type: String,
    /// The body bytes.
    pub(crate) body: Bytes,
}

impl Recorded {
    /// The body as JSON.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

type Fallback = dyn Fn(&Recorded) -> Reply + Send + Sync;

struct State {
    script: Mutex<VecDeque<Reply>>,
    fallback: Box<Fallback>,
    seen: Mutex<Vec<Recorded>>,
    tx: mpsc::UnboundedSender<Recorded>,
}

/// A Bot API server on `127.0.0.1:0`: it answers from a script, then from a fallback.
pub(crate) struct TestServer {
    addr: SocketAddr,
    state: Arc<State>,
    rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Recorded>>,
}

impl TestServer {
    /// Answers `script` in order, then `fallback` forever.
    pub(crate) async fn start(script: Vec<Reply>, fallback: Reply) -> Self {
        Self::start_with(script, move |_| fallback.clone()).await
    }

    /// Answers `script` in order, then whatever `fallback` says for each request.
    pub(crate) async fn start_with(
        script: Vec<Reply>,
        fallback: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let state = Arc::new(State {
            script: Mutex::new(script.into()),
            fallback: Box::new(fallback),
            seen: Mutex::new(Vec::new()),
            tx,
        });
        let accept_state = Arc::clone(&state);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&accept_state);
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(Arc::clone(&state), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            state,
            rx: tokio::sync::Mutex::new(rx),
        }
    }

    /// The base URL to give the client.
    pub(crate) fn url(&self) -> String {
        format!("http://{}/bot", self.addr)
    }

    /// A client builder pointed at this server: no throttle, a seeded jitter, and a retry policy
    /// with millisecond waits so retry tests stay fast.
    pub(crate) fn bot(&self) -> BotBuilder {
        Bot::builder(BotToken::new(TOKEN).unwrap())
            .api_url(self.url())
            .rate_limit(None)
            .jitter_seed(7)
            .retry_policy(fast_retries())
    }

    /// How many requests arrived.
    pub(crate) fn count(&self) -> usize {
        self.state.seen.lock().unwrap().len()
    }

    /// Every request so far.
    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.state.seen.lock().unwrap().clone()
    }

    /// Waits for the next request to arrive (hang-guarded).
    pub(crate) async fn next_request(&self) -> Recorded {
        tokio::time::timeout(GUARD, async { self.rx.lock().await.recv().await })
            .await
            .expect("a request within the hang guard")
            .expect("the server is running")
    }
}

/// A retry policy with the default attempts but millisecond waits.
pub(crate) fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_base_delay(Duration::from_millis(1))
        .with_max_delay(Duration::from_millis(5))
}

/// An address nothing listens on: bound, then released.
pub(crate) async fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/bot")
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let content_type = req
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let recorded = Recorded {
        method: path.rsplit('/').next().unwrap_or_default().to_owned(),
        path: path.clone(),
        content_type,
        body,
    };
    state.seen.lock().unwrap().push(recorded.clone());
    let reply = {
        let scripted = state.script.lock().unwrap().pop_front();
        scripted.unwrap_or_else(|| (state.fallback)(&recorded))
    };
    let _ = state.tx.send(recorded);
    if reply.hang {
        std::future::pending::<()>().await;
    }
    if let Some(delay) = reply.delay {
        // The server holding a long poll: simulated time on the server side, not test ordering.
        tokio::time::sleep(delay).await;
    }
    let mut response = Response::builder()
        .status(reply.status)
        .header(hyper::header::CONTENT_TYPE, reply.content_type);
    for (name, value) in &reply.headers {
        response = response.header(*name, value);
    }
    let body = reply.body.replace("{path}", &path);
    Ok(response.body(Full::new(Bytes::from(body))).unwrap())
}

/// Captured `tracing` output at TRACE level, for the current thread.
pub(crate) struct Capture {
    buffer: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

struct SharedWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    /// Installs a TRACE-level subscriber writing into a buffer, until the capture is dropped.
    pub(crate) fn start() -> Self {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Arc::clone(&buffer);
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || SharedWriter(Arc::clone(&writer)))
            .finish();
        Self {
            buffer,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    /// Everything logged so far.
    pub(crate) fn output(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().unwrap()).into_owned()
    }
}
