//! The dispatcher's metrics, emitted through the `metrics` facade.
//!
//! Handles are registered once (when the dispatcher or a sink is built) with whatever recorder
//! is installed at that moment, so the per-update cost is an atomic add on a handle, not a
//! registry lookup; without a recorder the handles are no-ops. Install a recorder before
//! building the [`Dispatcher`](super::Dispatcher) (the `mpbot` facade does). The names are
//! documented in `docs/operations.md`.

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

/// Per-kind handles for what happens after an update is accepted.
struct KindMetrics {
    handled: Counter,
    unhandled: Counter,
    failed: Counter,
    panicked: Counter,
    duration: Histogram,
}

/// The dispatcher-wide handles.
pub(super) struct DispatchMetrics {
    kinds: [KindMetrics; 5],
}

/// What [`DispatchMetrics::finished`] records.
#[derive(Clone, Copy)]
pub(super) enum Finish {
    Handled,
    Unhandled,
    Failed,
    Panicked,
}

impl DispatchMetrics {
    pub(super) fn new() -> Self {
        let kind = |kind: &'static str| {
            let outcome = |outcome: &'static str| metrics::counter!("mpbot_updates_finished_total", "kind" => kind, "outcome" => outcome);
            KindMetrics {
                handled: outcome("handled"),
                unhandled: outcome("unhandled"),
                failed: outcome("failed"),
                panicked: outcome("panicked"),
                duration: metrics::histogram!("mpbot_handler_duration_seconds", "kind" => kind),
            }
        };
        Self {
            kinds: KINDS.map(kind),
        }
    }

    /// Counts a finished update and records how long its handler ran.
    pub(super) fn finished(&self, kind: &UpdateKind, finish: Finish, took: Duration) {
        let m = &self.kinds[kind_index(kind)];
        match finish {
            Finish::Handled => m.handled.increment(1),
            Finish::Unhandled => m.unhandled.increment(1),
            Finish::Failed => m.failed.increment(1),
            Finish::Panicked => m.panicked.increment(1),
        }
        if !matches!(finish, Finish::Unhandled) {
            m.duration.record(took.as_secs_f64());
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
