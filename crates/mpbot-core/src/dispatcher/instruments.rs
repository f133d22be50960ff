//! The dispatcher's metrics, emitted through the `metrics` facade.
//!
//! Handles are registered once (when the dispatcher or a sink is built) with whatever recorder
//! is installed at that moment, so the per-update cost is an atomic add on a handle, not a
//! registry lookup; without a recorder the handles are no-ops. Install a recorder before
//! building the [`Dispatcher`](super::Dispatcher) (the `mpbot` facade does). The names are
//! documented in `docs/operations.md`.
//!
//! `mpbot_updates_finished_total` is not incremented on the recorder per update: the
//! dispatcher counts finished updates in its own atomics anyway (for [`Stats`](super::Stats)),
//! so those counts are kept per kind and outcome here and added to the recorder's counters
//! at scrape time ([`DispatchMetrics::publish`], from `Dispatcher::record_gauges`). That saves
//! the recorder's counter increment (two atomic read-modify-writes on a cache line shared by
//! the worker threads) on every update.
//!
//! `mpbot_handler_duration_seconds` samples are what a recorder makes expensive (the
//! Prometheus one pushes each into a shared lock-free bucket; with two worker threads taking
//! turns that cache traffic cost about 7 % of a short handler's throughput). So each worker
//! keeps the samples of handlers shorter than [`BATCH_BELOW`] in a small [`Samples`] batch
//! while a backlog is waiting, and records them together: when it holds [`BATCH`], when the
//! worker finds no backlog or finishes a longer handler, and when the worker ends (idle,
//! aborted or panicked: the batch flushes on drop). Without a backlog every sample is
//! recorded at once, so a quiet bot's scrape is exact; under load a scrape can miss at most
//! `BATCH - 1` samples per busy worker, which wait at most for that worker's next `BATCH - 1`
//! short handlers or its next long one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use metrics::{Counter, Histogram};

use crate::{Refused, UpdateKind};

/// The kind labels, in [`kind_index`] order. `Other(_)` is one label, `other`, so that an
/// update field name coming from the network cannot grow the label set.
const KINDS: [&str; 5] = ["message", "join", "leave", "pin", "other"];

/// The position of `kind` in [`KINDS`].
fn kind_index(kind: &UpdateKind) -> usize {
    match kind {
        UpdateKind::Message => 0,
        UpdateKind::Join => 1,
        UpdateKind::Leave => 2,
        UpdateKind::Pin => 3,
        UpdateKind::Other(_) => 4,
    }
}

/// Per-kind handles and counts for what happens after an update is accepted.
struct KindMetrics {
    /// `mpbot_updates_finished_total` by outcome, in [`Finish`] order; brought up to date
    /// from `counts` by [`DispatchMetrics::publish`].
    finished: [Counter; 4],
    /// Finished updates of this kind by outcome, in [`Finish`] order.
    counts: [AtomicU64; 4],
    /// How much of `counts` has been added to `finished` so far.
    published: [AtomicU64; 4],
    duration: Histogram,
}

/// The dispatcher-wide handles, and the finished counts behind [`Stats`](super::Stats).
pub(super) struct DispatchMetrics {
    kinds: [KindMetrics; 5],
}

/// What [`DispatchMetrics::finished`] records. The discriminants index
/// [`KindMetrics::counts`].
#[derive(Clone, Copy)]
pub(super) enum Finish {
    Handled = 0,
    Unhandled = 1,
    Failed = 2,
    Panicked = 3,
}

/// At most this many handler-duration samples wait in one worker's [`Samples`].
pub(super) const BATCH: usize = 32;

/// Samples of handlers that ran at least this long are recorded at once (with the waiting
/// ones): against such a handler the recorder's cost is noise.
pub(super) const BATCH_BELOW: Duration = Duration::from_millis(1);

/// One worker's handler-duration samples not yet recorded: (kind index, seconds). Records
/// them when dropped.
pub(super) struct Samples<'a> {
    metrics: &'a DispatchMetrics,
    waiting: Vec<(usize, f64)>,
}

impl<'a> Samples<'a> {
    pub(super) fn new(metrics: &'a DispatchMetrics) -> Self {
        // NB: no allocation until a backlog makes the worker batch.
        Self {
            metrics,
            waiting: Vec::new(),
        }
    }

    /// Records the waiting samples.
    fn flush(&mut self) {
        for (kind, seconds) in self.waiting.drain(..) {
            self.metrics.kinds[kind].duration.record(seconds);
        }
    }
}

impl Drop for Samples<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// The outcome labels, in [`Finish`] order.
const OUTCOMES: [&str; 4] = ["handled", "unhandled", "failed", "panicked"];

impl DispatchMetrics {
    pub(super) fn new() -> Self {
        let kind = |kind: &'static str| {
            let outcome = |outcome: &'static str| metrics::counter!("mpbot_updates_finished_total", "kind" => kind, "outcome" => outcome);
            KindMetrics {
                finished: OUTCOMES.map(outcome),
                counts: Default::default(),
                published: Default::default(),
                duration: metrics::histogram!("mpbot_handler_duration_seconds", "kind" => kind),
            }
        };
        Self {
            kinds: KINDS.map(kind),
        }
    }

    /// Counts a finished update and records how long its handler ran, through the worker's
    /// `samples` batch when `backlog` (updates are waiting to start) and the handler was short.
    pub(super) fn finished(
        &self,
        kind: &UpdateKind,
        finish: Finish,
        took: Duration,
        samples: &mut Samples<'_>,
        backlog: bool,
    ) {
        let index = kind_index(kind);
        let m = &self.kinds[index];
        if !matches!(finish, Finish::Unhandled) {
            if backlog && took < BATCH_BELOW {
                if samples.waiting.capacity() == 0 {
                    samples.waiting.reserve_exact(BATCH);
                }
                samples.waiting.push((index, took.as_secs_f64()));
                if samples.waiting.len() >= BATCH {
                    samples.flush();
                }
            } else {
                samples.flush();
                m.duration.record(took.as_secs_f64());
            }
        }
        m.counts[finish as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Finished updates with outcome `finish`, all kinds together.
    pub(super) fn total(&self, finish: Finish) -> u64 {
        self.kinds
            .iter()
            .map(|m| m.counts[finish as usize].load(Ordering::Relaxed))
            .sum()
    }

    /// Adds what finished since the last call to the recorder's
    /// `mpbot_updates_finished_total` counters, so they are exact when rendered right after.
    ///
    /// It adds rather than sets, so that several dispatchers under one recorder (two bots in a
    /// process, tests) still sum, as per-update increments did. `fetch_max` on `published`
    /// makes concurrent calls add disjoint ranges: a call that read an older count than one
    /// already published adds nothing.
    pub(super) fn publish(&self) {
        for m in &self.kinds {
            for ((counter, count), published) in m.finished.iter().zip(&m.counts).zip(&m.published)
            {
                let now = count.load(Ordering::Relaxed);
                let before = published.fetch_max(now, Ordering::Relaxed);
                if now > before {
                    counter.increment(now - before);
                }
            }
        }
    }
}

/// One sink's handles, labelled with its source's name.
pub(super) struct SinkMetrics {
    received: [Counter; 5],
    duplicates: Counter,
    overloaded: Counter,
    shutting_down: Counter,
    unavailable: Counter,
}

impl SinkMetrics {
    pub(super) fn new(source: &'static str) -> Self {
        let refused = |reason: &'static str| metrics::counter!("mpbot_updates_refused_total", "source" => source, "reason" => reason);
        Self {
            received: KINDS.map(|kind| {
                metrics::counter!("mpbot_updates_received_total", "source" => source, "kind" => kind)
            }),
            duplicates: metrics::counter!("mpbot_updates_duplicate_total", "source" => source),
            overloaded: refused("overloaded"),
            shutting_down: refused("shutting_down"),
            unavailable: refused("unavailable"),
        }
    }

    /// An update reached the sink (before dedup and bounds).
    pub(super) fn received(&self, kind: &UpdateKind) {
        self.received[kind_index(kind)].increment(1);
    }

    /// A duplicate was dropped.
    pub(super) fn duplicate(&self) {
        self.duplicates.increment(1);
    }

    /// The sink refused an update.
    pub(super) fn refused(&self, refused: &Refused) {
        match refused {
            Refused::Overloaded => self.overloaded.increment(1),
            Refused::ShuttingDown => self.shutting_down.increment(1),
            Refused::Unavailable(_) => self.unavailable.increment(1),
        }
    }
}

/// Sets the sampled gauges (called at scrape time, not per update).
pub(super) fn set_gauges(in_flight: usize, queued: usize, max_chat_depth: usize) {
    // NB: `as f64` is exact for any count a process can hold (below 2^53).
    #[allow(clippy::cast_precision_loss)]
    let f = |n: usize| n as f64;
    metrics::gauge!("mpbot_updates_in_flight").set(f(in_flight));
    metrics::gauge!("mpbot_updates_queued").set(f(queued));
    metrics::gauge!("mpbot_chat_queue_depth_max").set(f(max_chat_depth));
}

#[cfg(test)]
mod tests {
    use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

    use super::*;

    /// The value of the rendered sample `name` whose labels include every one of `labels`
    /// (0 when absent, as Prometheus reads a missing series after a reset).
    fn value(handle: &PrometheusHandle, name: &str, labels: &[&str]) -> f64 {
        handle
            .render()
            .lines()
            .find(|line| {
                line.starts_with(&format!("{name}{{")) && labels.iter().all(|l| line.contains(l))
            })
            .and_then(|line| line.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0.0)
    }

    fn recorder() -> (PrometheusRecorder, PrometheusHandle) {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&[0.001, 0.01, 0.1])
            .unwrap()
            .build_recorder();
        let handle = recorder.handle();
        (recorder, handle)
    }

    const HANDLED: [&str; 2] = [r#"kind="message""#, r#"outcome="handled""#];
    const SHORT: Duration = Duration::from_micros(10);

    /// `publish` adds each finished update to the recorder exactly once, and two dispatchers
    /// under one recorder sum (as per-update increments did).
    #[test]
    fn publish_adds_each_finished_update_once_and_dispatchers_sum() {
        let (recorder, handle) = recorder();
        let (a, b) = metrics::with_local_recorder(&recorder, || {
            (DispatchMetrics::new(), DispatchMetrics::new())
        });
        let finish = |m: &DispatchMetrics, n: usize| {
            let mut samples = Samples::new(m);
            for _ in 0..n {
                m.finished(
                    &UpdateKind::Message,
                    Finish::Handled,
                    SHORT,
                    &mut samples,
                    false,
                );
            }
        };
        finish(&a, 3);
        finish(&b, 2);
        assert_eq!(
            value(&handle, "mpbot_updates_finished_total", &HANDLED),
            0.0
        );
        a.publish();
        a.publish();
        b.publish();
        assert_eq!(
            value(&handle, "mpbot_updates_finished_total", &HANDLED),
            5.0
        );
        finish(&a, 1);
        a.publish();
        b.publish();
        assert_eq!(
            value(&handle, "mpbot_updates_finished_total", &HANDLED),
            6.0
        );
        assert_eq!(a.total(Finish::Handled), 4);
        assert_eq!(a.total(Finish::Failed), 0);
    }

    /// Short handlers' samples wait in the worker's batch only while there is a backlog, up to
    /// `BATCH`, and are recorded when the batch is dropped; long ones are recorded at once.
    #[test]
    fn short_samples_wait_under_backlog_until_full_or_dropped() {
        let (recorder, handle) = recorder();
        let m = metrics::with_local_recorder(&recorder, DispatchMetrics::new);
        let count = || {
            value(
                &handle,
                "mpbot_handler_duration_seconds_count",
                &[r#"kind="message""#],
            )
        };
        let mut samples = Samples::new(&m);
        let mut finish = |took: Duration, backlog: bool| {
            m.finished(
                &UpdateKind::Message,
                Finish::Handled,
                took,
                &mut samples,
                backlog,
            );
        };
        finish(SHORT, false);
        assert_eq!(count(), 1.0, "no backlog: recorded at once");
        for _ in 0..BATCH - 1 {
            finish(SHORT, true);
        }
        assert_eq!(count(), 1.0, "backlog: waiting in the batch");
        finish(SHORT, true);
        assert_eq!(count(), 1.0 + BATCH as f64, "a full batch is recorded");
        finish(SHORT, true);
        finish(BATCH_BELOW, true);
        assert_eq!(
            count(),
            3.0 + BATCH as f64,
            "a long handler's sample flushes the batch"
        );
        finish(SHORT, true);
        drop(samples);
        assert_eq!(
            count(),
            4.0 + BATCH as f64,
            "dropping the batch records what waits"
        );
        assert_eq!(m.total(Finish::Handled), 4 + BATCH as u64);
    }
}
