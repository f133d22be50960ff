//! The redaction audit: a bot run through faults and errors in both modes, with every log line
//! at TRACE level captured, never shows the token or the webhook secret.
//!
//! The capture uses the facade's own subscriber ([`mpbot::logging::subscriber`], text for the
//! polling run, JSON for the webhook run) over a shared buffer, installed for the test's
//! thread with `set_default`; the tests run on a current-thread runtime so every task logs
//! into it. The emulator's own lines are filtered out: the audit is about the bot.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mpbot::config::{LogFormat, LogSettings};
use mpbot::prelude::*;
use mpbot_emulator::{Emulator, Fault};
use mpbot_examples::{Running, TOKEN, polling_config, user};

use crate::ops::{WebhookFixture, set_webhook};

const GUARD: Duration = Duration::from_secs(30);
const SECRET: &str = "ops-test-webhook-secret-0123456789";

/// A `MakeWriter` appending to a shared buffer.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("capture").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("capture")).into_owned()
    }
}

fn trace_settings(format: LogFormat) -> LogSettings {
    LogSettings::new(format, "trace,mpbot_emulator=off")
}

/// The audit itself: the token (and the part after the colon alone) and the secret are
/// absent; the capture is not empty and holds the update spans, so the test can fail.
fn audit(logs: &str, secret: Option<&str>) {
    assert!(
        logs.len() > 1_000,
        "the capture is too small to mean anything:\n{logs}"
    );
    assert!(
        logs.contains("update_id"),
        "no update span fields captured:\n{logs}"
    );
    let (_, token_secret_part) = TOKEN.split_once(':').expect("token shape");
    for (what, needle) in [("token", TOKEN), ("token secret part", token_secret_part)] {
        if let Some(at) = logs.find(needle) {
            let start = logs[..at].rfind('\n').map_or(0, |i| i + 1);
            let end = logs[at..].find('\n').map_or(logs.len(), |i| at + i);
            panic!("the {what} appears in the logs: {}", &logs[start..end]);
        }
    }
    if let Some(secret) = secret {
        assert!(
            !logs.contains(secret),
            "the webhook secret appears in the logs"
        );
    }
}

/// Echoes, except "fail" (handler error).
fn routes(router: &mut Router) {
    router.on_message(|ctx: Context, message: Message| async move {
        let text = message.text.unwrap_or_default();
        if text == "fail" {
            return Err::<(), HandlerError>("refused".into());
        }
        ctx.reply(format!("echo: {text}")).await?;
        Ok(())
    });
}

/// Polling through 500s, a 429, a dropped connection, a handler error and finally a 401 (which
/// stops the bot): no token in the TRACE-level text logs.
#[tokio::test(flavor = "current_thread")]
async fn polling_logs_never_show_the_token() {
    let capture = Capture::default();
    let subscriber = mpbot::logging::subscriber(&trace_settings(LogFormat::Text), capture.clone())
        .expect("subscriber");
    let _guard = tracing::subscriber::set_default(subscriber);

    let emulator = Emulator::builder().start().await.expect("emulator");
    let bot = emulator.default_bot();
    let config =
        polling_config(&emulator, "[delivery.polling]\ntimeout_secs = 1\n").expect("config");
    let (_stop, shutdown) = Shutdown::new();
    let mut task = tokio::spawn(
        App::new(config)
            .routes(routes)
            .run_with(shutdown, Shutdown::never()),
    );
    let script = async {
        let alice = user(601, "Alice", "alice");
        bot.user_message(9_101, alice.clone(), "fail");
        bot.user_message(9_101, alice.clone(), "one");
        bot.wait_for_sent(1).await;
        bot.inject_fault(Fault::status("getUpdates", 500).times(2));
        bot.inject_fault(Fault::status("sendMessage", 429).with_retry_after(1));
        bot.user_message(9_101, alice.clone(), "two");
        bot.wait_for_sent(2).await;
        bot.inject_fault(Fault::drop_connection("getUpdates"));
        bot.user_message(9_101, alice, "three");
        bot.wait_for_sent(3).await;
        // The token is revoked: the poller stops with an error naming the method only.
        bot.inject_fault(Fault::status("getUpdates", 401).times(100));
    };
    tokio::select! {
        () = script => {}
        stopped = &mut task => panic!("the bot stopped during the script: {stopped:?}"),
        () = tokio::time::sleep(GUARD) => panic!("hang guard: the script did not finish"),
    }
    let stopped = tokio::time::timeout(GUARD, task)
        .await
        .expect("the bot stops on 401")
        .expect("the bot task does not panic");
    let error = stopped.expect_err("a 401 is fatal");
    tracing::error!(%error, "bot stopped");
    audit(&capture.text(), None);
}

/// Webhook through a bad update, a wrong secret, a handler error, a failing sendMessage and a
/// registration change: neither the token nor the secret in the TRACE-level JSON logs.
#[tokio::test(flavor = "current_thread")]
async fn webhook_logs_never_show_the_token_or_the_secret() {
    let capture = Capture::default();
    let subscriber = mpbot::logging::subscriber(&trace_settings(LogFormat::Json), capture.clone())
        .expect("subscriber");
    let _guard = tracing::subscriber::set_default(subscriber);

    let fixture = WebhookFixture::new("redaction").await;
    let (emulator, public_url) = (&fixture.emulator, fixture.public_url.clone());
    let bot = emulator.default_bot();
    let admin = std::net::TcpListener::bind("127.0.0.1:0").expect("bind admin");
    let hook = fixture.listener.try_clone().expect("listener");
    let app = App::new(fixture.config.clone())
        .routes(routes)
        .with_webhook_listener(hook)
        .with_admin_listener(admin);
    let mut readiness = app.readiness();
    let mut running = Running::spawn(app);
    running
        .race(async {
            readiness.wait_for(|s| s.ready).await;
            let bob = user(602, "Bob", "bob");
            bot.user_message(9_102, bob.clone(), "fail");
            bot.user_message(9_102, bob.clone(), "one");
            bot.wait_for_sent(1).await;
            assert_eq!(fixture.post(SECRET, "{not json").await, 400);
            assert_eq!(
                fixture.post("wrong-secret", r#"{"update_id":1}"#).await,
                401
            );
            bot.inject_fault(Fault::status("sendMessage", 500).times(3));
            bot.inject_fault(Fault::status("getWebhookInfo", 401).times(2));
            bot.user_message(9_102, bob.clone(), "lost");
            bot.user_message(9_102, bob, "two");
            bot.wait_for_sent(2).await;
            set_webhook(emulator, &format!("{public_url}?moved=1")).await;
            readiness.wait_for(|s| !s.ready).await;
        })
        .await
        .expect("the script runs");
    running.stop().await.expect("clean stop");
    audit(&capture.text(), Some(SECRET));
}
