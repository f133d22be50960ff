//! The test rig: emulator + listener + dispatcher, and helpers.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mpbot_api::{Bot, BotToken, Message, UpdateId, User};
use mpbot_core::{
    AckPolicy, Context, Dispatcher, DispatcherOptions, Router, Shutdown, ShutdownReport,
    ShutdownTrigger,
};
use mpbot_emulator::tls::{SERVER_CERT_FILE, SERVER_KEY_FILE, TestCa};
use mpbot_emulator::{BotHandle, DEFAULT_BOT_TOKEN, Emulator};
use mpbot_webhook::{Register, TlsFiles, Webhook, WebhookOptions, WebhookSecret};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;

/// The secret the listener expects and registers.
pub(crate) const SECRET: &str = "e2e-secret_42";

/// A hang guard: fails the test after 10 s instead of hanging. Never orders events.
pub(crate) async fn guard<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .expect("hang guard: did not complete within 10 s")
}

/// What a handler saw: the update id, the chat and the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Seen {
    pub(crate) update_id: UpdateId,
    pub(crate) chat: i64,
    pub(crate) text: String,
}

/// Lets the test hold handlers: texts starting with "hold" wait for a permit.
#[derive(Debug)]
pub(crate) struct Gate {
    permits: Semaphore,
}

impl Gate {
    pub(crate) fn release(&self, n: usize) {
        self.permits.add_permits(n);
    }
}

/// An emulator with the test CA trusted, and the CA's files on disk.
pub(crate) struct World {
    pub(crate) emulator: Emulator,
    pub(crate) bot: BotHandle,
    pub(crate) tls: TlsFiles,
    dir: PathBuf,
}

impl World {
    /// Starts an emulator that trusts a fresh test CA; `webhook_timeout` is how long it waits
    /// for one delivery.
    pub(crate) async fn start(webhook_timeout: Duration) -> World {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mpbot-webhook-e2e-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        let ca = TestCa::generate(&[]).unwrap();
        ca.write_to(&dir).unwrap();
        let emulator = Emulator::builder()
            .trust_ca_pem(ca.ca_cert_pem().as_bytes())
            .webhook_retry_backoff(Duration::from_millis(20))
            .webhook_timeout(webhook_timeout)
            .start()
            .await
            .unwrap();
        let bot = emulator.bot(DEFAULT_BOT_TOKEN);
        World {
            tls: TlsFiles::new(dir.join(SERVER_CERT_FILE), dir.join(SERVER_KEY_FILE)),
            emulator,
            bot,
            dir,
        }
    }

    /// A Bot API client pointed at the emulator.
    pub(crate) fn client(&self) -> Bot {
        Bot::builder(BotToken::new(DEFAULT_BOT_TOKEN).unwrap())
            .api_url(self.emulator.api_url())
            .build()
            .unwrap()
    }

    /// Listener options for `addr`: HTTPS with the test CA's certificate, the secret, and
    /// `register`.
    pub(crate) fn options(&self, addr: SocketAddr, register: Register) -> WebhookOptions {
        WebhookOptions::new(format!("https://127.0.0.1:{}/hook", addr.port()))
            .with_secret(WebhookSecret::new(SECRET))
            .with_tls(self.tls.clone())
            .with_register(register)
            .with_bot(self.client())
    }

    pub(crate) async fn stop(self) {
        self.emulator.shutdown().await;
        let _ = std::fs::remove_dir_all(self.dir);
    }
}

/// A running bot: listener + dispatcher + a router whose message handler reports to `seen`.
pub(crate) struct Running {
    pub(crate) addr: SocketAddr,
    pub(crate) seen: mpsc::UnboundedReceiver<Seen>,
    pub(crate) gate: Arc<Gate>,
    pub(crate) handled_log: Arc<Mutex<Vec<Seen>>>,
    trigger: ShutdownTrigger,
    task: JoinHandle<mpbot_core::Result<ShutdownReport>>,
}

impl Running {
    /// Binds a listener, then runs it under a dispatcher with `dispatcher` options;
    /// `options` gets the bound address.
    pub(crate) async fn start(
        world: &World,
        options: impl FnOnce(SocketAddr) -> WebhookOptions,
        dispatcher: DispatcherOptions,
    ) -> Running {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let webhook = Webhook::from_listener(listener, options(addr)).unwrap();
        let (tx, seen) = mpsc::unbounded_channel();
        let gate = Arc::new(Gate {
            permits: Semaphore::new(0),
        });
        let handled_log = Arc::new(Mutex::new(Vec::new()));
        let mut router = Router::new();
        {
            let gate = gate.clone();
            let handled_log = handled_log.clone();
            router.on_message(move |ctx: Context, message: Message| {
                let tx = tx.clone();
                let gate = gate.clone();
                let handled_log = handled_log.clone();
                async move {
                    let text = message.text.unwrap_or_default();
                    if text.starts_with("hold") {
                        gate.permits.acquire().await.unwrap().forget();
                    }
                    let seen = Seen {
                        update_id: ctx.update_id(),
                        chat: message.chat.id.get(),
                        text,
                    };
                    handled_log.lock().unwrap().push(seen.clone());
                    tx.send(seen).map_err(|e| e.to_string())
                }
            });
        }
        let dispatcher = Dispatcher::new(world.client(), world.bot.me(), router, dispatcher);
        let (trigger, shutdown) = Shutdown::new();
        let task = tokio::spawn(dispatcher.run(Box::new(webhook), shutdown));
        Running {
            addr,
            seen,
            gate,
            handled_log,
            trigger,
            task,
        }
    }

    /// Waits for the next update a handler finished.
    pub(crate) async fn next_seen(&mut self) -> Seen {
        guard(self.seen.recv()).await.expect("dispatcher alive")
    }

    /// Fires shutdown and waits for the dispatcher (and the listener) to return.
    pub(crate) async fn stop(self) -> mpbot_core::Result<ShutdownReport> {
        self.trigger.trigger();
        guard(self.task).await.expect("dispatcher task")
    }

    /// Waits for the dispatcher to return on its own (a fatal source error).
    pub(crate) async fn join(self) -> mpbot_core::Result<ShutdownReport> {
        guard(self.task).await.expect("dispatcher task")
    }
}

/// Dispatcher options for these tests: `handled`, as in production.
pub(crate) fn dispatcher_options() -> DispatcherOptions {
    DispatcherOptions::new().with_ack(AckPolicy::Handled)
}

/// A user in `chat`.
pub(crate) fn user(chat: i64) -> User {
    User::new(chat)
}
