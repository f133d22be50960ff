//! The shutdown signal every long-running part listens to.

use tokio_util::sync::CancellationToken;

/// A cloneable signal that says "stop". Sources and the dispatcher hold one; whoever started
/// them keeps the [`ShutdownTrigger`].
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
}

/// Fires the [`Shutdown`] signal it was made with.
#[derive(Debug, Clone)]
pub struct ShutdownTrigger {
    token: CancellationToken,
}

impl Shutdown {
    /// A new signal and its trigger.
    pub fn new() -> (ShutdownTrigger, Shutdown) {
        let token = CancellationToken::new();
        (
            ShutdownTrigger {
                token: token.clone(),
            },
            Shutdown { token },
        )
    }

    /// A signal that never fires.
    pub fn never() -> Shutdown {
        Shutdown::default()
    }

    /// Resolves once shutdown was requested (at once if it already was).
    ///
    /// # Cancel safety
    /// Cancel-safe: dropping the future and calling again loses nothing.
    pub async fn requested(&self) {
        self.token.cancelled().await;
    }

    /// Whether shutdown was requested.
    pub fn is_requested(&self) -> bool {
        self.token.is_cancelled()
    }

    /// A signal that fires when this one does, and can also be fired on its own through the
    /// returned trigger (for stopping one part without stopping the rest).
    pub fn child(&self) -> (ShutdownTrigger, Shutdown) {
        let token = self.token.child_token();
        (
            ShutdownTrigger {
                token: token.clone(),
            },
            Shutdown { token },
        )
    }
}

impl ShutdownTrigger {
    /// Requests shutdown. Idempotent.
    pub fn trigger(&self) {
        self.token.cancel();
    }

    /// Whether shutdown was requested.
    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn trigger_wakes_every_clone_and_children() {
        let (trigger, shutdown) = Shutdown::new();
        let clone = shutdown.clone();
        let (_child_trigger, child) = shutdown.child();
        assert!(!shutdown.is_requested());
        trigger.trigger();
        clone.requested().await;
        child.requested().await;
        assert!(shutdown.is_requested());
    }

    #[tokio::test]
    async fn child_trigger_does_not_fire_parent() {
        let (_trigger, shutdown) = Shutdown::new();
        let (child_trigger, child) = shutdown.child();
        child_trigger.trigger();
        child.requested().await;
        assert!(!shutdown.is_requested());
    }
}
