//! Operations: `/metrics` and `/readyz` scraped while the emulator drives traffic and faults.
//!
//! The Prometheus recorder is process-wide and the tests of this binary run in parallel, so
//! counter assertions compare a scrape before and after the traffic (`>=` the traffic this test
//! made), never absolute values.

use std::time::Duration;

use mpbot::config::Config;
use mpbot::prelude::*;
use mpbot::{Readiness, ReadyState};
use mpbot_emulator::{Emulator, Fault};
use mpbot_examples::{Running, TOKEN, polling_config, user};

/// A hang guard, never a delay.
const GUARD: Duration = Duration::from_secs(20);
const SECRET: &str = "ops-test-webhook-secret-0123456789";

/// An HTTP client with explicit timeouts (the house rule).
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

/// GET `path` on `addr`: status and body.
pub(crate) async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let response = client()
        .get(format!("http://{addr}{path}"))
        .send()
        .await
        .expect("admin request");
    let status = response.status().as_u16();
    (status, response.text().await.expect("admin body"))
}

/// The value of the sample `name{labels...}` in a Prometheus text page (0 when absent).
pub(crate) fn sample(page: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    page.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            (metric == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\""))))
            .then(|| value.parse::<f64>().ok())
            .flatten()
        })
        .sum()
}

/// An admin listener on a free port.
fn admin_listener() -> (std::net::TcpListener, std::net::SocketAddr) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind admin");
    let addr = listener.local_addr().expect("addr");
    (listener, addr)
}

/// Echoes a text; "fail" makes the handler return an error.
fn routes(router: &mut Router) {
    router.on_message(|ctx: Context, message: Message| async move {
        let text = message.text.unwrap_or_default();
        if text == "fail" {
            return Err::<(), HandlerError>("the handler refuses \"fail\"".into());
        }
        ctx.reply(format!("echo: {text}")).await?;
        Ok(())
    });
}

async fn wait_ready(readiness: &mut Readiness, ready: bool) -> ReadyState {
    tokio::time::timeout(GUARD, readiness.wait_for(|s| s.ready == ready))
        .await
        .unwrap_or_else(|_| panic!("readiness never became {ready}"))
}

/// A polling bot is ready after its first getUpdates, counts traffic and handler failures in
/// /metrics, turns not ready while getUpdates fails, and ready again when it succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_metrics_and_readiness_follow_traffic_and_faults() {
    let emulator = Emulator::builder().start().await.expect("emulator");
    let bot = emulator.default_bot();
    let config =
        polling_config(&emulator, "[delivery.polling]\ntimeout_secs = 1\n").expect("config");
    let (listener, admin) = admin_listener();
    let app = App::new(config)
        .routes(routes)
        .with_admin_listener(listener);
    let mut readiness = app.readiness();
    assert!(!readiness.current().ready, "not ready before start");
    let mut running = Running::spawn(app);

    running
        .race(async {
            let ready = wait_ready(&mut readiness, true).await;
            assert_eq!(ready.source, "polling");
            let (status, body) = get(admin, "/readyz").await;
            assert_eq!(status, 200, "{body}");
            assert!(body.contains(r#""ready":true"#), "{body}");
            assert_eq!(get(admin, "/healthz").await.0, 200);
            assert_eq!(get(admin, "/nope").await.0, 404);

            let (_, before) = get(admin, "/metrics").await;
            let alice = user(501, "Alice", "alice");
            bot.user_message(9_001, alice.clone(), "fail");
            bot.user_message(9_001, alice, "hello");
            // Per-chat order: "hello" is answered after "fail" was handled (and counted).
            bot.wait_for_sent(1).await;
            let (status, after) = get(admin, "/metrics").await;
            assert_eq!(status, 200);
            let delta = |name: &str, labels: &[(&str, &str)]| {
                sample(&after, name, labels) - sample(&before, name, labels)
            };
            let received = [("source", "polling"), ("kind", "message")];
            assert!(
                delta("mpbot_updates_received_total", &received) >= 2.0,
                "{after}"
            );
            let failed = [("kind", "message"), ("outcome", "failed")];
            assert!(
                delta("mpbot_updates_finished_total", &failed) >= 1.0,
                "{after}"
            );
            let handled = [("kind", "message"), ("outcome", "handled")];
            assert!(
                delta("mpbot_updates_finished_total", &handled) >= 1.0,
                "{after}"
            );
            let latency = [("kind", "message")];
            assert!(delta("mpbot_handler_duration_seconds_count", &latency) >= 2.0);
            assert!(delta("mpbot_poll_requests_total", &[("outcome", "ok")]) >= 1.0);
            let sent = [("method", "sendMessage"), ("outcome", "ok")];
            assert!(delta("mpbot_api_calls_total", &sent) >= 1.0, "{after}");
            for gauge in [
                "mpbot_updates_in_flight",
                "mpbot_updates_queued",
                "mpbot_chat_queue_depth_max",
            ] {
                assert!(
                    after.contains(&format!("# TYPE {gauge} gauge")),
                    "{gauge}: {after}"
                );
            }
            assert!(after.contains("# TYPE mpbot_handler_duration_seconds histogram"));

            // MPChat stops answering getUpdates properly: not ready, and the body says why.
            bot.inject_fault(Fault::status("getUpdates", 500).times(10_000));
            let down = wait_ready(&mut readiness, false).await;
            assert!(down.reason.contains("getUpdates is failing"), "{down:?}");
            let (status, body) = get(admin, "/readyz").await;
            assert_eq!(status, 503, "{body}");
            assert!(body.contains("getUpdates is failing"), "{body}");
            let (_, faulted) = get(admin, "/metrics").await;
            let errors = sample(&faulted, "mpbot_poll_errors_total", &[("class", "server")]);
            assert!(errors >= 1.0, "{faulted}");
            let server = [("method", "getUpdates"), ("outcome", "server")];
            assert!(sample(&faulted, "mpbot_api_calls_total", &server) >= 1.0);

            // It answers again: ready again.
            bot.clear_faults();
            wait_ready(&mut readiness, true).await;
            assert_eq!(get(admin, "/readyz").await.0, 200);
        })
        .await
        .expect("the script runs while the bot runs");
    running.stop().await.expect("clean stop");
}

/// Under `ack = "stored"` the journal reports its commits (one fsync each) and its depth: every
/// update is journaled before it is handled, so the commit counter and the fsync-latency
/// histogram grow with the traffic, and the depth is back to 0 once everything is handled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_ack_reports_journal_commits_and_depth() {
    let emulator = Emulator::builder().start().await.expect("emulator");
    let bot = emulator.default_bot();
    let journal = std::env::temp_dir().join(format!("mpbot-ops-journal-{}", std::process::id()));
    let text = format!(
        "[bot]\napi_url = \"{}\"\ntoken_env = \"MPCHAT_BOT_TOKEN\"\n\n[delivery]\nmode = \"polling\"\n\
         ack = \"stored\"\n\n[delivery.polling]\ntimeout_secs = 1\n\n[delivery.journal]\npath = \"{}\"\n",
        emulator.api_url(),
        journal.display()
    );
    let config = Config::from_str_with_env(&text, "ops.toml", |name| {
        (name == "MPCHAT_BOT_TOKEN").then(|| TOKEN.to_owned())
    })
    .expect("config");
    let (listener, admin) = admin_listener();
    let app = App::new(config)
        .routes(routes)
        .with_admin_listener(listener);
    let mut running = Running::spawn(app);
    running
        .race(async {
            let (_, before) = get(admin, "/metrics").await;
            let alice = user(502, "Alice", "alice");
            bot.user_message(9_002, alice.clone(), "one");
            bot.user_message(9_002, alice, "two");
            bot.wait_for_sent(2).await;
            let (_, after) = get(admin, "/metrics").await;
            let delta = |name: &str, labels: &[(&str, &str)]| {
                sample(&after, name, labels) - sample(&before, name, labels)
            };
            assert!(
                delta("mpbot_journal_commits_total", &[("outcome", "ok")]) >= 1.0,
                "{after}"
            );
            assert!(
                delta("mpbot_journal_commit_duration_seconds_count", &[]) >= 1.0,
                "{after}"
            );
            assert!(
                after.contains("# TYPE mpbot_journal_depth gauge"),
                "{after}"
            );
        })
        .await
        .expect("the script runs while the bot runs");
    running.stop().await.expect("clean stop");
    let _ = std::fs::remove_dir_all(&journal);
}

/// A webhook bot is ready when it serves and getWebhookInfo points at its public_url; it
/// counts responses by status; it is not ready while the webhook points elsewhere, and ready
/// again when it points back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_metrics_and_readiness_follow_the_registration() {
    let fixture = WebhookFixture::new("metrics").await;
    let (emulator, public_url) = (&fixture.emulator, fixture.public_url.clone());
    let bot = emulator.default_bot();
    let (listener, admin) = admin_listener();
    let hook = fixture.listener.try_clone().expect("listener");
    let app = App::new(fixture.config.clone())
        .routes(routes)
        .with_webhook_listener(hook)
        .with_admin_listener(listener);
    let mut readiness = app.readiness();
    let mut running = Running::spawn(app);

    running
        .race(async {
            let ready = wait_ready(&mut readiness, true).await;
            assert_eq!(ready.source, "webhook");
            let (status, body) = get(admin, "/readyz").await;
            assert_eq!(status, 200, "{body}");

            let (_, before) = get(admin, "/metrics").await;
            bot.user_message(9_002, user(502, "Bob", "bob"), "hi");
            bot.wait_for_sent(1).await;
            // A bad update, with the right secret: 400.
            let bad = fixture.post(SECRET, "{not json").await;
            assert_eq!(bad, 400);
            let (_, after) = get(admin, "/metrics").await;
            let delta = |name: &str, labels: &[(&str, &str)]| {
                sample(&after, name, labels) - sample(&before, name, labels)
            };
            let ok = [("status", "200")];
            assert!(
                delta("mpbot_webhook_responses_total", &ok) >= 1.0,
                "{after}"
            );
            let bad = [("status", "400")];
            assert!(
                delta("mpbot_webhook_responses_total", &bad) >= 1.0,
                "{after}"
            );
            let received = [("source", "webhook"), ("kind", "message")];
            assert!(
                delta("mpbot_updates_received_total", &received) >= 1.0,
                "{after}"
            );

            // Someone points the webhook elsewhere (same listener, another URL): not ready.
            set_webhook(emulator, &format!("{public_url}?elsewhere=1")).await;
            let away = wait_ready(&mut readiness, false).await;
            assert!(away.reason.contains("points elsewhere"), "{away:?}");
            let (status, body) = get(admin, "/readyz").await;
            assert_eq!(status, 503);
            assert!(body.contains("points elsewhere"), "{body}");

            // Pointed back: ready again.
            set_webhook(emulator, &public_url).await;
            wait_ready(&mut readiness, true).await;
            assert_eq!(get(admin, "/readyz").await.0, 200);
        })
        .await
        .expect("the script runs while the bot runs");
    running.stop().await.expect("clean stop");
}

/// The admin listener is off unless configured: no recorder is needed, and readiness stays
/// "starting" (nobody keeps it current).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_admin_listener_readiness_is_not_tracked() {
    let emulator = Emulator::builder().start().await.expect("emulator");
    let config = polling_config(&emulator, "").expect("config");
    assert_eq!(config.admin.listen, None);
    let app = App::new(config).routes(routes);
    let readiness = app.readiness();
    let mut running = Running::spawn(app);
    let bot = emulator.default_bot();
    running
        .race(async {
            bot.user_message(9_003, user(503, "Cy", "cy"), "hi");
            bot.wait_for_sent(1).await;
        })
        .await
        .expect("the bot answers");
    assert!(!readiness.current().ready);
    assert_eq!(readiness.current().reason, "the bot is starting");
    running.stop().await.expect("clean stop");
}

/// A webhook bot's surroundings: an emulator trusting a test CA, the TLS files, a bound
/// listener and a config (`register = "auto"`) serving `public_url` over HTTPS.
pub(crate) struct WebhookFixture {
    pub(crate) emulator: Emulator,
    pub(crate) public_url: String,
    pub(crate) listener: std::net::TcpListener,
    pub(crate) config: Config,
    ca_pem: String,
    dir: std::path::PathBuf,
}

impl WebhookFixture {
    pub(crate) async fn new(label: &str) -> Self {
        let ca = mpbot_emulator::tls::TestCa::generate(&["localhost", "127.0.0.1"]).expect("CA");
        let dir = std::env::temp_dir().join(format!("mpbot-ops-{label}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        ca.write_to(&dir).expect("write TLS files");
        let emulator = Emulator::builder()
            .trust_ca_pem(ca.ca_cert_pem().as_bytes())
            .start()
            .await
            .expect("emulator");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind webhook");
        let port = listener.local_addr().expect("addr").port();
        let public_url = format!("https://127.0.0.1:{port}/hook");
        let cert = dir.join(mpbot_emulator::tls::SERVER_CERT_FILE);
        let key = dir.join(mpbot_emulator::tls::SERVER_KEY_FILE);
        let text = format!(
            "[bot]\napi_url = \"{}\"\ntoken_env = \"MPCHAT_BOT_TOKEN\"\n\n[delivery]\nmode = \"webhook\"\n\n\
             [delivery.webhook]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"{public_url}\"\n\
             secret_token_env = \"HOOK_SECRET\"\nregister = \"auto\"\n\
             tls = {{ cert = \"{}\", key = \"{}\" }}\n",
            emulator.api_url(),
            cert.display(),
            key.display(),
        );
        let mut config = Config::from_str_with_env(&text, "ops.toml", |name| match name {
            "MPCHAT_BOT_TOKEN" => Some(TOKEN.to_owned()),
            "HOOK_SECRET" => Some(SECRET.to_owned()),
            _ => None,
        })
        .expect("webhook config");
        config.admin.webhook_check_interval = Duration::from_millis(50);
        Self {
            emulator,
            public_url,
            listener,
            config,
            ca_pem: ca.ca_cert_pem().to_owned(),
            dir,
        }
    }

    /// An HTTPS client trusting the test CA.
    pub(crate) fn https(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .add_root_certificate(
                reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).expect("CA pem"),
            )
            .build()
            .expect("https client")
    }

    /// POSTs `body` to the webhook with `secret`; returns the status.
    pub(crate) async fn post(&self, secret: &str, body: &'static str) -> u16 {
        self.https()
            .post(&self.public_url)
            .header("X-MpChat-Bot-Api-Secret-Token", secret)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("post to the webhook")
            .status()
            .as_u16()
    }
}

impl Drop for WebhookFixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Changes the webhook registration through the Bot API, as an operator would.
pub(crate) async fn set_webhook(emulator: &Emulator, url: &str) {
    let body = serde_json::json!({ "url": url, "secret_token": SECRET }).to_string();
    let response = client()
        .post(format!("{}/bot{TOKEN}/setWebhook", emulator.api_url()))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("setWebhook");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(status, 200, "setWebhook: {text}");
}
