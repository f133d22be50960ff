//! Shared test helpers: a controllable sink, a running listener, raw HTTP.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mpbot_core::api::Update;
use mpbot_core::{Deliver, Delivered, Refused, Shutdown, ShutdownTrigger, UpdateSink, async_trait};
use mpbot_webhook::{Register, Webhook, WebhookHealth, WebhookOptions, WebhookSecret};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;

/// The secret every test listener expects.
pub(crate) const SECRET: &str = "test-secret_123";
/// The path of the test public URL.
pub(crate) const PATH: &str = "/hook";

/// What the test sink does with the next updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Take it at once (`received`-like).
    Accept,
    /// Say it was a duplicate.
    Duplicate,
    /// Refuse it as overloaded.
    Refuse,
    /// Wait until the test releases it (`handled`-like with a slow handler).
    Hold,
}

/// The state behind the test sink, shared with the test.
#[derive(Debug)]
pub(crate) struct SinkState {
    mode: Mutex<Mode>,
    /// Every update handed to the sink, in arrival order, whatever the verdict.
    started_tx: mpsc::UnboundedSender<Update>,
    started_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Update>>,
    /// Updates accepted (the delivery completed with `Accepted`).
    accepted: Mutex<Vec<Update>>,
    /// Releases held deliveries.
    release: Semaphore,
    /// Held deliveries that completed.
    finished: AtomicUsize,
    /// Woken when a held delivery completed.
    finished_notify: tokio::sync::Notify,
}

impl SinkState {
    /// A sink in `mode`.
    pub(crate) fn new(mode: Mode) -> Arc<Self> {
        let (started_tx, started_rx) = mpsc::unbounded_channel();
        Arc::new(Self {
            mode: Mutex::new(mode),
            started_tx,
            started_rx: tokio::sync::Mutex::new(started_rx),
            accepted: Mutex::new(Vec::new()),
            release: Semaphore::new(0),
            finished: AtomicUsize::new(0),
            finished_notify: tokio::sync::Notify::new(),
        })
    }

    /// Changes what the sink does with the next updates.
    pub(crate) fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// Waits for the next update handed to the sink.
    pub(crate) async fn next_started(&self) -> Update {
        guard(async {
            self.started_rx
                .lock()
                .await
                .recv()
                .await
                .expect("sink alive")
        })
        .await
    }

    /// Asserts that the next update handed to the sink is `update_id`: sending one valid
    /// update after a series of bad requests proves none of them reached the sink.
    pub(crate) async fn assert_next_is(&self, update_id: i64) {
        assert_eq!(self.next_started().await.update_id.get(), update_id);
    }

    /// Accepted updates so far.
    pub(crate) fn accepted(&self) -> Vec<Update> {
        self.accepted.lock().unwrap().clone()
    }

    /// Lets `n` held deliveries finish.
    pub(crate) fn release(&self, n: usize) {
        self.release.add_permits(n);
    }

    /// Held deliveries that finished.
    pub(crate) fn finished(&self) -> usize {
        self.finished.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` held deliveries finished.
    pub(crate) async fn wait_finished(&self, n: usize) {
        guard(async {
            loop {
                let notified = self.finished_notify.notified();
                if self.finished() >= n {
                    return;
                }
                notified.await;
            }
        })
        .await;
    }
}

/// The [`Deliver`] impl over a [`SinkState`].
#[derive(Debug)]
pub(crate) struct TestSink(pub(crate) Arc<SinkState>);

#[async_trait]
impl Deliver for TestSink {
    async fn deliver(&self, update: Update) -> Result<Delivered, Refused> {
        let mode = *self.0.mode.lock().unwrap();
        let _ = self.0.started_tx.send(update.clone());
        match mode {
            Mode::Accept => {
                self.0.accepted.lock().unwrap().push(update);
                Ok(Delivered::Accepted)
            }
            Mode::Duplicate => Ok(Delivered::Duplicate),
            Mode::Refuse => Err(Refused::Overloaded),
            Mode::Hold => {
                self.0.release.acquire().await.expect("open").forget();
                self.0.accepted.lock().unwrap().push(update);
                self.0.finished.fetch_add(1, Ordering::SeqCst);
                self.0.finished_notify.notify_waiters();
                Ok(Delivered::Accepted)
            }
        }
    }

    fn free_capacity(&self) -> usize {
        usize::MAX
    }

    async fn wait_for_capacity(&self) {}
}

/// Default options for tests: the secret, no registration.
pub(crate) fn options() -> WebhookOptions {
    WebhookOptions::new(format!("https://bot.example.com{PATH}"))
        .with_secret(WebhookSecret::new(SECRET))
        .with_register(Register::Off)
}

/// A running listener.
#[derive(Debug)]
pub(crate) struct Server {
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    /// Its health handle.
    pub(crate) health: WebhookHealth,
    /// The sink's state.
    pub(crate) sink: Arc<SinkState>,
    trigger: ShutdownTrigger,
    task: JoinHandle<mpbot_webhook::Result<()>>,
}

impl Server {
    /// Binds `127.0.0.1:0` and runs the listener with a test sink in `mode`.
    pub(crate) async fn start(options: WebhookOptions, mode: Mode) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let webhook = Webhook::from_listener(listener, options).expect("valid options");
        let sink = SinkState::new(mode);
        let (trigger, shutdown) = Shutdown::new();
        let addr = webhook.local_addr();
        let health = webhook.health();
        let task = tokio::spawn(webhook.serve(UpdateSink::new(TestSink(sink.clone())), shutdown));
        Server {
            addr,
            health,
            sink,
            trigger,
            task,
        }
    }

    /// The plain-HTTP URL of the served path.
    pub(crate) fn url(&self) -> String {
        format!("http://{}{PATH}", self.addr)
    }

    /// Fires shutdown without waiting.
    pub(crate) fn trigger(&self) {
        self.trigger.trigger();
    }

    /// Fires shutdown and waits for the listener to return.
    pub(crate) async fn stop(self) -> mpbot_webhook::Result<()> {
        self.trigger.trigger();
        guard(self.task).await.expect("listener task")
    }
}

/// A client with explicit timeouts.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// A valid update JSON with a text message in `chat`.
pub(crate) fn update_json(update_id: i64, chat: i64, text: &str) -> String {
    format!(
        r#"{{"update_id":{update_id},"message":{{"message_id":{update_id},"date":1,"chat":{{"id":{chat},"type":"private"}},"text":"{text}"}}}}"#
    )
}

/// Posts `body` with the right secret.
pub(crate) async fn post(server: &Server, body: impl Into<reqwest::Body>) -> reqwest::Response {
    guard(
        client()
            .post(server.url())
            .header(mpbot_api::SECRET_HEADER, SECRET)
            .header("content-type", "application/json")
            .body(body)
            .send(),
    )
    .await
    .expect("response")
}

/// A hang guard: fails the test after 10 s instead of hanging. Never orders events.
pub(crate) async fn guard<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .expect("hang guard: did not complete within 10 s")
}

/// A raw HTTP/1.1 exchange: writes `head` (and then each of `chunks`), reads until the
/// response head is complete or the connection closes. Returns the status (None when the
/// server closed without answering) and the raw head.
pub(crate) async fn raw(addr: SocketAddr, request: &[u8]) -> (Option<u16>, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    read_head(&mut stream).await
}

/// Reads a response head from `stream`.
pub(crate) async fn read_head(stream: &mut TcpStream) -> (Option<u16>, String) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let read = guard(stream.read(&mut chunk)).await;
        match read {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok());
    (status, head)
}

/// The head of a POST to the served path with the right secret, ending in `extra` headers.
pub(crate) fn post_head(extra: &str) -> String {
    format!(
        "POST {PATH} HTTP/1.1\r\nHost: bot.example.com\r\n{}: {SECRET}\r\n{extra}\r\n",
        mpbot_api::SECRET_HEADER
    )
}
