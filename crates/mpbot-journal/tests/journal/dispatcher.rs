//! The journal in front of the real dispatcher (`ack = handled` behind the journal).

use std::time::Duration;

use mpbot_api::{Bot, BotToken, Message, User};
use mpbot_core::{
    Context, Deliver, Delivered, Dispatcher, DispatcherOptions, Router, Shutdown, UpdateSource,
};
use mpbot_journal::{JournalOptions, JournalSource};
use tokio::sync::{Semaphore, mpsc};

use crate::common::{GUARD, fresh_dir, recv_n, started, update};

/// A dispatcher whose message handler reports each update id, and waits for a permit when
/// `gate` is given.
fn dispatcher(
    grace: Duration,
    gate: Option<std::sync::Arc<Semaphore>>,
) -> (Dispatcher, mpsc::UnboundedReceiver<mpbot_api::UpdateId>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut router = Router::new();
    router.on_message(move |ctx: Context, _message: Message| {
        let tx = tx.clone();
        let gate = gate.clone();
        async move {
            let _ = tx.send(ctx.update_id());
            if let Some(gate) = gate {
                gate.acquire().await.map_err(|e| e.to_string())?.forget();
            }
            Ok::<(), String>(())
        }
    });
    let bot = Bot::builder(BotToken::new("1:test").expect("token"))
        .api_url("http://127.0.0.1:9/bot")
        .build()
        .expect("bot");
    let options = DispatcherOptions::new().with_shutdown_grace(grace);
    (Dispatcher::new(bot, User::new(1), router, options), rx)
}

/// Handlers run from the journal through the dispatcher; after a graceful stop everything is
/// marked handled and a restart replays nothing.
#[tokio::test]
async fn dispatcher_runs_journaled_updates_and_marks_them_handled() {
    let dir = fresh_dir("dispatcher");
    let options = JournalOptions::new(&dir);
    let (sink, source) = started(options.clone());
    assert_eq!(source.describe(), JournalSource::info());
    let (dispatcher, mut seen) = dispatcher(Duration::from_secs(10), None);
    let (trigger, shutdown) = Shutdown::new();
    let running = tokio::spawn(dispatcher.run(Box::new(source), shutdown));
    for id in 1..=20 {
        assert_eq!(
            sink.deliver(update(id, id % 4)).await,
            Ok(Delivered::Accepted)
        );
    }
    let mut handled = recv_n(&mut seen, 20).await;
    handled.sort_unstable();
    assert_eq!(handled, (1..=20).collect::<Vec<_>>());
    trigger.trigger();
    let report = tokio::time::timeout(GUARD, running)
        .await
        .expect("guard")
        .expect("join")
        .expect("run");
    assert!(report.unfinished.is_empty());
    drop(sink);

    let (_sink, source) = started(options);
    assert_eq!(source.replay_len(), 0);
}

/// A handler still running when the grace period ends leaves its entry unhandled: the next
/// start replays it (the documented "handled twice only if it was running" case).
#[tokio::test]
async fn handler_cut_off_by_shutdown_is_replayed_on_restart() {
    let dir = fresh_dir("dispatcher-cut");
    let options = JournalOptions::new(&dir);
    let (sink, source) = started(options.clone());
    let gate = std::sync::Arc::new(Semaphore::new(0));
    let (dispatcher, mut seen) = dispatcher(Duration::ZERO, Some(gate));
    let (trigger, shutdown) = Shutdown::new();
    let running = tokio::spawn(dispatcher.run(Box::new(source), shutdown));
    assert_eq!(sink.deliver(update(9, 1)).await, Ok(Delivered::Accepted));
    assert_eq!(recv_n(&mut seen, 1).await, vec![9]);
    trigger.trigger(); // the gate never opens: the handler is cut off
    let report = tokio::time::timeout(GUARD, running)
        .await
        .expect("guard")
        .expect("join")
        .expect("run");
    assert_eq!(report.unfinished, vec![mpbot_api::UpdateId(9)]);
    // The dispatcher aborted the feeder after the (zero) grace: close the journal explicitly.
    tokio::time::timeout(GUARD, sink.close())
        .await
        .expect("guard");
    assert_eq!(
        sink.deliver(update(10, 1)).await,
        Err(mpbot_core::Refused::ShuttingDown)
    );
    drop(sink);

    let (_sink, source) = started(options);
    assert_eq!(source.replay_len(), 1);
}
