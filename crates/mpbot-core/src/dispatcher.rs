//! The dispatcher: bounded concurrency, per-chat order, dedup, panic isolation, shutdown.

mod dedup;
mod instruments;
mod options;

use std::any::Any;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use futures_util::FutureExt;
use mpbot_api::{Bot, ChatId, Update, UpdateId, User};
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::context::BotContext;
use crate::plugin::{Outcome, Plugin};
use crate::{
    AckPolicy, Deliver, Delivered, Error, Refused, Router, Shutdown, SourceInfo, UpdateKind,
    UpdateSink, UpdateSource,
};
use dedup::{Dedup, IdHash};
use instruments::{DispatchMetrics, Finish, Samples, SinkMetrics};
pub use options::DispatcherOptions;

/// Runs an [`UpdateSource`] and hands its updates to a [`Router`]'s handlers.
///
/// - **Concurrency**: at most [`DispatcherOptions::max_concurrency`] handlers run at once.
/// - **Order**: updates of one chat are handled one at a time, in arrival order; different
///   chats run in parallel, and a slow chat holds at most one slot, so it never blocks the
///   others. Updates without a chat run unordered.
/// - **Bounds**: at most [`DispatcherOptions::queue_bound`] accepted updates wait to start;
///   beyond it the sink refuses (redelivering source) or makes the source wait (polling), so
///   memory stays flat when handlers are slower than arrivals.
/// - **Dedup**: an `update_id` seen within the last [`DispatcherOptions::dedup_window`]
///   updates is answered [`Delivered::Duplicate`] and not handled again. That answer comes at
///   once, even while the first copy is still queued or running.
/// - **Isolation**: a handler's error or panic is caught, logged in the update's span, counted
///   in [`Stats`], and never stops the bot.
/// - **Tracing**: each update runs in an `update` span with `update_id`, `kind` and `chat_id`.
/// - **Metrics**: counters and a handler-latency histogram through the `metrics` facade
///   (`mpbot_updates_*`, `mpbot_handler_duration_seconds`; docs/operations.md). The handles are
///   registered with the recorder installed when the dispatcher (and each sink) is built, so
///   install a recorder first; the gauges and `mpbot_updates_finished_total` are set by
///   [`Dispatcher::record_gauges`], which a metrics endpoint calls before it renders.
///
/// Cheap to clone: clones share one dispatcher, so a test can keep a clone to read
/// [`Dispatcher::stats`] while another runs.
///
/// # Examples
///
/// ```
/// ///
/// use mpbot_core::api::{Bot, BotToken, Chat, ChatType, Message, Update, User};
/// use mpbot_core::{Context, Delivered, Dispatcher, DispatcherOptions, MemorySource, Router, Shutdown};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
/// let mut router = Router::new();
/// router.on_message(move |_ctx: Context, message: Message| {
///     let seen_tx = seen_tx.clone();
///     async move { seen_tx.send(message.text).map_err(|e| e.to_string()) }
/// });
///
/// let bot = Bot::builder(BotToken::new("1:test")?).api_url("http://127.0.0.1:9/bot").build()?;
/// let dispatcher = Dispatcher::new(bot, User::new(1), router, DispatcherOptions::new());
/// let (source, handle) = MemorySource::new(false);
/// let (trigger, shutdown) = Shutdown::new();
/// let running = tokio::spawn(dispatcher.run(Box::new(source), shutdown));
///
/// let message = Message { chat: Chat::new(7, ChatType::Private), text: Some("hi".into()), ..Message::default() };
/// assert_eq!(handle.push(Update::with_message(1, message)).await?, Delivered::Accepted);
/// assert_eq!(seen.recv().await, Some(Some("hi".to_owned())));
///
/// trigger.trigger();
/// let report = running.await??;
/// assert!(report.unfinished.is_empty());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Dispatcher {
    /// Everything, shared with sinks and the tasks that run handlers.
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("options", &self.shared.options)
            .field("router", &self.shared.router)
            .field("stats", &self.stats())
            .finish()
    }
}

/// A snapshot of the dispatcher's counters, for tests, health and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Updates the sink accepted (not duplicates, not refused).
    pub accepted: u64,
    /// Updates a handler handled successfully.
    pub handled: u64,
    /// Accepted updates no handler (and no fallback) takes.
    pub unhandled: u64,
    /// Updates whose handler returned an error.
    pub failed: u64,
    /// Updates whose handler panicked.
    pub panicked: u64,
    /// Deliveries answered [`Delivered::Duplicate`].
    pub duplicates: u64,
    /// Deliveries refused (overload, shutdown, `stored` not available).
    pub refused: u64,
    /// Handlers running now.
    pub in_flight: usize,
    /// Accepted updates waiting to start now (never above [`DispatcherOptions::queue_bound`]).
    pub queued: usize,
}

/// What [`Dispatcher::run`] reports when it stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Accepted updates that were not finished: queued or still running when the grace period
    /// ran out or the stop was forced, in ascending order. Empty after a full drain.
    pub unfinished: Vec<UpdateId>,
    /// Whether a force signal cut the drain short.
    pub forced: bool,
    /// The counters at the moment it stopped.
    pub stats: Stats,
}

impl ShutdownReport {
    /// Whether every accepted update was finished.
    pub fn is_drained(&self) -> bool {
        self.unfinished.is_empty()
    }
}

/// One accepted update on its way to a handler.
struct Job {
    /// The update (a few words: its payloads are boxed inside it).
    update: Update,
    /// Its kind, classified once at acceptance.
    kind: UpdateKind,
    /// Its chat, for ordering; `None` runs unordered.
    chat_id: Option<ChatId>,
    /// Resolves the source's `deliver` once the handler finished (`handled` policy with a
    /// redelivering source). Dropping it unsent tells the source the update was not handled.
    ack: Option<oneshot::Sender<()>>,
}

/// State changed under the lock.
struct State {
    /// Per chat with an update ready or running: the updates waiting behind it. A chat is in
    /// the map exactly while one of its updates is ready or running.
    chats: HashMap<ChatId, VecDeque<Job>, IdHash>,
    /// Recently seen update ids.
    dedup: Dedup,
    /// Accepted, unfinished update ids: what a shutdown reports if it stops early.
    pending: HashSet<UpdateId, IdHash>,
    /// Jobs that may start now, in the order they became ready: updates without a chat, and
    /// the head update of each chat that has one waiting.
    ready: VecDeque<Job>,
    /// Worker tasks alive (at most `max_concurrency`).
    workers: usize,
    /// Workers that took a job and have not retired it yet.
    busy: usize,
}

/// What a worker hands back about a job it finished.
struct Finished {
    /// The update's id.
    id: UpdateId,
    /// Its chat, whose next update becomes ready.
    chat: Option<ChatId>,
    /// Resolves the source's `deliver`, sent after the job is retired.
    ack: Option<oneshot::Sender<()>>,
}

/// Counters; relaxed atomics, read as a snapshot.
#[derive(Default)]
struct Counters {
    /// See [`Stats::accepted`].
    accepted: AtomicU64,
    /// See [`Stats::duplicates`].
    duplicates: AtomicU64,
    /// See [`Stats::refused`].
    refused: AtomicU64,
}

/// The dispatcher proper, behind an `Arc`.
struct Shared {
    /// Picks the handler.
    router: Router,
    /// The bot-wide half of every [`crate::Context`].
    bot: BotContext,
    /// The options, with bounds clamped to at least 1.
    options: DispatcherOptions,
    /// Chat queues, dedup, pending ids.
    state: Mutex<State>,
    /// Accepted updates not started yet; reserved with a compare-and-swap against the bound.
    queued: AtomicUsize,
    /// Handlers running now.
    in_flight: AtomicUsize,
    /// Woken when a queue slot frees up or the dispatcher stops.
    capacity: Notify,
    /// Woken when the last pending update finished.
    idle: Notify,
    /// Shutdown started: redelivering sources are refused.
    closing: AtomicBool,
    /// Stopped: everything is refused.
    stopped: AtomicBool,
    /// Cancels every running and queued update (end of grace or forced stop).
    abort: CancellationToken,
    /// See [`Stats`].
    counters: Counters,
    /// Metric handles (no-ops without a recorder).
    metrics: DispatchMetrics,
}

impl Dispatcher {
    /// A dispatcher that runs `router`'s handlers with `bot` as the API client and `me` (from
    /// `getMe`) as the bot's identity, which command addressing (`/start@me`) needs.
    pub fn new(bot: Bot, me: User, router: Router, options: DispatcherOptions) -> Self {
        let mut options = options;
        options.max_concurrency = options.max_concurrency.max(1);
        options.queue_bound = options.queue_bound.max(1);
        let shared = Shared {
            state: Mutex::new(State {
                chats: HashMap::default(),
                dedup: Dedup::new(options.dedup_window),
                pending: HashSet::default(),
                ready: VecDeque::new(),
                workers: 0,
                busy: 0,
            }),
            router,
            bot: BotContext::new(bot, me),
            options,
            queued: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            capacity: Notify::new(),
            idle: Notify::new(),
            closing: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            abort: CancellationToken::new(),
            counters: Counters::default(),
            metrics: DispatchMetrics::new(),
        };
        Self {
            shared: Arc::new(shared),
        }
    }

    /// The options in effect.
    pub fn options(&self) -> &DispatcherOptions {
        &self.shared.options
    }

    /// The router's [`Router::allowed_updates`], for a source that derives `allowed_updates`.
    pub fn allowed_updates(&self) -> Option<Vec<String>> {
        self.shared.router.allowed_updates()
    }

    /// A sink for a source described by `source`: what the sink waits for and whether it
    /// refuses or waits when full depends on [`SourceInfo::redelivers`] and the ack policy
    /// (see [`AckPolicy`]). [`Dispatcher::run`] makes one itself; this is for driving the
    /// dispatcher without `run` (tests, benchmarks, a source run elsewhere).
    pub fn sink(&self, source: &SourceInfo) -> UpdateSink {
        UpdateSink::new(DispatchSink {
            shared: Arc::clone(&self.shared),
            redelivers: source.redelivers,
            metrics: SinkMetrics::new(source.name),
        })
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// The deepest per-chat queue now: the most updates of one chat that are accepted and not
    /// finished (running or ready, plus those waiting behind it); 0 when idle. Takes the
    /// dispatcher's lock and walks the active chats, so call it at scrape time, not per update.
    pub fn max_chat_queue_depth(&self) -> usize {
        let state = self.shared.lock();
        state
            .chats
            .values()
            .map(|waiting| waiting.len() + 1)
            .max()
            .unwrap_or(0)
    }

    /// Sets the sampled gauges `mpbot_updates_in_flight`, `mpbot_updates_queued` and
    /// `mpbot_chat_queue_depth_max` on the installed `metrics` recorder, and brings the
    /// `mpbot_updates_finished_total` counters (registered when the dispatcher was built) up to
    /// date. These are sampled rather than updated per update (the finished counts live in the
    /// dispatcher's own atomics), so a metrics endpoint calls this before it renders.
    pub fn record_gauges(&self) {
        self.shared.metrics.publish();
        let stats = self.stats();
        instruments::set_gauges(stats.in_flight, stats.queued, self.max_chat_queue_depth());
    }

    /// Runs `source` until `shutdown` is requested or the source ends, then drains; see
    /// [`Dispatcher::run_with_force`], of which this is the form without a force signal.
    ///
    /// # Errors
    /// See [`Dispatcher::run_with_force`].
    pub async fn run(
        self,
        source: Box<dyn UpdateSource>,
        shutdown: Shutdown,
    ) -> Result<ShutdownReport, Error> {
        self.run_with_force(source, shutdown, Shutdown::never())
            .await
    }

    /// Runs `source`, feeding its updates to the handlers, until `shutdown` is requested, the
    /// source fails, or the source ends by itself; then drains and stops.
    ///
    /// On `shutdown` it stops the source (which stops taking updates), refuses further updates
    /// from a redelivering source, and waits up to [`DispatcherOptions::shutdown_grace`] for
    /// queued and running updates. What is not finished by then is cancelled and listed in
    /// [`ShutdownReport::unfinished`]. `force` cuts the wait short at any moment (the second
    /// Ctrl-C). When the source ends by itself without a shutdown request, the dispatcher
    /// waits for its remaining work without a time limit, until `shutdown` starts the grace
    /// period. Plugins' `on_start` and `on_stop` hooks run at either end.
    ///
    /// Run a dispatcher once: after `run` returns, its sinks refuse everything.
    ///
    /// # Errors
    /// The source's fatal error (after the drain; the unfinished updates are logged).
    pub async fn run_with_force(
        self,
        source: Box<dyn UpdateSource>,
        shutdown: Shutdown,
        force: Shutdown,
    ) -> Result<ShutdownReport, Error> {
        let shared = &self.shared;
        let info = source.describe();
        let grace = shared.options.shutdown_grace;
        for plugin in shared.router.plugins() {
            let ready = plugin.on_ready(shared.bot.bot(), shared.bot.me());
            // NB: a panicking hook must not take the bot down, like every other hook.
            match AssertUnwindSafe(ready).catch_unwind().await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::warn!(plugin = plugin.name(), %error, "a plugin's on_ready failed");
                }
                Err(payload) => tracing::error!(
                    plugin = plugin.name(),
                    hook = "on_ready",
                    panic = %panic_message(payload.as_ref()),
                    "a plugin hook panicked"
                ),
            }
        }
        tracing::info!(source = info.name, "dispatcher started");
        shared.each_plugin("on_start", |p| p.on_start(&info));

        let (stop_source, source_shutdown) = shutdown.child();
        let mut source_task = tokio::spawn(source.run(self.sink(&info), source_shutdown));
        let mut source_result: Option<Result<(), Error>> = None;
        let mut deadline: Option<Instant> = None;
        let mut forced = false;

        tokio::select! {
            () = shutdown.requested() => deadline = Some(Instant::now() + grace),
            joined = &mut source_task => {
                let result = source_outcome(info.name, joined);
                if result.is_err() {
                    deadline = Some(Instant::now() + grace);
                }
                source_result = Some(result);
            }
            () = force.requested() => forced = true,
        }
        shared.closing.store(true, Ordering::SeqCst);
        shared.capacity.notify_waiters();
        stop_source.trigger();

        // The source may still be handing over updates it already took (a polled batch).
        if source_result.is_none() && !forced {
            tokio::select! {
                joined = &mut source_task => {
                    source_result = Some(source_outcome(info.name, joined));
                }
                () = sleep_until(deadline) => {}
                () = force.requested() => forced = true,
            }
        }
        if source_result.is_none() {
            tracing::warn!(source = info.name, "the source did not stop in time");
            source_task.abort();
        }

        if !forced {
            loop {
                let mut idle = pin!(shared.idle.notified());
                idle.as_mut().enable();
                if shared.lock().pending.is_empty() {
                    break;
                }
                tokio::select! {
                    () = idle => {}
                    () = sleep_until(deadline) => break,
                    () = force.requested() => {
                        forced = true;
                        break;
                    }
                    () = shutdown.requested(), if deadline.is_none() => {
                        deadline = Some(Instant::now() + grace);
                    }
                }
            }
        }

        let unfinished = shared.stop();
        let report = ShutdownReport {
            unfinished,
            forced,
            stats: shared.stats(),
        };
        if report.unfinished.is_empty() {
            tracing::info!(
                handled = report.stats.handled,
                failed = report.stats.failed,
                panicked = report.stats.panicked,
                "dispatcher stopped, all updates finished"
            );
        } else {
            tracing::warn!(
                unfinished = report.unfinished.len(),
                ids = ?report.unfinished,
                forced,
                "dispatcher stopped with unfinished updates"
            );
        }
        shared.each_plugin("on_stop", |p| p.on_stop(&report));
        match source_result {
            Some(Err(error)) => Err(error),
            _ => Ok(report),
        }
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// What a finished source task means.
fn source_outcome(
    name: &'static str,
    joined: Result<Result<(), Error>, tokio::task::JoinError>,
) -> Result<(), Error> {
    match joined {
        Ok(result) => result,
        Err(join_error) => Err(Error::source(
            name,
            format!("the source task ended abnormally: {join_error}"),
        )),
    }
}

/// The text of a panic payload.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-string payload".to_owned())
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // NB: no user code runs under this lock, so poisoning can only come from a bug here;
        // the state stays consistent enough to keep going and report.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn stats(&self) -> Stats {
        let c = &self.counters;
        Stats {
            accepted: c.accepted.load(Ordering::Relaxed),
            handled: self.metrics.total(Finish::Handled),
            unhandled: self.metrics.total(Finish::Unhandled),
            failed: self.metrics.total(Finish::Failed),
            panicked: self.metrics.total(Finish::Panicked),
            duplicates: c.duplicates.load(Ordering::Relaxed),
            refused: c.refused.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            queued: self.queued.load(Ordering::Relaxed),
        }
    }

    /// Calls a hook on every plugin, catching panics so a plugin cannot take the bot down.
    fn each_plugin(&self, hook: &'static str, call: impl Fn(&dyn Plugin)) {
        for plugin in self.router.plugins() {
            let plugin: &dyn Plugin = plugin.as_ref();
            if let Err(payload) = std::panic::catch_unwind(AssertUnwindSafe(|| call(plugin))) {
                tracing::error!(
                    plugin = plugin.name(),
                    hook,
                    panic = %panic_message(payload.as_ref()),
                    "a plugin hook panicked"
                );
            }
        }
    }

    /// Takes a queue slot if one is free.
    fn try_reserve(&self) -> bool {
        let bound = self.options.queue_bound;
        self.queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                (queued < bound).then_some(queued + 1)
            })
            .is_ok()
    }

    fn has_capacity(&self) -> bool {
        self.queued.load(Ordering::Acquire) < self.options.queue_bound
    }

    fn refuse(&self, metrics: &SinkMetrics, refused: Refused) -> Result<Delivered, Refused> {
        self.counters.refused.fetch_add(1, Ordering::Relaxed);
        metrics.refused(&refused);
        Err(refused)
    }

    /// The sink's side: dedup, bound, enqueue, and the ack wait.
    async fn deliver(
        self: &Arc<Self>,
        update: Update,
        metrics: &SinkMetrics,
        redelivers: bool,
    ) -> Result<Delivered, Refused> {
        let kind = UpdateKind::of(&update);
        metrics.received(&kind);
        if self.options.ack == AckPolicy::Stored {
            return self.refuse(
                metrics,
                Refused::Unavailable(
                    "the `stored` ack policy needs the update journal, which this version lacks"
                        .to_owned(),
                ),
            );
        }
        let id = update.update_id;
        let chat_id = update.chat_id();
        let hooks = !self.router.plugins().is_empty();
        let (ack, acked) = if redelivers && self.options.ack == AckPolicy::Handled {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let mut job = Some(Job {
            update,
            kind,
            chat_id,
            ack,
        });
        let spawn_worker = loop {
            if self.stopped.load(Ordering::SeqCst)
                || (redelivers && self.closing.load(Ordering::SeqCst))
            {
                return self.refuse(metrics, Refused::ShuttingDown);
            }
            {
                let mut state = self.lock();
                // NB: checked again under the lock: `stop` sets the flag before it takes the
                // lock to clear the queues, so a job queued after this check is never stranded.
                if self.stopped.load(Ordering::SeqCst) {
                    drop(state);
                    return self.refuse(metrics, Refused::ShuttingDown);
                }
                if state.dedup.contains(id) {
                    drop(state);
                    self.counters.duplicates.fetch_add(1, Ordering::Relaxed);
                    metrics.duplicate();
                    tracing::debug!(update_id = id.get(), "duplicate update dropped");
                    return Ok(Delivered::Duplicate);
                }
                if self.try_reserve() {
                    state.dedup.insert(id);
                    state.pending.insert(id);
                    // Without hooks, enqueue under the same lock (the common, fast path).
                    if hooks {
                        break false;
                    }
                    break job
                        .take()
                        .is_some_and(|job| self.enqueue_locked(&mut state, job));
                }
            }
            if redelivers {
                return self.refuse(metrics, Refused::Overloaded);
            }
            // A polled update was already consumed by MPChat: wait for room instead. The
            // waiter is registered before the re-check, so a slot freed in between is seen.
            let mut freed = pin!(self.capacity.notified());
            freed.as_mut().enable();
            if !self.has_capacity() && !self.stopped.load(Ordering::SeqCst) {
                freed.await;
            }
        };
        self.counters.accepted.fetch_add(1, Ordering::Relaxed);
        let spawn_worker = match job {
            Some(job) => {
                // Hooks run outside the lock, then the job is queued under a second one.
                self.each_plugin("on_update_received", |p| {
                    p.on_update_received(&job.update, &job.kind);
                });
                let mut state = self.lock();
                // Dropping the job (when stopped) drops its ack: the source hears
                // "shutting down".
                !self.stopped.load(Ordering::SeqCst) && self.enqueue_locked(&mut state, job)
            }
            None => spawn_worker,
        };
        if spawn_worker {
            self.spawn_worker();
        }
        match acked {
            None => Ok(Delivered::Accepted),
            Some(acked) => match acked.await {
                Ok(()) => Ok(Delivered::Accepted),
                // The job was dropped unhandled: the dispatcher stopped first.
                Err(_) => Err(Refused::ShuttingDown),
            },
        }
    }

    /// Makes an accepted job runnable, or puts it behind its chat's active update. Returns
    /// whether a worker must be started: when every worker is busy and the concurrency limit
    /// allows another.
    fn enqueue_locked(&self, state: &mut State, job: Job) -> bool {
        match job.chat_id {
            None => state.ready.push_back(job),
            Some(chat) => match state.chats.entry(chat) {
                Entry::Occupied(mut waiting) => {
                    waiting.get_mut().push_back(job);
                    return false;
                }
                Entry::Vacant(slot) => {
                    slot.insert(VecDeque::new());
                    state.ready.push_back(job);
                }
            },
        }
        // Workers not busy are about to take a ready job; start one only if there are more
        // ready jobs than those.
        let spawn = state.workers < self.options.max_concurrency
            && state.ready.len() > state.workers - state.busy;
        if spawn {
            state.workers += 1;
        }
        spawn
    }

    /// Starts a worker task, cancelled by the dispatcher's abort.
    fn spawn_worker(self: &Arc<Self>) {
        let shared = Arc::clone(self);
        let abort = self.abort.clone();
        tokio::spawn(async move {
            tokio::select! {
                biased;
                () = abort.cancelled() => {}
                () = shared.work() => {}
            }
        });
    }

    /// A worker: runs ready jobs until none is left, then exits. Workers are elastic (at most
    /// `max_concurrency`, none when idle), so the concurrency limit needs no semaphore and an
    /// update needs no task of its own.
    async fn work(self: Arc<Self>) {
        // Recorded when this worker ends, however it ends (see `instruments`).
        let mut samples = Samples::new(&self.metrics);
        let mut next = self.take_ready(None);
        while let Some(job) = next {
            let id = job.update.update_id;
            let chat = job.chat_id;
            let mut job = job;
            let ack = job.ack.take();
            self.execute(job, &mut samples).await;
            let finished = Finished { id, chat, ack };
            next = self.take_ready(Some(finished));
        }
    }

    /// Under one lock: retires a finished job (its chat's next update becomes ready) and takes
    /// the next ready job, or retires the worker when there is none.
    fn take_ready(&self, finished: Option<Finished>) -> Option<Job> {
        let (job, idle, ack) = {
            let mut state = self.lock();
            let mut ack = None;
            if let Some(finished) = finished {
                state.busy -= 1;
                ack = finished.ack;
                state.pending.remove(&finished.id);
                if let Some(chat) = finished.chat
                    && let Some(waiting) = state.chats.get_mut(&chat)
                {
                    match waiting.pop_front() {
                        // NB: to the back of the ready queue, so a busy chat takes turns with
                        // the others instead of keeping this worker.
                        Some(next) => state.ready.push_back(next),
                        None => {
                            state.chats.remove(&chat);
                        }
                    }
                }
            }
            let job = state.ready.pop_front();
            if job.is_some() {
                state.busy += 1;
            } else {
                state.workers -= 1;
            }
            (job, state.pending.is_empty(), ack)
        };
        if let Some(ack) = ack {
            let _ = ack.send(());
        }
        if idle {
            self.idle.notify_waiters();
        }
        if job.is_some() {
            let before = self.queued.fetch_sub(1, Ordering::AcqRel);
            if before >= self.options.queue_bound {
                self.capacity.notify_waiters();
            }
        }
        job
    }

    /// Runs the handler in the update's span, catches its error or panic, counts and reports
    /// the outcome.
    async fn execute(&self, job: Job, samples: &mut Samples<'_>) {
        let Job {
            update,
            kind,
            chat_id,
            ack: _,
        } = job;
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        let id = update.update_id;
        let span = tracing::info_span!(
            "update",
            update_id = id.get(),
            kind = %kind,
            chat_id = chat_id.map(ChatId::get),
        );
        let started = Instant::now();
        let (outcome, owner) = self
            .handle(update, &kind, chat_id)
            .instrument(span.clone())
            .await;
        let took = started.elapsed();
        let finish = span.in_scope(|| match &outcome {
            Outcome::Handled => {
                tracing::debug!("update handled");
                Finish::Handled
            }
            Outcome::Unhandled => {
                tracing::debug!("no handler takes this update");
                Finish::Unhandled
            }
            Outcome::Failed(error) => {
                tracing::warn!(error = %error, owner, "handler failed");
                Finish::Failed
            }
            Outcome::Panicked(message) => {
                tracing::error!(panic = %message, owner, "handler panicked");
                Finish::Panicked
            }
        });
        let backlog = self.queued.load(Ordering::Relaxed) > 0;
        self.metrics.finished(&kind, finish, took, samples, backlog);
        if !self.router.plugins().is_empty() {
            self.each_plugin("on_update_done", |p| p.on_update_done(id, &kind, &outcome));
        }
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    /// Selects the handler and runs it, turning an error or a panic into an [`Outcome`].
    /// Also returns who registered the handler (a plugin's name or `"app"`), for logs.
    async fn handle(
        &self,
        update: Update,
        kind: &UpdateKind,
        chat_id: Option<ChatId>,
    ) -> (Outcome, &'static str) {
        let Some((owner, handler)) = self.router.select(&update, kind, self.bot.username()) else {
            return (Outcome::Unhandled, "");
        };
        let message_id = update.any_message().map(|m| m.message_id);
        let ctx = self
            .bot
            .for_update(update.update_id, kind.clone(), chat_id, message_id);
        // NB: the call itself sits inside the async block so that a panic while extracting the
        // event or building the handler's future is caught too, not only one while polling it.
        let run = AssertUnwindSafe(async move { handler.call(ctx, update).await });
        let outcome = match run.catch_unwind().await {
            Ok(Ok(())) => Outcome::Handled,
            Ok(Err(error)) => Outcome::Failed(error),
            Err(payload) => Outcome::Panicked(panic_message(payload.as_ref())),
        };
        (outcome, owner)
    }

    /// Stops for good: cancels every task, drops queued jobs (their redelivering sources hear
    /// "shutting down"), wakes waiting sources, and returns the unfinished ids.
    fn stop(&self) -> Vec<UpdateId> {
        self.closing.store(true, Ordering::SeqCst);
        self.stopped.store(true, Ordering::SeqCst);
        self.abort.cancel();
        let (dropped, mut unfinished) = {
            let mut state = self.lock();
            let dropped = (
                std::mem::take(&mut state.chats),
                std::mem::take(&mut state.ready),
            );
            let unfinished: Vec<UpdateId> = state.pending.drain().collect();
            (dropped, unfinished)
        };
        // Dropped outside the lock: dropping a job's ack wakes its source.
        drop(dropped);
        self.capacity.notify_waiters();
        unfinished.sort_unstable();
        unfinished
    }
}

/// The [`Deliver`] side of the dispatcher, one per source.
struct DispatchSink {
    /// The dispatcher.
    shared: Arc<Shared>,
    /// Whether the source's updates come again when not acknowledged.
    redelivers: bool,
    /// Handles labelled with the source's name.
    metrics: SinkMetrics,
}

#[async_trait]
impl Deliver for DispatchSink {
    // NB: written out instead of `async fn` so the boxed future is the inner one itself, not a
    // second state machine wrapped around it.
    fn deliver<'life0, 'async_trait>(
        &'life0 self,
        update: Update,
    ) -> Pin<Box<dyn Future<Output = Result<Delivered, Refused>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(self.shared.deliver(update, &self.metrics, self.redelivers))
    }

    fn free_capacity(&self) -> usize {
        if self.shared.stopped.load(Ordering::SeqCst)
            || (self.redelivers && self.shared.closing.load(Ordering::SeqCst))
        {
            return 0;
        }
        self.shared
            .options
            .queue_bound
            .saturating_sub(self.shared.queued.load(Ordering::Acquire))
    }

    async fn wait_for_capacity(&self) {
        loop {
            let mut freed = pin!(self.shared.capacity.notified());
            freed.as_mut().enable();
            if self.shared.has_capacity() || self.shared.closing.load(Ordering::SeqCst) {
                return;
            }
            freed.await;
        }
    }
}
