//! The client-side rate limit: [`Throttle`].

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// MPChat's documented limit, and the client's default: 30 requests per second per token.
pub const DEFAULT_REQUESTS_PER_SECOND: u32 = 30;

/// Spaces requests at least `1/N` s apart: at most N start in any one-second window.
///
/// It is a next-slot reservation (GCRA with no burst): each caller takes the next free slot under
/// a lock, then sleeps until it. Slots are handed out in the order callers arrive, so under
/// concurrency it is fair (first come, first served) and nobody starves. One `Throttle` is shared
/// by every clone of a [`Bot`](crate::Bot), so all clones together stay under the limit.
///
/// Time is [`tokio::time`], so the throttle can be tested under a paused clock without HTTP.
///
/// A caller that is cancelled while it waits leaves its slot unused: the limit still holds, the
/// throughput just drops by one slot.
///
/// # Examples
///
/// ```
/// # async fn run() {
/// use std::num::NonZeroU32;
/// use mpbot_api::Throttle;
///
/// let throttle = Throttle::per_second(NonZeroU32::new(30).unwrap());
/// throttle.acquire().await; // at once
/// throttle.acquire().await; // 1/30 s later
/// # }
/// ```
#[derive(Debug)]
pub struct Throttle {
    /// The gap between two slots.
    interval: Duration,
    /// The earliest instant the next caller may start; `None` before the first call.
    next_slot: Mutex<Option<Instant>>,
}

impl Throttle {
    /// At most `requests` per second.
    pub fn per_second(requests: NonZeroU32) -> Self {
        // NB: round the gap up, so N gaps never add up to less than one second.
        let nanos = 1_000_000_000u64.div_ceil(u64::from(requests.get()));
        Self::with_interval(Duration::from_nanos(nanos))
    }

    /// One request per `interval`.
    pub fn with_interval(interval: Duration) -> Self {
        Self {
            interval,
            next_slot: Mutex::new(None),
        }
    }

    /// The gap this throttle keeps between two requests.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Reserves the next slot and returns the instant it starts (now, if the throttle is idle).
    /// The caller must not start its request before that instant. Reservations are handed out in
    /// call order.
    pub fn reserve(&self) -> Instant {
        let now = Instant::now();
        // NB: a poisoned lock only means a panic between two plain assignments; the slot value
        // is still valid, so keep going rather than propagate the panic to every caller.
        let mut next = self
            .next_slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let slot = match *next {
            Some(at) if at > now => at,
            _ => now,
        };
        *next = Some(slot + self.interval);
        slot
    }

    /// Waits for this caller's slot.
    ///
    /// # Cancel safety
    /// Cancelling the wait is safe; the slot it reserved goes unused.
    pub async fn acquire(&self) {
        let slot = self.reserve();
        let wait = slot.saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            metrics::counter!("mpbot_throttle_waits_total").increment(1);
            metrics::histogram!("mpbot_throttle_wait_seconds").record(wait.as_secs_f64());
        }
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn per_second(n: u32) -> Throttle {
        Throttle::per_second(NonZeroU32::new(n).unwrap())
    }

    /// Reservations made at one instant are spaced exactly one interval apart, starting now.
    #[tokio::test(start_paused = true)]
    async fn reservations_are_spaced_by_the_interval() {
        let throttle = per_second(30);
        let start = Instant::now();
        let slots: Vec<_> = (0..5).map(|_| throttle.reserve()).collect();
        for (i, slot) in slots.iter().enumerate() {
            assert_eq!(
                *slot - start,
                throttle.interval() * u32::try_from(i).unwrap()
            );
        }
    }

    /// An idle throttle does not bank credit: after a pause, the next call starts at once and the
    /// one after waits a full interval.
    #[tokio::test(start_paused = true)]
    async fn idle_time_is_not_banked() {
        let throttle = per_second(10);
        throttle.reserve();
        tokio::time::advance(Duration::from_secs(5)).await;
        let now = Instant::now();
        assert_eq!(throttle.reserve(), now);
        assert_eq!(throttle.reserve(), now + Duration::from_millis(100));
    }

    /// Under concurrency, callers proceed in arrival order and never more than N start in any
    /// one-second window.
    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_are_served_in_arrival_order_at_the_rate() {
        let throttle = Arc::new(per_second(30));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut tasks = Vec::new();
        for i in 0..90usize {
            let throttle = Arc::clone(&throttle);
            let tx = tx.clone();
            // Yielding lets the new task run up to its sleep, so it reserves its slot before the
            // next task arrives: arrival order is spawn order.
            tasks.push(tokio::spawn(async move {
                throttle.acquire().await;
                tx.send((i, Instant::now())).unwrap();
            }));
            tokio::task::yield_now().await;
        }
        drop(tx);
        let mut seen = Vec::new();
        while let Some(entry) = rx.recv().await {
            seen.push(entry);
        }
        let order: Vec<usize> = seen.iter().map(|(i, _)| *i).collect();
        assert_eq!(order, (0..90).collect::<Vec<_>>(), "FIFO by arrival");
        for window in seen.windows(31) {
            let span = window[30].1 - window[0].1;
            assert!(span >= Duration::from_secs(1), "31 starts within {span:?}");
        }
        // NB: no per-pair check on observed times: tokio's timer wakes at 1 ms granularity, so a
        // single gap may read 33 ms for a 33.3 ms interval; the window bound above is exact.
        let total = seen[89].1 - seen[0].1;
        assert!(
            total < Duration::from_secs(3),
            "not slower than the rate: {total:?}"
        );
        for task in tasks {
            task.await.unwrap();
        }
    }
}
