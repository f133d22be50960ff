//! The seam where updates come in.

use async_trait::async_trait;

use crate::{Error, Shutdown, UpdateSink};

/// What a source is, for logs, health and the ack policy.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceInfo {
    /// Short name: `"polling"`, `"webhook"`, `"memory"`.
    pub name: &'static str,
    /// Whether MPChat delivers again what this source does not acknowledge.
    ///
    /// A webhook does (any non-2xx is retried), so its sink may refuse when full and, under the
    /// `handled` policy, acknowledges only after the handlers ran. `getUpdates` does not: a
    /// successful response already consumed the batch, so the sink never refuses a polled update
    /// (it waits for room instead) and acknowledges once it is queued (or journaled).
    pub redelivers: bool,
}

impl SourceInfo {
    /// Describes a source.
    pub fn new(name: &'static str, redelivers: bool) -> Self {
        Self { name, redelivers }
    }
}

/// A way of receiving updates: long polling, a webhook listener, an in-memory test source.
///
/// A source obtains updates and hands each to the [`UpdateSink`], and tells MPChat an update is
/// consumed only after the sink accepted it. The application picks the source at run time (from
/// the TOML's `delivery.mode`), so the trait is used as `Box<dyn UpdateSource>`.
///
/// # Examples
///
/// Implementors write a plain `async fn` (the `#[async_trait]` attribute does the boxing):
///
/// ```
/// use mpbot_core::{async_trait, Error, Shutdown, SourceInfo, UpdateSink, UpdateSource};
/// use mpbot_core::api::Update;
///
/// struct OneUpdate(Update);
///
/// #[async_trait]
/// impl UpdateSource for OneUpdate {
///     fn describe(&self) -> SourceInfo {
///         SourceInfo::new("one", false)
///     }
///
///     async fn run(self: Box<Self>, sink: UpdateSink, shutdown: Shutdown) -> Result<(), Error> {
///         tokio::select! {
///             result = sink.deliver(self.0) => { result.map_err(Error::refused)?; }
///             () = shutdown.requested() => {}
///         }
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait UpdateSource: Send {
    /// What this source is.
    fn describe(&self) -> SourceInfo;

    /// Runs until `shutdown` is requested or a fatal error. Each update goes through
    /// [`UpdateSink::deliver`]; the source acknowledges to MPChat only what the sink accepted.
    ///
    /// # Errors
    /// A fatal condition the source cannot recover from (revoked token, a webhook set while
    /// polling, a port that cannot be bound).
    async fn run(self: Box<Self>, sink: UpdateSink, shutdown: Shutdown) -> Result<(), Error>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>() {}

    /// Pins object safety and `Send` of the source trait: the config picks a source at run time.
    #[test]
    fn update_source_is_object_safe_and_send() {
        fn takes_dyn(_: &dyn UpdateSource) {}
        let _ = takes_dyn;
        assert_send::<Box<dyn UpdateSource>>();
    }
}
