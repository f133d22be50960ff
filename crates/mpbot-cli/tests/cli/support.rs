//! Helpers: an emulator world with a config directory, the CLI run in-process with captured
//! output and logs (checked for secrets on every run), and an HTTPS webhook receiver.

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use mpbot_cli::{Cli, Context, Exit, Shutdown};
use mpbot_emulator::tls::TestCa;
use mpbot_emulator::{BotHandle, Emulator};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;

/// The bot's token: its secret half must never appear in any output.
pub(crate) const TOKEN: &str = "4242:Sup3r-Secret_TOKEN";
/// The secret half of [`TOKEN`].
pub(crate) const TOKEN_SECRET: &str = "Sup3r-Secret_TOKEN";
/// The bot's username in the emulator.
pub(crate) const USERNAME: &str = "cli_test_bot";
/// The webhook secret: must never appear in any output either.
pub(crate) const WEBHOOK_SECRET: &str = "Hook-Secret-0123456789";

/// Turns a hang into a failure; never used to order events.
pub(crate) async fn guard<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("hang guard: the awaited event never happened")
}

/// What one CLI run produced.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) exit: Exit,
    pub(crate) out: String,
    pub(crate) err: String,
    pub(crate) logs: String,
}

impl Output {
    /// stdout and stderr together, for messages that may go to either.
    pub(crate) fn all(&self) -> String {
        format!("{}\n{}", self.out, self.err)
    }
}

/// An emulator with the test bot (trusting a fresh test CA), and a directory for configs.
pub(crate) struct World {
    pub(crate) emu: Emulator,
    pub(crate) ca: TestCa,
    pub(crate) dir: PathBuf,
}

static DIRS: AtomicUsize = AtomicUsize::new(0);

impl World {
    pub(crate) async fn start() -> Self {
        let ca = TestCa::generate(&[]).unwrap();
        let emu = Emulator::builder()
            .bot(TOKEN, USERNAME)
            .trust_ca_pem(ca.ca_cert_pem().as_bytes())
            .webhook_retry_backoff(Duration::from_millis(10))
            .start()
            .await
            .unwrap();
        let dir = std::env::temp_dir().join(format!(
            "mpbot-cli-test-{}-{}",
            std::process::id(),
            DIRS.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ca-cert.pem"), ca.ca_cert_pem()).unwrap();
        Self { emu, ca, dir }
    }

    pub(crate) fn bot(&self) -> BotHandle {
        self.emu.bot(TOKEN)
    }

    /// Writes `bot.toml` (or `name`) into the world's directory; `{api_url}` is replaced.
    pub(crate) fn config_named(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, text.replace("{api_url}", &self.emu.api_url())).unwrap();
        path
    }

    /// A polling config with `extra` appended.
    pub(crate) fn polling(&self, extra: &str) -> PathBuf {
        self.config_named(
            "bot.toml",
            &format!(
                "[bot]\napi_url = \"{{api_url}}\"\ntoken_env = \"MPCHAT_BOT_TOKEN\"\n{extra}\n\
                 [delivery]\nmode = \"polling\"\n"
            ),
        )
    }

    /// A webhook config for `public_url` with `bot_extra` in `[bot]` and `hook_extra` in
    /// `[delivery.webhook]`.
    pub(crate) fn webhook(&self, public_url: &str, bot_extra: &str, hook_extra: &str) -> PathBuf {
        let listen = if hook_extra.contains("listen =") {
            ""
        } else {
            "listen = \"127.0.0.1:0\"\n"
        };
        self.config_named(
            "bot.toml",
            &format!(
                "[bot]\napi_url = \"{{api_url}}\"\ntoken_env = \"MPCHAT_BOT_TOKEN\"\n{bot_extra}\n\
                 [delivery]\nmode = \"webhook\"\nallowed_updates = [\"message\"]\n\n\
                 [delivery.webhook]\n{listen}public_url = \"{public_url}\"\n\
                 secret_token_env = \"MPCHAT_WEBHOOK_SECRET\"\n{hook_extra}\n"
            ),
        )
    }

    pub(crate) fn ca_path(&self) -> PathBuf {
        self.dir.join("ca-cert.pem")
    }

    /// Registers `url` directly (as if someone had done it before), bypassing the CLI. The
    /// emulator probes it, so it must listen (a [`Receiver`] the test CA signed).
    pub(crate) async fn register_webhook(&self, url: &str) {
        let bot = mpbot_api::Bot::builder(mpbot_api::BotToken::new(TOKEN).unwrap())
            .api_url(self.emu.api_url())
            .build()
            .unwrap();
        bot.high_risk()
            .set_webhook(&mpbot_api::methods::SetWebhook::new(url))
            .await
            .unwrap();
        assert_eq!(self.bot().webhook_info().url, url);
    }

    /// Runs `mpbot ARGS` in-process; see [`run_cli`].
    pub(crate) async fn mpbot(&self, args: &[&str]) -> Output {
        run_cli(args, None, Shutdown::never()).await
    }

    /// Runs `mpbot webhook set -c CONFIG --confirm CONFIRM EXTRA...`.
    pub(crate) async fn webhook_set(&self, config: &Path, confirm: &str, extra: &[&str]) -> Output {
        let mut args = vec![
            "webhook",
            "set",
            "-c",
            config.to_str().unwrap(),
            "--confirm",
            confirm,
        ];
        args.extend_from_slice(extra);
        self.mpbot(&args).await
    }

    /// [`World::webhook_set`] with `--ca-cert` naming the test CA, so the probe trusts its
    /// endpoints.
    pub(crate) async fn webhook_set_trusting_the_test_ca(
        &self,
        config: &Path,
        confirm: &str,
        extra: &[&str],
    ) -> Output {
        let ca = self.ca_path();
        let mut args = vec!["--ca-cert", ca.to_str().unwrap()];
        args.extend_from_slice(extra);
        self.webhook_set(config, confirm, &args).await
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The environment every CLI run sees: the token and the webhook secret.
pub(crate) fn env(name: &str) -> Option<String> {
    match name {
        "MPCHAT_BOT_TOKEN" => Some(TOKEN.to_owned()),
        "MPCHAT_WEBHOOK_SECRET" => Some(WEBHOOK_SECRET.to_owned()),
        _ => None,
    }
}

/// A `MakeWriter` appending to a shared buffer.
#[derive(Clone, Default)]
struct LogBuf(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuf {
    type Writer = LogBuf;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Parses and runs `mpbot ARGS` in-process with [`env`], `input` as the operator's answers
/// and `shutdown` as the stop signal; captures stdout, stderr and every log line of the mpbot
/// crates at trace level, and asserts that none of them holds the token or the webhook
/// secret.
pub(crate) async fn run_cli(args: &[&str], input: Option<&str>, shutdown: Shutdown) -> Output {
    let cli = Cli::try_parse_from(std::iter::once("mpbot").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("mpbot {args:?} does not parse: {e}"));
    let logs = LogBuf::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "mpbot=trace,mpbot_cli=trace,mpbot_api=trace,mpbot_core=trace,mpbot_poller=trace,\
             mpbot_webhook=trace",
        ))
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut ctx = Context::new(&mut out, &mut err)
        .with_env(env)
        .with_shutdown(shutdown);
    if let Some(input) = input {
        ctx = ctx.with_input(std::io::Cursor::new(input.to_owned().into_bytes()));
    }
    let exit = guard(mpbot_cli::run_with(cli, ctx)).await;
    let output = Output {
        exit,
        out: String::from_utf8(out).unwrap(),
        err: String::from_utf8(err).unwrap(),
        logs: String::from_utf8(logs.0.lock().unwrap().clone()).unwrap(),
    };
    assert_no_secrets(&output);
    output
}

/// Neither the token nor the webhook secret appear anywhere in what a run produced.
pub(crate) fn assert_no_secrets(output: &Output) {
    for (what, text) in [
        ("stdout", &output.out),
        ("stderr", &output.err),
        ("logs", &output.logs),
    ] {
        for secret in [TOKEN, TOKEN_SECRET, WEBHOOK_SECRET] {
            assert!(
                !text.contains(secret),
                "{what} holds a secret ({secret}):\n{text}"
            );
        }
    }
}

/// An HTTPS endpoint on 127.0.0.1 with the test CA's server certificate, answering every
/// request with the current `status` and counting the requests.
pub(crate) struct Receiver {
    pub(crate) port: u16,
    pub(crate) status: Arc<AtomicU16>,
    pub(crate) hits: Arc<AtomicUsize>,
    server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub(crate) async fn start(ca: &TestCa, status: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
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
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let status = Arc::new(AtomicU16::new(status));
        let hits = Arc::new(AtomicUsize::new(0));
        let (task_status, task_hits) = (status.clone(), hits.clone());
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let (status, hits) = (task_status.clone(), task_hits.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (status, hits) = (status.clone(), hits.clone());
                        async move {
                            let _ = req.into_body().collect().await;
                            hits.fetch_add(1, Ordering::SeqCst);
                            let mut resp = hyper::Response::new(Full::new(Bytes::new()));
                            *resp.status_mut() =
                                hyper::StatusCode::from_u16(status.load(Ordering::SeqCst)).unwrap();
                            Ok::<_, std::convert::Infallible>(resp)
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        Self {
            port,
            status,
            hits,
            server,
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("https://localhost:{}/hook", self.port)
    }

    pub(crate) fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
pub(crate) async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

/// The path's display form, for asserting on fix commands.
pub(crate) fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// A stand-in for MPChat itself: forwards Bot API calls to the emulator but has no
/// `/_emulator/` control API, so `smoke` cannot tell it from MPChat.
pub(crate) struct NotAnEmulator {
    pub(crate) api_url: String,
    server: tokio::task::JoinHandle<()>,
}

impl NotAnEmulator {
    pub(crate) async fn start(emu: &Emulator) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let upstream = emu.base_url();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (http, upstream) = (http.clone(), upstream.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (http, upstream) = (http.clone(), upstream.clone());
                        async move {
                            let path = req
                                .uri()
                                .path_and_query()
                                .map_or("/", |p| p.as_str())
                                .to_owned();
                            let mut resp = hyper::Response::new(Full::new(Bytes::new()));
                            if !path.starts_with("/bot/") {
                                *resp.status_mut() = hyper::StatusCode::NOT_FOUND;
                                return Ok::<_, std::convert::Infallible>(resp);
                            }
                            let method = req.method().clone();
                            let content_type = req.headers().get("content-type").cloned();
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let mut forward = http
                                .request(method, format!("{upstream}{path}"))
                                .body(body.to_vec());
                            if let Some(ct) = content_type {
                                forward = forward.header("content-type", ct);
                            }
                            let answer = forward.send().await.unwrap();
                            *resp.status_mut() = answer.status();
                            resp.headers_mut().insert(
                                "content-type",
                                hyper::header::HeaderValue::from_static("application/json"),
                            );
                            *resp.body_mut() = Full::new(answer.bytes().await.unwrap());
                            Ok(resp)
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            api_url: format!("http://{addr}/bot"),
            server,
        }
    }
}

impl Drop for NotAnEmulator {
    fn drop(&mut self) {
        self.server.abort();
    }
}
