//! Registration policies against the emulator: auto, verify (drift, none), delete on stop.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mpbot_webhook::{OnStop, Register};

use crate::rig::{Running, World, dispatcher_options, guard, user};

/// A log sink for one test: everything the current thread logs, as text.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Pins `verify` with no webhook set: the listener stops with a registration error.
#[tokio::test]
async fn verify_without_any_webhook_is_an_error() {
    let world = World::start(Duration::from_secs(10)).await;
    let running = Running::start(
        &world,
        |addr| world.options(addr, Register::Verify),
        dispatcher_options(),
    )
    .await;
    let error = running.join().await.unwrap_err();
    let mpbot_core::Error::Source { error, .. } = error else {
        panic!("expected a source error, got {error}");
    };
    let error = error
        .downcast_ref::<mpbot_webhook::Error>()
        .expect("the webhook's own error");
    assert!(error.is_registration(), "{error}");
    world.stop().await;
}

/// Pins `verify` with a webhook that differs from the config: a warning per differing field,
/// nothing changed at MPChat, and the listener keeps serving.
#[tokio::test]
async fn verify_reports_drift_and_changes_nothing() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer({
            let captured = captured.clone();
            move || captured.clone()
        })
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let world = World::start(Duration::from_secs(10)).await;
    // A first deployment registers itself (max_connections 40).
    let mut first = Running::start(
        &world,
        |addr| world.options(addr, Register::Auto),
        dispatcher_options(),
    )
    .await;
    world.bot.user_message(1, user(1), "registered");
    first.next_seen().await;
    let registered = world.bot.webhook_info().url;
    first.stop().await.unwrap();

    // A second one, at another URL with another max_connections, only verifies.
    let second = Running::start(
        &world,
        |addr| {
            world
                .options(addr, Register::Verify)
                .with_max_connections(Some(10))
        },
        dispatcher_options(),
    )
    .await;
    guard(async {
        while !captured.text().contains("registered webhook differs") {
            tokio::task::yield_now().await;
        }
    })
    .await;
    // Both warnings are logged by the same verification, one after the other.
    guard(async {
        while !captured.text().contains("max_connections") {
            tokio::task::yield_now().await;
        }
    })
    .await;
    let text = captured.text();
    assert!(text.contains("field=\"url\""), "{text}");
    assert!(
        text.contains("field=\"max_connections\" registered=40 configured=10"),
        "{text}"
    );
    assert!(!text.contains(crate::rig::SECRET), "the secret was logged");
    assert_eq!(world.bot.webhook_info().url, registered);
    second.stop().await.unwrap();
    world.stop().await;
}

/// Pins `on_stop = delete`: the webhook is deleted at MPChat when the listener stopped.
#[tokio::test]
async fn on_stop_delete_removes_the_webhook() {
    let world = World::start(Duration::from_secs(10)).await;
    let mut running = Running::start(
        &world,
        |addr| {
            world
                .options(addr, Register::Auto)
                .with_on_stop(OnStop::Delete)
        },
        dispatcher_options(),
    )
    .await;
    world.bot.user_message(1, user(1), "hello");
    running.next_seen().await;
    assert!(world.bot.webhook_info().is_set());
    running.stop().await.unwrap();
    assert!(!world.bot.webhook_info().is_set());
    world.stop().await;
}

/// Pins that `on_stop = delete` deletes only a registration the listener saw through: when
/// `auto` fails (MPChat's probe cannot reach the URL), the webhook MPChat still has (another
/// deployment's) is left alone.
#[tokio::test]
async fn on_stop_delete_leaves_a_webhook_it_did_not_register() {
    let world = World::start(Duration::from_secs(10)).await;
    let first = Running::start(
        &world,
        |addr| world.options(addr, Register::Auto),
        dispatcher_options(),
    )
    .await;
    world.bot.user_message(1, user(1), "hello");
    let mut first = first;
    first.next_seen().await;
    first.stop().await.unwrap();
    let registered = world.bot.webhook_info().url;
    assert!(!registered.is_empty());

    let second = Running::start(
        &world,
        |addr| {
            let mut options = world
                .options(addr, Register::Auto)
                .with_on_stop(OnStop::Delete);
            // Nothing listens on port 9: the probe fails, so setWebhook fails.
            options.public_url = "https://127.0.0.1:9/elsewhere".to_owned();
            options
        },
        dispatcher_options(),
    )
    .await;
    let error = second.join().await.unwrap_err();
    assert!(error.to_string().contains("webhook"), "{error}");
    assert_eq!(world.bot.webhook_info().url, registered);
    world.stop().await;
}
