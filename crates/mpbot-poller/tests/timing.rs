//! The poller's timing and fault handling, over an in-memory [`PollApi`] with scripted answers,
//! under a paused tokio clock (so backoff, `retry_after` and the conflict window are exact and
//! instant).

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mpbot_api::methods::GetUpdates;
use mpbot_api::{ApiErrorKind, TransportKind, Update, UpdateId, User, WebhookInfo};
use mpbot_core::{
    Deliver, Delivered, Refused, Shutdown, ShutdownTrigger, UpdateSink, UpdateSource, async_trait,
};
use mpbot_poller::{
    BackoffOptions, Error, LongPolling, LongPollingOptions, PollApi, PollingHealth, PollingState,
};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

// ---------------------------------------------------------------------------------------------
// The fake API

/// One scripted answer of the fake.
enum Reply<T> {
    Ok(T),
    Err(mpbot_api::Error),
    /// Never answers (a long poll that waits until the client goes away).
    Hang,
    /// Answers when the test sends the answer (a long poll the test ends).
    Gate(oneshot::Receiver<Reply<T>>),
}

/// A recorded call.
#[derive(Debug, Clone)]
struct Call {
    method: &'static str,
    at: Instant,
    request: Option<GetUpdates>,
}

/// An in-memory Bot API: each method answers from its script, then with its default (getMe:
/// `demo_bot`; getWebhookInfo: no webhook; getUpdates: a long poll that never ends).
struct FakeApi {
    me: Mutex<VecDeque<Reply<User>>>,
    webhook: Mutex<VecDeque<Reply<WebhookInfo>>>,
    updates: Mutex<VecDeque<Reply<Vec<Update>>>>,
    calls: mpsc::UnboundedSender<Call>,
}

impl FakeApi {
    fn new() -> (Arc<Self>, mpsc::UnboundedReceiver<Call>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let fake = Self {
            me: Mutex::new(VecDeque::new()),
            webhook: Mutex::new(VecDeque::new()),
            updates: Mutex::new(VecDeque::new()),
            calls: tx,
        };
        (Arc::new(fake), rx)
    }

    fn script_me(&self, reply: Reply<User>) {
        self.me.lock().unwrap().push_back(reply);
    }

    fn script_webhook(&self, reply: Reply<WebhookInfo>) {
        self.webhook.lock().unwrap().push_back(reply);
    }

    fn script_updates(&self, reply: Reply<Vec<Update>>) {
        self.updates.lock().unwrap().push_back(reply);
    }

    fn record(&self, method: &'static str, request: Option<GetUpdates>) {
        let _ = self.calls.send(Call {
            method,
            at: Instant::now(),
            request,
        });
    }
}

async fn answer<T>(
    reply: Option<Reply<T>>,
    default: impl FnOnce() -> Reply<T>,
) -> mpbot_api::Result<T> {
    let mut reply = reply.unwrap_or_else(default);
    loop {
        reply = match reply {
            Reply::Ok(value) => return Ok(value),
            Reply::Err(error) => return Err(error),
            Reply::Hang => std::future::pending().await,
            Reply::Gate(gate) => gate.await.unwrap_or(Reply::Hang),
        };
    }
}

/// A scripted answer the test releases later.
fn gate<T>() -> (oneshot::Sender<Reply<T>>, Reply<T>) {
    let (tx, rx) = oneshot::channel();
    (tx, Reply::Gate(rx))
}

/// A hang guard: under the paused clock an idle runtime jumps to this timer at once, so a hang
/// fails the test instead of blocking it. It never orders events.
async fn guard<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(86_400), future)
        .await
        .expect("hang guard: the awaited event never happened")
}

#[async_trait]
impl PollApi for FakeApi {
    async fn get_me(&self) -> mpbot_api::Result<User> {
        self.record("getMe", None);
        let reply = self.me.lock().unwrap().pop_front();
        answer(reply, || Reply::Ok(bot_user("demo_bot"))).await
    }

    async fn get_webhook_info(&self) -> mpbot_api::Result<WebhookInfo> {
        self.record("getWebhookInfo", None);
        let reply = self.webhook.lock().unwrap().pop_front();
        answer(reply, || Reply::Ok(WebhookInfo::default())).await
    }

    async fn get_updates(&self, request: &GetUpdates) -> mpbot_api::Result<Vec<Update>> {
        self.record("getUpdates", Some(request.clone()));
        let reply = self.updates.lock().unwrap().pop_front();
        answer(reply, || Reply::Hang).await
    }
}

fn bot_user(username: &str) -> User {
    let mut user = User::new(123_456);
    user.is_bot = Some(true);
    user.username = Some(username.to_owned());
    user
}

fn updates(ids: impl IntoIterator<Item = i64>) -> Vec<Update> {
    ids.into_iter()
        .map(|id| Update {
            update_id: UpdateId(id),
            ..Update::default()
        })
        .collect()
}

fn api_error(method: &str, code: i64, retry_after: Option<u64>) -> mpbot_api::Error {
    mpbot_api::Error::Api {
        method: method.to_owned(),
        code,
        description: format!("error {code}"),
        retry_after: retry_after.map(Duration::from_secs),
        http_status: u16::try_from(code).unwrap_or(400),
    }
}

fn network_error(kind: TransportKind) -> mpbot_api::Error {
    mpbot_api::Error::Transport {
        method: "getUpdates".to_owned(),
        kind,
        source: Box::new(io::Error::new(io::ErrorKind::ConnectionReset, "reset")),
    }
}

fn webhook(url: &str) -> WebhookInfo {
    WebhookInfo {
        url: url.to_owned(),
        ..WebhookInfo::default()
    }
}

// ---------------------------------------------------------------------------------------------
// The test sink

/// A sink with a fixed number of slots: `deliver` takes a slot (waiting for one), the test
/// frees slots with [`Slots::handle`], as the dispatcher's workers would.
struct TestSink {
    slots: Arc<Semaphore>,
    taken: mpsc::UnboundedSender<Update>,
}

#[derive(Clone)]
struct Slots(Arc<Semaphore>);

impl Slots {
    fn handle(&self, n: usize) {
        self.0.add_permits(n);
    }
}

#[async_trait]
impl Deliver for TestSink {
    async fn deliver(&self, update: Update) -> Result<Delivered, Refused> {
        let permit = self.slots.acquire().await.expect("never closed");
        permit.forget();
        let _ = self.taken.send(update);
        Ok(Delivered::Accepted)
    }

    fn free_capacity(&self) -> usize {
        self.slots.available_permits()
    }

    async fn wait_for_capacity(&self) {
        let _permit = self.slots.acquire().await.expect("never closed");
    }
}

fn sink(capacity: usize) -> (UpdateSink, Slots, mpsc::UnboundedReceiver<Update>) {
    let slots = Arc::new(Semaphore::new(capacity));
    let (tx, rx) = mpsc::unbounded_channel();
    let sink = UpdateSink::new(TestSink {
        slots: Arc::clone(&slots),
        taken: tx,
    });
    (sink, Slots(slots), rx)
}

// ---------------------------------------------------------------------------------------------
// Harness

/// Options with jitter off, so the delays are exact.
fn exact() -> LongPollingOptions {
    LongPollingOptions::new().with_backoff(BackoffOptions::new().with_jitter(0.0))
}

struct Running {
    calls: mpsc::UnboundedReceiver<Call>,
    taken: mpsc::UnboundedReceiver<Update>,
    slots: Slots,
    health: PollingHealth,
    trigger: ShutdownTrigger,
    task: JoinHandle<Result<(), mpbot_core::Error>>,
}

fn start(
    fake: Arc<FakeApi>,
    calls: mpsc::UnboundedReceiver<Call>,
    options: LongPollingOptions,
) -> Running {
    start_with_capacity(fake, calls, options, 10_000)
}

fn start_with_capacity(
    fake: Arc<FakeApi>,
    calls: mpsc::UnboundedReceiver<Call>,
    options: LongPollingOptions,
    capacity: usize,
) -> Running {
    let polling = LongPolling::new(fake, options).expect("valid options");
    let health = polling.health();
    let (sink, slots, taken) = sink(capacity);
    let (trigger, shutdown) = Shutdown::new();
    let source: Box<dyn UpdateSource> = Box::new(polling);
    assert_eq!(source.describe().name, "polling");
    assert!(!source.describe().redelivers);
    let task = tokio::spawn(source.run(sink, shutdown));
    Running {
        calls,
        taken,
        slots,
        health,
        trigger,
        task,
    }
}

impl Running {
    /// The next call of `method`, skipping calls of other methods.
    async fn next(&mut self, method: &str) -> Call {
        loop {
            let call = guard(self.calls.recv())
                .await
                .expect("the poller is running");
            if call.method == method {
                return call;
            }
        }
    }

    /// The next `n` getUpdates calls.
    async fn polls(&mut self, n: usize) -> Vec<Call> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.next("getUpdates").await);
        }
        out
    }

    async fn taken_ids(&mut self, n: usize) -> Vec<i64> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let update = guard(self.taken.recv()).await.expect("delivered");
            out.push(update.update_id.get());
        }
        out
    }

    async fn stop(self) -> Result<(), mpbot_core::Error> {
        self.trigger.trigger();
        guard(self.task).await.expect("no panic")
    }

    async fn fatal(self) -> Error {
        let error = self
            .task
            .await
            .expect("no panic")
            .expect_err("a fatal error");
        into_poller_error(error)
    }
}

fn into_poller_error(error: mpbot_core::Error) -> Error {
    match error {
        mpbot_core::Error::Source { source_name, error } => {
            assert_eq!(source_name, "polling");
            *error.downcast::<Error>().expect("an mpbot_poller::Error")
        }
        other => panic!("not a source error: {other}"),
    }
}

/// Gaps between consecutive calls.
fn gaps(calls: &[Call]) -> Vec<Duration> {
    calls.windows(2).map(|w| w[1].at - w[0].at).collect()
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

// ---------------------------------------------------------------------------------------------
// Tests: the normal loop

/// Pins the start sequence (getMe, getWebhookInfo) and the request parameters of each poll.
#[tokio::test(start_paused = true)]
async fn starts_with_get_me_and_webhook_info_then_polls_with_options() {
    let (fake, calls) = FakeApi::new();
    let options = exact()
        .with_timeout_secs(25)
        .with_limit(40)
        .with_allowed_updates(["message", "edited_message"]);
    let mut run = start(fake, calls, options);
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(guard(run.calls.recv()).await.unwrap());
    }
    let order: Vec<&str> = seen.iter().map(|c| c.method).collect();
    assert_eq!(order, ["getMe", "getWebhookInfo", "getUpdates"]);
    // The first request has no offset: MPChat starts at the oldest pending update.
    let mut expected = GetUpdates::new();
    expected.timeout = Some(25);
    expected.limit = Some(40);
    expected.allowed_updates = Some(vec!["message".into(), "edited_message".into()]);
    assert_eq!(seen[2].request.as_ref(), Some(&expected));
    assert_eq!(run.health.state(), PollingState::Starting);
    run.stop().await.expect("clean stop");
}

/// Pins that every update of every batch reaches the sink in order and that the offset is the
/// highest update_id taken + 1.
#[tokio::test(start_paused = true)]
async fn delivers_batches_in_order_and_advances_offset() {
    let (fake, calls) = FakeApi::new();
    fake.script_updates(Reply::Ok(updates([10, 11, 12])));
    fake.script_updates(Reply::Ok(Vec::new()));
    fake.script_updates(Reply::Ok(updates([13, 15])));
    let mut run = start(fake, calls, exact().with_allowed_updates(["message"]));
    let polls = run.polls(4).await;
    let offsets: Vec<Option<i64>> = polls
        .iter()
        .map(|c| c.request.as_ref().unwrap().offset.map(UpdateId::get))
        .collect();
    assert_eq!(offsets, [None, Some(13), Some(13), Some(16)]);
    for call in &polls {
        let request = call.request.as_ref().unwrap();
        assert_eq!(request.timeout, Some(30));
        assert_eq!(request.limit, Some(100));
        assert_eq!(request.allowed_updates, Some(vec!["message".to_owned()]));
    }
    assert_eq!(run.taken_ids(5).await, [10, 11, 12, 13, 15]);
    assert_eq!(run.health.state(), PollingState::Healthy);
    assert_eq!(run.health.snapshot().delivered, 5);
    run.stop().await.expect("clean stop");
}

/// Pins that an empty `allowed_updates` list (an empty router) is not sent: MPChat would read
/// it as its default set.
#[tokio::test(start_paused = true)]
async fn empty_allowed_updates_is_not_sent() {
    let (fake, calls) = FakeApi::new();
    let mut run = start(
        fake,
        calls,
        exact().with_allowed_updates(Vec::<String>::new()),
    );
    let poll = run.next("getUpdates").await;
    assert_eq!(poll.request.unwrap().allowed_updates, None);
    run.stop().await.expect("clean stop");
}

/// Pins backpressure: no getUpdates while the sink is full, and `limit` capped by free capacity.
#[tokio::test(start_paused = true)]
async fn waits_for_sink_capacity_and_caps_limit() {
    let (fake, calls) = FakeApi::new();
    fake.script_updates(Reply::Ok(updates([1, 2, 3])));
    let mut run = start_with_capacity(fake, calls, exact(), 3);
    let first = run.next("getUpdates").await;
    assert_eq!(first.request.unwrap().limit, Some(3));
    assert_eq!(run.taken_ids(3).await, [1, 2, 3]);
    // The sink is full: the poller must not ask for more. Let virtual time run far ahead.
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert!(
        run.calls.try_recv().is_err(),
        "polled while the sink was full"
    );
    run.slots.handle(2);
    let second = run.next("getUpdates").await;
    let request = second.request.unwrap();
    assert_eq!(request.limit, Some(2));
    assert_eq!(request.offset, Some(UpdateId(4)));
    run.stop().await.expect("clean stop");
}

/// Pins that a short poll (timeout 0) pauses after an empty answer instead of spinning.
#[tokio::test(start_paused = true)]
async fn short_poll_pauses_after_empty_answers() {
    let (fake, calls) = FakeApi::new();
    for _ in 0..3 {
        fake.script_updates(Reply::Ok(Vec::new()));
    }
    fake.script_updates(Reply::Ok(updates([1])));
    fake.script_updates(Reply::Ok(Vec::new()));
    let mut run = start(fake, calls, exact().with_timeout_secs(0));
    let polls = run.polls(6).await;
    assert_eq!(
        gaps(&polls),
        [secs(1.0), secs(1.0), secs(1.0), secs(0.0), secs(1.0)]
    );
    run.stop().await.expect("clean stop");
}

// ---------------------------------------------------------------------------------------------
// Tests: transient faults

/// Pins exponential backoff on network errors, timeouts and 5xx, and its reset on success.
#[tokio::test(start_paused = true)]
async fn transient_faults_back_off_exponentially_and_reset_on_success() {
    let (fake, calls) = FakeApi::new();
    fake.script_updates(Reply::Err(network_error(TransportKind::Connect)));
    fake.script_updates(Reply::Err(network_error(TransportKind::Timeout)));
    fake.script_updates(Reply::Err(api_error("getUpdates", 500, None)));
    fake.script_updates(Reply::Err(api_error("getUpdates", 502, None)));
    fake.script_updates(Reply::Ok(updates([1])));
    fake.script_updates(Reply::Err(api_error("getUpdates", 503, None)));
    fake.script_updates(Reply::Ok(updates([2])));
    let mut run = start(fake, calls, exact());
    let polls = run.polls(8).await;
    assert_eq!(
        gaps(&polls),
        [
            secs(0.5),
            secs(1.0),
            secs(2.0),
            secs(4.0),
            secs(0.0),
            secs(0.5),
            secs(0.0)
        ]
    );
    assert_eq!(run.taken_ids(2).await, [1, 2]);
    assert_eq!(run.health.state(), PollingState::Healthy);
    run.stop().await.expect("clean stop");
}

/// Pins that the backoff stops growing at its cap.
#[tokio::test(start_paused = true)]
async fn backoff_is_capped() {
    let (fake, calls) = FakeApi::new();
    for _ in 0..6 {
        fake.script_updates(Reply::Err(network_error(TransportKind::Other)));
    }
    let options = LongPollingOptions::new().with_backoff(
        BackoffOptions::new()
            .with_jitter(0.0)
            .with_max(Duration::from_secs(3)),
    );
    let mut run = start(fake, calls, options);
    let polls = run.polls(7).await;
    assert_eq!(
        gaps(&polls),
        [
            secs(0.5),
            secs(1.0),
            secs(2.0),
            secs(3.0),
            secs(3.0),
            secs(3.0)
        ]
    );
    assert_eq!(run.health.snapshot().consecutive_failures, 6);
    run.stop().await.expect("clean stop");
}

/// Pins that jitter only shortens delays, within its fraction.
#[tokio::test(start_paused = true)]
async fn jittered_backoff_stays_within_bounds() {
    let (fake, calls) = FakeApi::new();
    for _ in 0..5 {
        fake.script_updates(Reply::Err(network_error(TransportKind::Other)));
    }
    let mut run = start(fake, calls, LongPollingOptions::new());
    let polls = run.polls(6).await;
    for (attempt, gap) in gaps(&polls).into_iter().enumerate() {
        let full = secs(0.5 * f64::from(1u32 << attempt));
        assert!(gap <= full && gap >= full / 2, "attempt {attempt}: {gap:?}");
    }
    run.stop().await.expect("clean stop");
}

/// Pins that 429 waits exactly `retry_after` (no jitter, no cap), and backs off without it.
#[tokio::test(start_paused = true)]
async fn rate_limit_waits_exactly_retry_after() {
    let (fake, calls) = FakeApi::new();
    fake.script_updates(Reply::Err(api_error("getUpdates", 429, Some(7))));
    fake.script_updates(Reply::Err(api_error("getUpdates", 429, Some(45))));
    fake.script_updates(Reply::Err(api_error("getUpdates", 429, None)));
    fake.script_updates(Reply::Ok(updates([1])));
    // Default jitter on: retry_after must still be exact.
    let mut run = start(fake, calls, LongPollingOptions::new());
    let polls = run.polls(4).await;
    let gaps = gaps(&polls);
    assert_eq!(gaps[0], secs(7.0));
    assert_eq!(gaps[1], secs(45.0));
    // Third failure without a hint: backoff attempt 2, i.e. 2 s shortened by up to half.
    assert!(
        gaps[2] <= secs(2.0) && gaps[2] >= secs(1.0),
        "{:?}",
        gaps[2]
    );
    assert_eq!(run.taken_ids(1).await, [1]);
    run.stop().await.expect("clean stop");
}

/// Pins that an unreadable answer is retried with backoff (and the loop keeps going).
#[tokio::test(start_paused = true)]
async fn undecodable_answer_is_retried() {
    let (fake, calls) = FakeApi::new();
    fake.script_updates(Reply::Err(mpbot_api::Error::Decode {
        method: "getUpdates".into(),
        http_status: 200,
        reason: "expected an array".into(),
        raw: "{\"ok\":true,\"result\":{}}".into(),
    }));
    fake.script_updates(Reply::Ok(updates([5])));
    let mut run = start(fake, calls, exact());
    let polls = run.polls(2).await;
    assert_eq!(gaps(&polls), [secs(0.5)]);
    assert_eq!(run.taken_ids(1).await, [5]);
    run.stop().await.expect("clean stop");
}

/// Pins that transient faults during start-up (getMe, getWebhookInfo) are retried too.
#[tokio::test(start_paused = true)]
async fn start_up_calls_retry_transient_faults() {
    let (fake, calls) = FakeApi::new();
    fake.script_me(Reply::Err(network_error(TransportKind::Connect)));
    fake.script_me(Reply::Err(api_error("getMe", 500, None)));
    fake.script_webhook(Reply::Err(api_error("getWebhookInfo", 429, Some(3))));
    let mut run = start(fake, calls, exact());
    let mut seen = Vec::new();
    for _ in 0..6 {
        let call = guard(run.calls.recv()).await.unwrap();
        seen.push(call);
    }
    let methods: Vec<&str> = seen.iter().map(|c| c.method).collect();
    assert_eq!(
        methods,
        [
            "getMe",
            "getMe",
            "getMe",
            "getWebhookInfo",
            "getWebhookInfo",
            "getUpdates"
        ]
    );
    assert_eq!(
        gaps(&seen),
        [secs(0.5), secs(1.0), secs(0.0), secs(3.0), secs(0.0)]
    );
    // Recovered from the start-up faults, but no getUpdates has succeeded yet.
    let snapshot = run.health.snapshot();
    assert_eq!(snapshot.state, PollingState::Starting);
    assert_eq!(snapshot.consecutive_failures, 0);
    run.stop().await.expect("clean stop");
}

// ---------------------------------------------------------------------------------------------
// Tests: fatal conditions

/// Pins that 401 mid-run is fatal (token revoked) and no further call is made.
#[tokio::test(start_paused = true)]
async fn unauthorized_mid_run_is_fatal() {
    let (fake, calls) = FakeApi::new();
    fake.script_updates(Reply::Ok(updates([1])));
    fake.script_updates(Reply::Err(api_error("getUpdates", 401, None)));
    let mut run = start(fake, calls, exact());
    run.polls(2).await;
    assert_eq!(run.taken_ids(1).await, [1]);
    let mut health = run.health.clone();
    let mut calls = std::mem::replace(&mut run.calls, mpsc::unbounded_channel().1);
    let error = run.fatal().await;
    assert!(error.is_unauthorized(), "{error}");
    assert!(error.to_string().contains("revoked"), "{error}");
    assert!(calls.try_recv().is_err(), "called again after 401");
    let last = health.wait_for(|s| s.state == PollingState::Stopped).await;
    assert_eq!(last.state, PollingState::Stopped);
}

/// Pins that 401 from getMe at start is fatal with the same clear error.
#[tokio::test(start_paused = true)]
async fn unauthorized_at_start_is_fatal() {
    let (fake, calls) = FakeApi::new();
    fake.script_me(Reply::Err(api_error("getMe", 401, None)));
    let error = start(fake, calls, exact()).fatal().await;
    assert!(
        matches!(&error, Error::Unauthorized { method } if method == "getMe"),
        "{error}"
    );
}

/// Pins that another bot than `expect_username` is fatal and the error names both.
#[tokio::test(start_paused = true)]
async fn wrong_bot_is_fatal_and_names_both() {
    let (fake, calls) = FakeApi::new();
    fake.script_me(Reply::Ok(bot_user("staging_bot")));
    let error = start(fake, calls, exact().with_expect_username("prod_bot"))
        .fatal()
        .await;
    let text = error.to_string();
    assert!(
        matches!(&error, Error::WrongBot { expected, actual } if expected == "prod_bot" && actual.as_deref() == Some("staging_bot")),
        "{text}"
    );
    assert!(
        text.contains("prod_bot") && text.contains("staging_bot"),
        "{text}"
    );
}

/// Pins that `expect_username` compares case-insensitively.
#[tokio::test(start_paused = true)]
async fn expect_username_ignores_case() {
    let (fake, calls) = FakeApi::new();
    fake.script_me(Reply::Ok(bot_user("Demo_Bot")));
    let mut run = start(fake, calls, exact().with_expect_username("@demo_bot"));
    run.next("getUpdates").await;
    run.stop().await.expect("clean stop");
}

/// Pins that a webhook set at start is fatal, names the URL and the CLI command, and that the
/// poller never calls getUpdates.
#[tokio::test(start_paused = true)]
async fn webhook_set_at_start_is_fatal_and_never_polls() {
    let (fake, calls) = FakeApi::new();
    fake.script_webhook(Reply::Ok(webhook("https://bot.example.com/hook")));
    let mut run = start(fake, calls, exact());
    let mut calls = std::mem::replace(&mut run.calls, mpsc::unbounded_channel().1);
    let error = run.fatal().await;
    assert_eq!(error.webhook_url(), Some("https://bot.example.com/hook"));
    let text = error.to_string();
    assert!(
        text.contains("mpbot webhook delete --config FILE --confirm demo_bot"),
        "{text}"
    );
    let mut methods = Vec::new();
    while let Ok(call) = calls.try_recv() {
        methods.push(call.method);
    }
    assert_eq!(methods, ["getMe", "getWebhookInfo"]);
}

/// Pins that a 409 mid-run with a webhook now set is fatal with its URL, without retrying.
#[tokio::test(start_paused = true)]
async fn conflict_with_webhook_set_mid_run_is_fatal() {
    let (fake, calls) = FakeApi::new();
    fake.script_updates(Reply::Ok(updates([1])));
    fake.script_updates(Reply::Err(api_error("getUpdates", 409, None)));
    fake.script_webhook(Reply::Ok(WebhookInfo::default()));
    fake.script_webhook(Reply::Ok(webhook("https://new.example.com/hook")));
    let mut run = start(fake, calls, exact());
    run.polls(2).await;
    run.next("getWebhookInfo").await;
    let mut calls = std::mem::replace(&mut run.calls, mpsc::unbounded_channel().1);
    let error = run.fatal().await;
    assert_eq!(error.webhook_url(), Some("https://new.example.com/hook"));
    assert!(
        calls.try_recv().is_err(),
        "retried after the webhook was found"
    );
}

/// Pins that 409 without a webhook ("another poller took over") is retried for exactly the
/// overlap window, then fatal.
#[tokio::test(start_paused = true)]
async fn conflict_without_webhook_retries_for_overlap_then_fails() {
    let (fake, calls) = FakeApi::new();
    for _ in 0..100 {
        fake.script_updates(Reply::Err(api_error("getUpdates", 409, None)));
    }
    let mut run = start(
        fake,
        calls,
        exact().with_conflict_overlap(Duration::from_secs(10)),
    );
    let first = run.next("getUpdates").await;
    let mut last = first.clone();
    let mut count = 1;
    let mut calls = std::mem::replace(&mut run.calls, mpsc::unbounded_channel().1);
    let error = run.fatal().await;
    while let Ok(call) = calls.try_recv() {
        if call.method == "getUpdates" {
            last = call;
            count += 1;
        }
    }
    // 0, 0.5, 1.5, 3.5, 7.5, then the last retry at the window's end (10 s).
    assert_eq!(count, 6);
    assert_eq!(last.at - first.at, secs(10.0));
    match error {
        Error::ConflictPersisted { window } => assert_eq!(window, secs(10.0)),
        other => panic!("expected ConflictPersisted, got {other}"),
    }
}

/// Pins that a conflict that ends within the overlap window (a rolling restart) is survived.
#[tokio::test(start_paused = true)]
async fn conflict_within_overlap_is_survived() {
    let (fake, calls) = FakeApi::new();
    for _ in 0..3 {
        fake.script_updates(Reply::Err(api_error("getUpdates", 409, None)));
    }
    fake.script_updates(Reply::Ok(updates([8])));
    // A second conflict period after the success gets a fresh window.
    for _ in 0..4 {
        fake.script_updates(Reply::Err(api_error("getUpdates", 409, None)));
    }
    fake.script_updates(Reply::Ok(updates([9])));
    let mut run = start(
        fake,
        calls,
        exact().with_conflict_overlap(Duration::from_secs(4)),
    );
    run.polls(10).await;
    assert_eq!(run.taken_ids(2).await, [8, 9]);
    assert_eq!(run.health.state(), PollingState::Healthy);
    run.stop().await.expect("clean stop");
}

/// Pins that other non-retryable answers (400, 403, 501, 50001) are fatal `Api` errors.
#[tokio::test(start_paused = true)]
async fn other_api_errors_are_fatal() {
    for code in [400, 403, 404, 501, 50001] {
        let (fake, calls) = FakeApi::new();
        fake.script_updates(Reply::Err(api_error("getUpdates", code, None)));
        let error = start(fake, calls, exact()).fatal().await;
        match &error {
            Error::Api(inner) => assert_eq!(inner.api_code(), Some(code)),
            other => panic!("{code}: expected Api, got {other}"),
        }
        assert_ne!(
            mpbot_api::ApiErrorKind::from_code(code),
            ApiErrorKind::RateLimited
        );
    }
}

/// Pins that invalid options are refused before anything runs.
#[test]
fn invalid_options_are_refused_by_new() {
    let (fake, _calls) = FakeApi::new();
    let error = LongPolling::new(fake, LongPollingOptions::new().with_limit(0)).unwrap_err();
    assert!(error.is_invalid_options());
    assert!(error.to_string().contains("limit"), "{error}");
}

// ---------------------------------------------------------------------------------------------
// Tests: shutdown

/// Pins that shutdown in the middle of a long poll returns at once (no virtual time passes).
#[tokio::test(start_paused = true)]
async fn shutdown_during_long_poll_is_prompt() {
    let (fake, calls) = FakeApi::new();
    let mut run = start(fake, calls, exact());
    run.next("getUpdates").await;
    let before = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(1), run.stop())
        .await
        .expect("stopped within a second");
    result.expect("clean stop");
    assert_eq!(Instant::now(), before, "shutdown waited on a timer");
}

/// Pins that shutdown during a backoff pause returns at once.
#[tokio::test(start_paused = true)]
async fn shutdown_during_backoff_is_prompt() {
    let (fake, calls) = FakeApi::new();
    fake.script_updates(Reply::Err(api_error("getUpdates", 429, Some(3600))));
    let mut run = start(fake, calls, exact());
    run.next("getUpdates").await;
    let mut health = run.health.clone();
    guard(health.wait_for(|s| s.state == PollingState::Degraded)).await;
    let before = Instant::now();
    run.stop().await.expect("clean stop");
    assert!(Instant::now() - before < Duration::from_secs(1));
}

/// Pins that a batch already received is delivered in full when shutdown comes mid-batch, and
/// that no further getUpdates is made.
#[tokio::test(start_paused = true)]
async fn batch_is_fully_delivered_when_shutdown_comes_mid_batch() {
    let (fake, calls) = FakeApi::new();
    fake.script_updates(Reply::Ok(updates(1..=5)));
    fake.script_updates(Reply::Ok(updates([6])));
    let mut run = start_with_capacity(fake, calls, exact(), 2);
    run.next("getUpdates").await;
    assert_eq!(run.taken_ids(2).await, [1, 2]);
    // The sink is full with three updates of the batch still to go: request shutdown now.
    run.trigger.trigger();
    tokio::task::yield_now().await;
    assert!(
        !run.task.is_finished(),
        "returned with a batch half delivered"
    );
    run.slots.handle(3);
    assert_eq!(run.taken_ids(3).await, [3, 4, 5]);
    let mut calls = std::mem::replace(&mut run.calls, mpsc::unbounded_channel().1);
    guard(run.task).await.unwrap().expect("clean stop");
    assert!(calls.try_recv().is_err(), "polled again after shutdown");
}

/// Pins that a sink refusing a polled update stops the poller with `Refused` (lost updates
/// are an error, never silent).
#[tokio::test(start_paused = true)]
async fn refusing_sink_stops_the_poller() {
    struct Refusing;
    #[async_trait]
    impl Deliver for Refusing {
        async fn deliver(&self, _update: Update) -> Result<Delivered, Refused> {
            Err(Refused::ShuttingDown)
        }
        fn free_capacity(&self) -> usize {
            1
        }
        async fn wait_for_capacity(&self) {}
    }
    let (fake, _calls) = FakeApi::new();
    fake.script_updates(Reply::Ok(updates([1, 2])));
    let polling = LongPolling::new(fake, exact()).unwrap();
    let result = Box::new(polling)
        .run(UpdateSink::new(Refusing), Shutdown::never())
        .await;
    assert!(
        matches!(
            result,
            Err(mpbot_core::Error::Refused(Refused::ShuttingDown))
        ),
        "{result:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Tests: health and logs

/// Pins the health handle: starting, healthy with the time of the last success, degraded while
/// failing, healthy again, stopped.
#[tokio::test(start_paused = true)]
async fn health_tracks_state_and_last_success() {
    let (fake, calls) = FakeApi::new();
    let (first_answer, first) = gate();
    let (second_answer, second) = gate();
    let (third_answer, third) = gate();
    fake.script_updates(first);
    fake.script_updates(second);
    fake.script_updates(third);
    let mut run = start(fake, calls, exact());
    run.next("getUpdates").await;
    assert_eq!(run.health.state(), PollingState::Starting);
    assert_eq!(run.health.last_success(), None);
    assert_eq!(run.health.since_last_success(), None);
    let mut health = run.health.clone();

    let _ = first_answer.send(Reply::Ok(updates([1])));
    run.next("getUpdates").await;
    let healthy = guard(health.wait_for(|s| s.state == PollingState::Healthy)).await;
    let first_success = healthy.last_success.expect("set on success");
    assert!(healthy.last_success_at.is_some());
    assert_eq!(healthy.delivered, 1);

    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(health.since_last_success(), Some(secs(10.0)));
    let _ = second_answer.send(Reply::Err(network_error(TransportKind::Connect)));
    run.next("getUpdates").await;
    let degraded = health.snapshot();
    assert_eq!(degraded.state, PollingState::Degraded);
    assert_eq!(degraded.consecutive_failures, 1);
    assert!(degraded.last_error.unwrap().contains("could not connect"));
    assert_eq!(degraded.last_success, Some(first_success));

    let _ = third_answer.send(Reply::Ok(Vec::new()));
    run.next("getUpdates").await;
    let again = health.snapshot();
    assert_eq!(again.state, PollingState::Healthy);
    assert_eq!(again.consecutive_failures, 0);
    assert_eq!(again.last_error, None);
    // The success came after 10 s of long poll and a 0.5 s backoff pause.
    assert_eq!(again.last_success.unwrap() - first_success, secs(10.5));
    run.stop().await.expect("clean stop");
    assert_eq!(health.state(), PollingState::Stopped);
}

/// Formatted log lines of one test.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    fn lines(&self) -> Vec<String> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

thread_local! {
    static CAPTURE: std::cell::RefCell<Option<LogBuffer>> = const { std::cell::RefCell::new(None) };
}

/// Writes into the calling thread's capture buffer, if it has one.
struct ThreadWriter;

impl io::Write for ThreadWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        CAPTURE.with(|capture| {
            if let Some(logs) = &*capture.borrow() {
                logs.0.lock().unwrap().extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Captures this thread's log lines (the paused-clock runtime runs the poller on the test's
/// thread).
///
/// NB: one global subscriber rather than `set_default` per test: tracing caches each
/// callsite's interest globally, so a callsite first hit by a parallel test without a
/// subscriber would stay disabled for this test too.
fn capture_logs() -> LogBuffer {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(|| ThreadWriter)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
    });
    let logs = LogBuffer::default();
    CAPTURE.with(|capture| *capture.borrow_mut() = Some(logs.clone()));
    logs
}

/// Pins one log line per state change (degraded, recovered), however many retries happen.
#[tokio::test(start_paused = true)]
async fn logs_one_line_per_state_change_not_per_retry() {
    let logs = capture_logs();

    let (fake, calls) = FakeApi::new();
    for _ in 0..6 {
        fake.script_updates(Reply::Err(network_error(TransportKind::Connect)));
    }
    fake.script_updates(Reply::Ok(updates([1])));
    fake.script_updates(Reply::Ok(updates([2])));
    for _ in 0..4 {
        fake.script_updates(Reply::Err(api_error("getUpdates", 502, None)));
    }
    fake.script_updates(Reply::Err(api_error("getUpdates", 429, Some(2))));
    fake.script_updates(Reply::Ok(updates([3])));
    let mut run = start(fake, calls, exact());
    run.polls(14).await;
    assert_eq!(run.taken_ids(3).await, [1, 2, 3]);
    run.stop().await.expect("clean stop");

    let lines = logs.lines();
    let count = |needle: &str| lines.iter().filter(|l| l.contains(needle)).count();
    assert_eq!(count("polling degraded"), 2, "{lines:#?}");
    assert_eq!(count("polling recovered"), 2, "{lines:#?}");
    assert_eq!(count("WARN"), 2, "{lines:#?}");
    assert_eq!(count("long polling started"), 1, "{lines:#?}");
    assert_eq!(count("long polling stopped"), 1, "{lines:#?}");
    assert_eq!(lines.len(), 6, "{lines:#?}");
    // The degraded line carries the first error; the token never appears anywhere.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("polling degraded") && l.contains("could not connect"))
    );
}
