//! The update span: handler log lines and the dispatcher's failure lines carry it.
//!
//! NB: its own test binary, because `tracing::subscriber::set_default` with other tests
//! registering callsites on other threads at the same time can cache a callsite's interest
//! wrongly, which made this test flaky when it shared a binary.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mpbot_core::api::{Bot, BotToken, Chat, ChatType, Message, Update, User};
use mpbot_core::{
    Context, Delivered, Dispatcher, DispatcherOptions, HandlerError, MemorySource, Router, Shutdown,
};
use tokio::sync::mpsc;
use tokio::time::timeout;

const GUARD: Duration = Duration::from_secs(10);

fn text_update(id: i64, text: &str) -> Update {
    let message = Message {
        message_id: id.into(),
        chat: Chat::new(5, ChatType::Group),
        text: Some(text.to_owned()),
        ..Message::default()
    };
    Update::with_message(id, message)
}

async fn deliver_all(router: Router, updates: Vec<Update>) {
    let bot = Bot::builder(BotToken::new("1:test").unwrap())
        .api_url("http://127.0.0.1:9/bot")
        .build()
        .unwrap();
    let dispatcher = Dispatcher::new(bot, User::new(1), router, DispatcherOptions::new());
    let (source, handle) = MemorySource::new(true);
    let (stop, shutdown) = Shutdown::new();
    let task = tokio::spawn(dispatcher.run(Box::new(source), shutdown));
    for update in updates {
        let verdict = timeout(GUARD, handle.push(update)).await.unwrap();
        assert_eq!(verdict, Ok(Delivered::Accepted));
    }
    stop.trigger();
    timeout(GUARD, task).await.unwrap().unwrap().unwrap();
}

/// A writer into a shared buffer, for capturing log output.
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

/// Handler log lines and the dispatcher's failure and panic lines carry the update's span with
/// its id, kind and chat id.
#[tokio::test]
async fn handler_logs_and_failures_carry_the_update_span() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (done_tx, mut done) = mpsc::unbounded_channel::<()>();
    let mut router = Router::new();
    router.on_message(move |_ctx: Context, m: Message| {
        let done_tx = done_tx.clone();
        async move {
            tracing::info!("inside the handler");
            let _ = done_tx.send(());
            match m.text.as_deref() {
                Some("fail") => Err(HandlerError::from("bad input")),
                Some("panic") => panic!("kaboom"),
                _ => Ok(()),
            }
        }
    });
    deliver_all(
        router,
        vec![
            text_update(41, "ok"),
            text_update(42, "fail"),
            text_update(43, "panic"),
        ],
    )
    .await;
    done.close();
    let out = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let line = |needle: &str| {
        out.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{out}"))
            .to_owned()
    };
    let inside = line("inside the handler");
    assert!(
        inside.contains("update{update_id=41 kind=message chat_id=5}"),
        "{inside}"
    );
    let failed = line("handler failed");
    assert!(
        failed.contains("update{update_id=42 kind=message chat_id=5}"),
        "{failed}"
    );
    assert!(failed.contains("bad input"), "{failed}");
    let panicked = line("handler panicked");
    assert!(panicked.contains("update_id=43"), "{panicked}");
    assert!(panicked.contains("kaboom"), "{panicked}");
}
