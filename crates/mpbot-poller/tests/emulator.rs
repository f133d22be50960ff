//! The poller against the emulator over loopback HTTP, with real time: the wire format, the
//! emulator's fault injection, webhook conflicts and shutdown. Waits are on events; every await
//! has a 10 s hang guard that only turns a hang into a failure.

use std::future::Future;
use std::time::Duration;

use mpbot_api::methods::SetWebhook;
use mpbot_api::{Bot, BotToken, ChatType, Message, Update, User};
use mpbot_core::{
    Context, Deliver, Delivered, Dispatcher, DispatcherOptions, MemberJoined, MemberLeft,
    MessagePinned, Refused, Router, Shutdown, ShutdownReport, ShutdownTrigger, UpdateSink,
    UpdateSource, async_trait,
};
use mpbot_emulator::{BotHandle, Emulator, Fault};
use mpbot_poller::{
    BackoffOptions, Error, LongPolling, LongPollingOptions, PollingHealth, PollingState,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

const TOKEN: &str = "123456:TEST-TOKEN";
const USERNAME: &str = "demo_bot";

async fn guard<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .expect("hang guard: the awaited event never happened")
}

async fn emulator() -> (Emulator, BotHandle) {
    let emulator = Emulator::builder()
        .bot(TOKEN, USERNAME)
        .allow_http_webhooks(true)
        .start()
        .await
        .expect("emulator starts");
    let handle = emulator.bot(TOKEN);
    (emulator, handle)
}

fn client(emulator: &Emulator) -> Bot {
    Bot::builder(BotToken::new(TOKEN).unwrap())
        .api_url(emulator.api_url())
        .rate_limit(None)
        .build()
        .expect("client builds")
}

/// Short backoff so fault tests run fast (no timing is asserted here; see `timing.rs`).
fn fast() -> LongPollingOptions {
    LongPollingOptions::new().with_timeout_secs(5).with_backoff(
        BackoffOptions::new()
            .with_initial(Duration::from_millis(10))
            .with_max(Duration::from_millis(100)),
    )
}

fn user(id: i64) -> User {
    let mut user = User::new(id);
    user.first_name = Some(format!("user{id}"));
    user
}

/// A sink that takes everything and hands it to the test.
struct Collect(mpsc::UnboundedSender<Update>);

#[async_trait]
impl Deliver for Collect {
    async fn deliver(&self, update: Update) -> Result<Delivered, Refused> {
        let _ = self.0.send(update);
        Ok(Delivered::Accepted)
    }
    fn free_capacity(&self) -> usize {
        1_000
    }
    async fn wait_for_capacity(&self) {}
}

struct Running {
    updates: mpsc::UnboundedReceiver<Update>,
    health: PollingHealth,
    trigger: ShutdownTrigger,
    task: JoinHandle<Result<(), mpbot_core::Error>>,
}

fn run(bot: Bot, options: LongPollingOptions) -> Running {
    let polling = LongPolling::new(bot, options).expect("valid options");
    let health = polling.health();
    let (tx, updates) = mpsc::unbounded_channel();
    let (trigger, shutdown) = Shutdown::new();
    let source: Box<dyn UpdateSource> = Box::new(polling);
    let task = tokio::spawn(source.run(UpdateSink::new(Collect(tx)), shutdown));
    Running {
        updates,
        health,
        trigger,
        task,
    }
}

impl Running {
    async fn take(&mut self, n: usize) -> Vec<Update> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(guard(self.updates.recv()).await.expect("poller running"));
        }
        out
    }

    async fn stop(self) -> mpsc::UnboundedReceiver<Update> {
        self.trigger.trigger();
        guard(self.task)
            .await
            .expect("no panic")
            .expect("clean stop");
        self.updates
    }

    async fn fatal(self) -> Error {
        let error = guard(self.task)
            .await
            .expect("no panic")
            .expect_err("a fatal error");
        match error {
            mpbot_core::Error::Source { source_name, error } => {
                assert_eq!(source_name, "polling");
                *error.downcast::<Error>().expect("an mpbot_poller::Error")
            }
            other => panic!("not a source error: {other}"),
        }
    }
}

fn texts(updates: &[Update]) -> Vec<String> {
    updates
        .iter()
        .map(|u| {
            u.message
                .as_ref()
                .and_then(|m| m.text.clone())
                .unwrap_or_default()
        })
        .collect()
}

/// Asserts strictly increasing update ids (no duplicates, in order).
fn assert_ascending(updates: &[Update]) {
    for pair in updates.windows(2) {
        assert!(
            pair[0].update_id < pair[1].update_id,
            "out of order or duplicated: {:?} then {:?}",
            pair[0].update_id,
            pair[1].update_id
        );
    }
}

/// A plain HTTP server answering 200 to everything: a webhook endpoint that passes the
/// emulator's reachability probe.
async fn webhook_receiver() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let _ = stream.read(&mut buf).await;
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    format!("http://{addr}/hook")
}

async fn set_webhook(bot: &Bot, url: &str) {
    let done = guard(bot.high_risk().set_webhook(&SetWebhook::new(url)))
        .await
        .expect("setWebhook accepted");
    assert!(done);
}

// ---------------------------------------------------------------------------------------------

/// Pins that updates posted before and during polling all arrive, in order, exactly once.
#[tokio::test]
async fn messages_arrive_in_order_without_gaps_or_duplicates() {
    let (emulator, handle) = emulator().await;
    for i in 0..150 {
        handle.user_message(1 + i % 3, user(1 + i % 3), &format!("m{i}"));
    }
    let mut running = run(client(&emulator), fast());
    let mut got = running.take(150).await;
    guard(handle.wait_for_long_poll()).await;
    for i in 150..160 {
        handle.user_message(7, user(7), &format!("m{i}"));
    }
    got.extend(running.take(10).await);
    assert_ascending(&got);
    let expected: Vec<String> = (0..160).map(|i| format!("m{i}")).collect();
    assert_eq!(texts(&got), expected);
    assert_eq!(running.health.state(), PollingState::Healthy);
    let mut rest = running.stop().await;
    assert!(rest.try_recv().is_err(), "an extra update arrived");
    assert_eq!(handle.pending_count(), 0);
}

/// Pins that 5xx, dropped connections, slow answers, 429 with retry_after and a short 409
/// (no webhook) are all survived with the stream complete and duplicate-free.
#[tokio::test]
async fn every_transient_fault_is_survived_without_loss_or_duplicates() {
    let (emulator, handle) = emulator().await;
    let mut expected = Vec::new();
    let mut post = |n: std::ops::Range<i32>| {
        for i in n {
            handle.user_message(5, user(5), &format!("f{i}"));
            expected.push(format!("f{i}"));
        }
    };
    post(0..10);
    handle.inject_fault(Fault::status("getUpdates", 500).times(2));
    handle.inject_fault(Fault::status("getUpdates", 502));
    handle.inject_fault(Fault::drop_connection("getUpdates").times(2));
    handle.inject_fault(Fault::delay("getUpdates", Duration::from_millis(200)));
    handle.inject_fault(Fault::status("getUpdates", 429).with_retry_after(1));
    handle.inject_fault(Fault::status("getUpdates", 409).times(2));
    handle.inject_fault(Fault::status("getUpdates", 503));
    let mut running = run(client(&emulator), fast());
    let mut got = running.take(10).await;
    post(10..20);
    got.extend(running.take(10).await);
    // Faults again mid-stream, with updates waiting.
    handle.inject_fault(Fault::drop_connection("getUpdates"));
    handle.inject_fault(Fault::status("getUpdates", 500));
    post(20..30);
    got.extend(running.take(10).await);
    assert_ascending(&got);
    assert_eq!(texts(&got), expected);
    guard(
        running
            .health
            .clone()
            .wait_for(|s| s.state == PollingState::Healthy),
    )
    .await;
    let mut rest = running.stop().await;
    assert!(rest.try_recv().is_err(), "an extra update arrived");
    assert_eq!(handle.pending_count(), 0);
}

/// Pins that a 401 from getUpdates (token revoked) stops the poller with a clear error.
#[tokio::test]
async fn unauthorized_is_fatal_with_clear_error() {
    let (emulator, handle) = emulator().await;
    handle.user_message(1, user(1), "before");
    let mut running = run(client(&emulator), fast());
    assert_eq!(texts(&running.take(1).await), ["before"]);
    guard(handle.wait_for_long_poll()).await;
    handle.inject_fault(Fault::status("getUpdates", 401));
    // End the current long poll so the next call meets the fault.
    handle.user_message(1, user(1), "wake");
    assert_eq!(texts(&running.take(1).await), ["wake"]);
    let error = running.fatal().await;
    assert!(error.is_unauthorized(), "{error}");
    assert!(
        error.to_string().contains("invalid or was revoked"),
        "{error}"
    );
}

/// Pins the start-up error when a webhook is set: it names the URL and the deliberate way out,
/// never polls, and leaves the webhook in place.
#[tokio::test]
async fn webhook_set_at_start_fails_naming_url_and_way_out() {
    let (emulator, handle) = emulator().await;
    let url = webhook_receiver().await;
    let bot = client(&emulator);
    set_webhook(&bot, &url).await;
    let error = run(bot, fast()).fatal().await;
    assert_eq!(error.webhook_url(), Some(url.as_str()));
    let text = error.to_string();
    assert!(text.contains(&url), "{text}");
    assert!(
        text.contains("mpbot webhook delete --config FILE --confirm demo_bot"),
        "{text}"
    );
    assert_eq!(
        handle.webhook_info().url,
        url,
        "the poller touched the webhook"
    );
}

/// Pins that a webhook set while polling ends the poller with the webhook's URL (no 409 loop).
#[tokio::test]
async fn webhook_set_mid_run_is_fatal_with_url() {
    let (emulator, handle) = emulator().await;
    let url = webhook_receiver().await;
    let bot = client(&emulator);
    let running = run(bot.clone(), fast());
    guard(handle.wait_for_long_poll()).await;
    set_webhook(&bot, &url).await;
    let error = running.fatal().await;
    assert_eq!(error.webhook_url(), Some(url.as_str()));
    assert_eq!(handle.webhook_info().url, url);
}

/// Pins the rolling restart: a second poller starts while the first still polls; the first is
/// shut down within the overlap window and the second takes over without losing updates.
#[tokio::test]
async fn second_poller_takes_over_within_overlap() {
    let (emulator, handle) = emulator().await;
    let old = run(client(&emulator), fast());
    guard(handle.wait_for_long_poll()).await;
    let new = run(
        client(&emulator),
        fast().with_conflict_overlap(Duration::from_secs(30)),
    );
    // The two now end each other's long polls with 409 until the old one stops.
    let mut new_health = new.health.clone();
    guard(new_health.wait_for(|s| s.state == PollingState::Degraded)).await;
    let mut old_updates = old.stop().await;
    handle.user_message(3, user(3), "after restart");
    let mut new = new;
    assert_eq!(texts(&new.take(1).await), ["after restart"]);
    assert!(old_updates.try_recv().is_err());
    guard(new_health.wait_for(|s| s.state == PollingState::Healthy)).await;
    new.stop().await;
}

/// Pins that a conflict lasting past the overlap window (two instances on one token) is fatal.
#[tokio::test]
async fn persisting_conflict_is_fatal() {
    let (emulator, handle) = emulator().await;
    let first = run(
        client(&emulator),
        fast().with_conflict_overlap(Duration::from_millis(500)),
    );
    guard(handle.wait_for_long_poll()).await;
    let second = run(
        client(&emulator),
        fast().with_conflict_overlap(Duration::from_millis(500)),
    );
    // One of them gives up first (the other may then poll in peace).
    let (first_done, second_done) = (first.task, second.task);
    let outcome = guard(async {
        tokio::select! {
            r = first_done => (r, first.trigger, second.trigger),
            r = second_done => (r, second.trigger, first.trigger),
        }
    })
    .await;
    let (result, _done_trigger, other_trigger) = outcome;
    other_trigger.trigger();
    let error = match result.expect("no panic").expect_err("fatal") {
        mpbot_core::Error::Source { error, .. } => *error.downcast::<Error>().unwrap(),
        other => panic!("{other}"),
    };
    assert!(error.is_conflict(), "{error}");
    assert!(error.to_string().contains("another poller"), "{error}");
}

/// Pins prompt shutdown during a long poll, and that the abandoned poll consumed nothing: an
/// update posted afterwards is still there for the next poller.
#[tokio::test]
async fn shutdown_during_long_poll_is_prompt_and_consumes_nothing() {
    let (emulator, handle) = emulator().await;
    let running = run(
        client(&emulator),
        LongPollingOptions::new().with_timeout_secs(50),
    );
    guard(handle.wait_for_long_poll()).await;
    // A 50 s long poll is waiting; the hang guard (10 s) fails the test if shutdown waits for it.
    running.stop().await;
    guard(handle.wait_for_no_long_poll()).await;
    handle.user_message(9, user(9), "kept");
    assert_eq!(handle.pending_count(), 1);
    let mut next = run(client(&emulator), fast());
    assert_eq!(texts(&next.take(1).await), ["kept"]);
    next.stop().await;
}

/// Pins that `allowed_updates` reaches the emulator: a kind not allowed is never delivered.
#[tokio::test]
async fn allowed_updates_filter_reaches_the_emulator() {
    let (emulator, handle) = emulator().await;
    handle
        .push_update(serde_json::json!({
            "edited_message": {"message_id": 1, "chat": {"id": 4, "type": "private"}, "text": "edited"}
        }))
        .unwrap();
    handle.user_message(4, user(4), "plain");
    let mut running = run(client(&emulator), fast().with_allowed_updates(["message"]));
    let got = running.take(1).await;
    assert_eq!(texts(&got), ["plain"]);
    guard(handle.wait_for_long_poll()).await;
    handle
        .push_update(serde_json::json!({
            "callback_query": {"id": "q1", "from": {"id": 4}}
        }))
        .unwrap();
    handle.user_message(4, user(4), "second");
    let got = running.take(1).await;
    assert_eq!(texts(&got), ["second"]);
    assert!(got[0].edited_message.is_none() && got[0].callback_query.is_none());
    let mut rest = running.stop().await;
    assert!(rest.try_recv().is_err(), "a filtered kind was delivered");
}

/// Pins that `expect_username` is checked against the emulator's getMe.
#[tokio::test]
async fn wrong_bot_is_refused() {
    let (emulator, _handle) = emulator().await;
    let error = run(client(&emulator), fast().with_expect_username("prod_bot"))
        .fatal()
        .await;
    assert!(
        matches!(&error, Error::WrongBot { expected, actual } if expected == "prod_bot" && actual.as_deref() == Some(USERNAME)),
        "{error}"
    );
}

/// Pins that the health handle reports the last successful getUpdates over real HTTP.
#[tokio::test]
async fn health_reports_last_success_over_http() {
    let (emulator, handle) = emulator().await;
    let running = run(client(&emulator), fast());
    assert!(running.health.last_success().is_none());
    guard(handle.wait_for_long_poll()).await;
    handle.user_message(2, user(2), "x");
    let mut health = running.health.clone();
    let snapshot = guard(health.wait_for(|s| s.delivered == 1)).await;
    assert!(snapshot.last_success_at.is_some());
    running.stop().await;
    assert_eq!(health.state(), PollingState::Stopped);
}

// ---------------------------------------------------------------------------------------------
// Through the real dispatcher and router

/// What a handler saw, tagged by kind: `(chat_id, "msg:TEXT" | "join:ID" | "leave:ID" | "pin:ID")`.
type Seen = (i64, String);

/// A router recording every message, join, leave and pin it handles.
fn recording_router() -> (Router, mpsc::UnboundedReceiver<Seen>) {
    let (tx, rx) = mpsc::unbounded_channel::<Seen>();
    let mut router = Router::new();
    let t = tx.clone();
    router.on_message(move |_ctx: Context, message: Message| {
        let t = t.clone();
        async move {
            let text = message.text.unwrap_or_default();
            t.send((message.chat.id.get(), format!("msg:{text}")))
                .map_err(|e| e.to_string())
        }
    });
    let t = tx.clone();
    router.on_join(move |_ctx: Context, joined: MemberJoined| {
        let t = t.clone();
        async move {
            let ids: Vec<String> = joined.members.iter().map(|m| m.id.to_string()).collect();
            t.send((joined.chat.id.get(), format!("join:{}", ids.join(","))))
                .map_err(|e| e.to_string())
        }
    });
    let t = tx.clone();
    router.on_leave(move |_ctx: Context, left: MemberLeft| {
        let t = t.clone();
        async move {
            t.send((left.chat.id.get(), format!("leave:{}", left.member.id)))
                .map_err(|e| e.to_string())
        }
    });
    router.on_pin(move |_ctx: Context, pinned: MessagePinned| {
        let t = tx.clone();
        async move {
            t.send((
                pinned.chat.id.get(),
                format!("pin:{}", pinned.pinned.message_id),
            ))
            .map_err(|e| e.to_string())
        }
    });
    (router, rx)
}

struct DispatchRun {
    dispatcher: Dispatcher,
    trigger: ShutdownTrigger,
    task: JoinHandle<Result<ShutdownReport, mpbot_core::Error>>,
}

/// Starts a dispatcher over a `LongPolling` whose `allowed_updates` come from the router.
fn run_dispatcher(emulator: &Emulator, handle: &BotHandle, router: Router) -> DispatchRun {
    let bot = client(emulator);
    let dispatcher = Dispatcher::new(bot.clone(), handle.me(), router, DispatcherOptions::new());
    let options = fast().with_allowed_updates_opt(dispatcher.allowed_updates());
    let polling = LongPolling::new(bot, options).expect("valid options");
    let (trigger, shutdown) = Shutdown::new();
    let task = tokio::spawn(dispatcher.clone().run(Box::new(polling), shutdown));
    DispatchRun {
        dispatcher,
        trigger,
        task,
    }
}

async fn seen(rx: &mut mpsc::UnboundedReceiver<Seen>, n: usize) -> Vec<Seen> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(guard(rx.recv()).await.expect("handlers running"));
    }
    out
}

fn per_chat(seen: &[Seen], chat: i64) -> Vec<String> {
    seen.iter()
        .filter(|(c, _)| *c == chat)
        .map(|(_, s)| s.clone())
        .collect()
}

/// Pins that a group conversation of messages, joins, leaves and pins, with faults injected
/// between its phases, reaches the real router in order per chat with no gaps or duplicates.
#[tokio::test]
async fn conversation_reaches_the_router_in_order_through_faults() {
    let (emulator, handle) = emulator().await;
    let (router, mut rx) = recording_router();
    const GROUP: i64 = -100;
    const OTHER: i64 = -200;
    let mut expected_group = Vec::new();
    let mut expected_other = Vec::new();
    let mut phase = |round: i64| {
        let admin = user(1);
        for i in 0..5 {
            let text = format!("r{round}-{i}");
            handle.user_message_in(GROUP, ChatType::Group, admin.clone(), &text);
            expected_group.push(format!("msg:{text}"));
            handle.user_message_in(OTHER, ChatType::Supergroup, user(2), &text);
            expected_other.push(format!("msg:{text}"));
        }
        let newcomer = 1_000 + round;
        handle.join(GROUP, vec![user(newcomer)], Some(admin.clone()));
        expected_group.push(format!("join:{newcomer}"));
        let posted = handle.user_message_in(GROUP, ChatType::Group, user(newcomer), "hello");
        expected_group.push("msg:hello".to_owned());
        handle.pin(GROUP, posted.message_id, admin.clone());
        expected_group.push(format!("pin:{}", posted.message_id));
        handle.leave(GROUP, user(newcomer), None);
        expected_group.push(format!("leave:{newcomer}"));
    };
    phase(0);
    handle.inject_fault(Fault::status("getUpdates", 500).times(2));
    handle.inject_fault(Fault::drop_connection("getUpdates"));
    let running = run_dispatcher(&emulator, &handle, router);
    let mut got = seen(&mut rx, 14).await;
    handle.inject_fault(Fault::status("getUpdates", 429).with_retry_after(1));
    handle.inject_fault(Fault::status("getUpdates", 409));
    handle.inject_fault(Fault::status("getUpdates", 503));
    phase(1);
    phase(2);
    got.extend(seen(&mut rx, 28).await);
    assert_eq!(per_chat(&got, GROUP), expected_group);
    assert_eq!(per_chat(&got, OTHER), expected_other);

    running.trigger.trigger();
    let report = guard(running.task)
        .await
        .expect("no panic")
        .expect("clean stop");
    assert!(report.is_drained());
    assert_eq!(report.stats.accepted, 42);
    assert_eq!(report.stats.handled, 42);
    assert_eq!(report.stats.duplicates, 0);
    assert!(rx.try_recv().is_err(), "a handler ran twice");
    assert_eq!(running.dispatcher.stats().refused, 0);
    assert_eq!(handle.pending_count(), 0);
}

/// Pins that the router-derived `allowed_updates` reaches the emulator: kinds the router does
/// not handle are filtered by the emulator and never reach the dispatcher at all.
#[tokio::test]
async fn router_derived_allowed_updates_filter_at_the_emulator() {
    let (emulator, handle) = emulator().await;
    let (router, mut rx) = recording_router();
    assert_eq!(router.allowed_updates(), Some(vec!["message".to_owned()]));
    handle
        .push_update(serde_json::json!({
            "edited_message": {"message_id": 1, "chat": {"id": 4, "type": "private"}, "text": "e"}
        }))
        .unwrap();
    handle
        .push_update(serde_json::json!({"callback_query": {"id": "q", "from": {"id": 4}}}))
        .unwrap();
    handle.user_message(4, user(4), "kept");
    let running = run_dispatcher(&emulator, &handle, router);
    assert_eq!(seen(&mut rx, 1).await, [(4, "msg:kept".to_owned())]);
    running.trigger.trigger();
    let report = guard(running.task).await.unwrap().unwrap();
    // Had the other kinds reached the dispatcher, they would count as accepted and unhandled.
    assert_eq!(report.stats.accepted, 1);
    assert_eq!(report.stats.unhandled, 0);
    assert_eq!(handle.pending_count(), 0);
}

/// Pins that with a fallback the router wants every kind (`None`), so nothing is filtered.
#[tokio::test]
async fn router_with_fallback_receives_every_kind() {
    let (emulator, handle) = emulator().await;
    let (mut router, mut rx) = recording_router();
    let (other_tx, mut other_rx) = mpsc::unbounded_channel::<Vec<String>>();
    router.fallback(move |_ctx: Context, update: Update| {
        let other_tx = other_tx.clone();
        async move {
            let fields: Vec<String> = update
                .payload_name()
                .into_iter()
                .map(str::to_owned)
                .collect();
            other_tx.send(fields).map_err(|e| e.to_string())
        }
    });
    assert_eq!(router.allowed_updates(), None);
    handle
        .push_update(serde_json::json!({"callback_query": {"id": "q", "from": {"id": 4}}}))
        .unwrap();
    handle.user_message(4, user(4), "m");
    let running = run_dispatcher(&emulator, &handle, router);
    assert_eq!(seen(&mut rx, 1).await, [(4, "msg:m".to_owned())]);
    assert_eq!(
        guard(other_rx.recv()).await.unwrap(),
        ["callback_query".to_owned()]
    );
    running.trigger.trigger();
    guard(running.task).await.unwrap().unwrap();
}
