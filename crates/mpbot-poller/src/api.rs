//! [`PollApi`]: the three Bot API calls the poller makes, as an object-safe seam.

use std::sync::Arc;

use async_trait::async_trait;
use mpbot_api::methods::GetUpdates;
use mpbot_api::{Bot, RetryPolicy, Update, User, WebhookInfo};

/// The Bot API calls [`LongPolling`](crate::LongPolling) needs.
///
/// [`mpbot_api::Bot`] implements it over HTTP. Tests implement it in memory, so that the
/// poller's timing (backoff, `retry_after`, the conflict window) runs under a paused tokio clock
/// without real sockets, which would let the paused clock jump ahead.
///
/// # Examples
///
/// An implementation writes plain `async fn`s:
///
/// ```
/// use mpbot_api::methods::GetUpdates;
/// use mpbot_api::{Update, User, WebhookInfo};
/// use mpbot_poller::{PollApi, async_trait};
///
/// #[derive(Debug)]
/// struct Quiet;
///
/// #[async_trait]
/// impl PollApi for Quiet {
///     async fn get_me(&self) -> mpbot_api::Result<User> {
///         Ok(User::new(1))
///     }
///     async fn get_webhook_info(&self) -> mpbot_api::Result<WebhookInfo> {
///         Ok(WebhookInfo::default())
///     }
///     async fn get_updates(&self, _request: &GetUpdates) -> mpbot_api::Result<Vec<Update>> {
///         Ok(Vec::new())
///     }
/// }
/// ```
#[async_trait]
pub trait PollApi: Send + Sync + 'static {
    /// `getMe`: the bot's identity.
    async fn get_me(&self) -> mpbot_api::Result<User>;

    /// `getWebhookInfo`: whether a webhook is set.
    async fn get_webhook_info(&self) -> mpbot_api::Result<WebhookInfo>;

    /// `getUpdates`. A successful answer has consumed its batch on MPChat's side.
    ///
    /// # Cancel safety
    /// The poller drops this future on shutdown. An implementation must be safe to drop while
    /// waiting: MPChat (and the emulator) consume nothing when the client goes away before the
    /// answer was sent.
    async fn get_updates(&self, request: &GetUpdates) -> mpbot_api::Result<Vec<Update>>;
}

/// Over HTTP, with the client's own retries turned off ([`RetryPolicy::none`]) whatever the
/// `Bot`'s policy: the poller retries by itself, and must see every failure to report its state
/// and to honour `retry_after` exactly. The client's throttle still applies.
#[async_trait]
impl PollApi for Bot {
    async fn get_me(&self) -> mpbot_api::Result<User> {
        self.with_retry_policy(RetryPolicy::none()).get_me().await
    }

    async fn get_webhook_info(&self) -> mpbot_api::Result<WebhookInfo> {
        self.with_retry_policy(RetryPolicy::none())
            .get_webhook_info()
            .await
    }

    async fn get_updates(&self, request: &GetUpdates) -> mpbot_api::Result<Vec<Update>> {
        self.with_retry_policy(RetryPolicy::none())
            .get_updates(request)
            .await
    }
}

#[async_trait]
impl<T: PollApi + ?Sized> PollApi for Arc<T> {
    async fn get_me(&self) -> mpbot_api::Result<User> {
        (**self).get_me().await
    }

    async fn get_webhook_info(&self) -> mpbot_api::Result<WebhookInfo> {
        (**self).get_webhook_info().await
    }

    async fn get_updates(&self, request: &GetUpdates) -> mpbot_api::Result<Vec<Update>> {
        (**self).get_updates(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins object safety and `Send` of the seam (the poller stores it as `Arc<dyn PollApi>`).
    #[test]
    fn poll_api_is_object_safe() {
        fn assert_send_sync<T: Send + Sync + ?Sized>() {}
        assert_send_sync::<dyn PollApi>();
        let _: fn(&dyn PollApi) = |_| {};
    }
}
