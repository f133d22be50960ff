//! The place that decides when an update counts as delivered.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use mpbot_api::Update;

/// When an update counts as delivered (`delivery.ack` in the TOML).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AckPolicy {
    /// Webhook: after the handlers finished (ok or error). Polling: once queued.
    #[default]
    Handled,
    /// Once queued in memory (opt-in, fastest; a crash loses what is queued).
    Received,
    /// Once durably in the local journal; handlers run from the journal.
    ///
    /// The journal does not exist yet: the [`Dispatcher`](crate::Dispatcher) refuses every
    /// update under this policy with [`Refused::Unavailable`].
    Stored,
}

impl AckPolicy {
    /// The TOML name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Handled => "handled",
            Self::Received => "received",
            Self::Stored => "stored",
        }
    }
}

/// The sink took the update: acknowledge it to MPChat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Delivered {
    /// Accepted under the policy.
    Accepted,
    /// Already seen (a redelivery or replay); dropped, but acknowledge it so MPChat stops.
    Duplicate,
}

/// The sink did not take the update: do not acknowledge it (a webhook answers 503).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refused {
    /// The dispatcher is full beyond its bound.
    Overloaded,
    /// Shutting down.
    ShuttingDown,
    /// The update could not be stored (for example a full disk under `stored`).
    Unavailable(String),
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Overloaded => f.write_str("the dispatcher is full"),
            Self::ShuttingDown => f.write_str("the bot is shutting down"),
            Self::Unavailable(reason) => write!(f, "the update could not be stored: {reason}"),
        }
    }
}

impl std::error::Error for Refused {}

/// What sits behind an [`UpdateSink`]: the dispatcher, or a journal in front of it.
///
/// Implement it to put something new between sources and handlers; sources only ever see the
/// [`UpdateSink`] wrapper.
#[async_trait]
pub trait Deliver: Send + Sync + 'static {
    /// Takes one update; returns when it counts as delivered under the policy.
    async fn deliver(&self, update: Update) -> Result<Delivered, Refused>;

    /// How many more updates it can take right now without refusing or waiting.
    fn free_capacity(&self) -> usize;

    /// Resolves once at least one update can be taken (or shutdown started).
    async fn wait_for_capacity(&self);
}

/// The receiving end a source hands its updates to. Cheap to clone.
#[derive(Clone)]
pub struct UpdateSink {
    inner: Arc<dyn Deliver>,
}

impl fmt::Debug for UpdateSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpdateSink")
            .field("free_capacity", &self.free_capacity())
            .finish()
    }
}

impl UpdateSink {
    /// Wraps a [`Deliver`] implementation.
    pub fn new(inner: impl Deliver) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Hands over one update and waits for the verdict. `Ok` means: acknowledge it to MPChat.
    ///
    /// # Errors
    /// [`Refused`] when the update was not taken; the source must not acknowledge it.
    ///
    /// # Cancel safety
    /// Dropping the future before it resolves leaves it undecided whether the update was taken;
    /// a source must then not acknowledge it (MPChat redelivers, dedup drops the copy).
    pub fn deliver(
        &self,
        update: Update,
    ) -> impl Future<Output = Result<Delivered, Refused>> + Send + '_ {
        // NB: not an `async fn`: the update goes straight into the inner (boxed) future instead
        // of a second state machine wrapped around it.
        self.inner.deliver(update)
    }

    /// How many more updates can be taken right now without refusing or waiting; a poller may
    /// use it as `limit`.
    pub fn free_capacity(&self) -> usize {
        self.inner.free_capacity()
    }

    /// Resolves once at least one update can be taken: a poller awaits it before fetching.
    ///
    /// # Cancel safety
    /// Cancel-safe.
    pub async fn wait_for_capacity(&self) {
        self.inner.wait_for_capacity().await;
    }
}
