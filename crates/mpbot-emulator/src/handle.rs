//! [`BotHandle`]: one bot's side of the emulator as typed Rust calls, and the records it returns.

use std::sync::Arc;
use std::time::Duration;

use mpbot_api::{ChatId, ChatType, MessageId, UpdateId, User, WebhookInfo};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use crate::Error;
use crate::events;
use crate::server::Shared;
use crate::state::BotEntry;

/// What a user message created: the update carrying it and the message's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Posted {
    /// The update queued for the bot.
    pub update_id: UpdateId,
    /// The new message's id in its chat.
    pub message_id: MessageId,
}

/// One entry of the sent log: a message the bot sent, forwarded, copied or edited (an edit
/// appends its own entry). Media messages carry their caption as `text`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SentMessage {
    /// Where it went.
    pub chat_id: ChatId,
    /// Its id (for an edit: the edited message's id).
    pub message_id: MessageId,
    /// Its text, or a media message's caption.
    pub text: Option<String>,
    /// The `reply_markup` sent with it, as given.
    pub reply_markup: Option<serde_json::Value>,
    /// The Bot API method that produced it (`sendMessage`, `editMessageText`, ...).
    pub method: String,
}

/// A fault for the next `times` calls of one Bot API method of one bot.
///
/// `delay` applies first; then either the connection is dropped without a response (`drop`),
/// or the call is answered with `status` (an error envelope, with `parameters.retry_after` when
/// set; a 429 always carries one, at least 1 s), or, with neither, the call proceeds normally.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Fault {
    /// The exact method name, e.g. `getUpdates`.
    pub method: String,
    /// How many calls it applies to.
    pub times: u32,
    /// Answer with this HTTP status and `error_code`.
    pub status: Option<u16>,
    /// `parameters.retry_after` in whole seconds (raised to at least 1).
    pub retry_after: Option<u64>,
    /// Close the connection without answering.
    pub drop: bool,
    /// Wait this long before answering.
    pub delay: Option<Duration>,
}

impl Fault {
    fn new(method: impl Into<String>) -> Self {
        Self {
            method: method.into(),
            times: 1,
            status: None,
            retry_after: None,
            drop: false,
            delay: None,
        }
    }

    /// The next call of `method` gets `status` with an error envelope.
    pub fn status(method: impl Into<String>, status: u16) -> Self {
        Self {
            status: Some(status),
            ..Self::new(method)
        }
    }

    /// The next call of `method` has its connection dropped without a response.
    pub fn drop_connection(method: impl Into<String>) -> Self {
        Self {
            drop: true,
            ..Self::new(method)
        }
    }

    /// The next call of `method` is answered normally after `delay`.
    pub fn delay(method: impl Into<String>, delay: Duration) -> Self {
        Self {
            delay: Some(delay),
            ..Self::new(method)
        }
    }

    /// Applies to the next `times` calls instead of one.
    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }

    /// Adds `parameters.retry_after` (whole seconds, at least 1) to a status fault.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }
}

/// One webhook delivery attempt: the update, the receiver's status or the transport error, and
/// how long it took. Serialized as `{"update_id", "status" | "error", "duration_ms"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryAttempt {
    /// The update delivered.
    pub update_id: UpdateId,
    /// The HTTP status the receiver answered, when it answered.
    pub status: Option<u16>,
    /// Why there was no answer (connect error, TLS error, timeout).
    pub error: Option<String>,
    /// From sending the request to the end of the response (or the failure).
    pub duration: Duration,
}

impl DeliveryAttempt {
    /// Whether the receiver answered 2xx (which consumed the update).
    pub fn is_success(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

impl Serialize for DeliveryAttempt {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("update_id", &self.update_id)?;
        if let Some(status) = self.status {
            map.serialize_entry("status", &status)?;
        }
        if let Some(error) = &self.error {
            map.serialize_entry("error", error)?;
        }
        let ms = u64::try_from(self.duration.as_millis()).unwrap_or(u64::MAX);
        map.serialize_entry("duration_ms", &ms)?;
        map.end()
    }
}

/// One bot of a running [`crate::Emulator`]: act as its users, read what it sent, inject
/// faults, watch webhook deliveries. Cheap to clone; every clone talks to the same bot.
///
/// The actions are synchronous (they only change in-memory state and wake waiters); the waits
/// are event-driven futures, wrap them in a hang guard (`tokio::time::timeout`) in tests.
#[derive(Debug, Clone)]
pub struct BotHandle {
    pub(crate) shared: Arc<Shared>,
    pub(crate) bot: Arc<BotEntry>,
}

impl BotHandle {
    /// The bot's token.
    pub fn token(&self) -> &str {
        &self.bot.token
    }

    /// The bot's identity, as getMe answers it.
    pub fn me(&self) -> User {
        self.bot.me.clone()
    }

    /// `from` writes `text` in the private chat `chat_id` (created with its conversation when
    /// new) and the bot gets a `message` update.
    pub fn user_message(&self, chat_id: impl Into<ChatId>, from: User, text: &str) -> Posted {
        self.user_message_in(chat_id, ChatType::Private, from, text)
    }

    /// Like [`BotHandle::user_message`] in a chat of kind `chat_type` (used when the chat is
    /// new; an existing chat keeps its kind).
    pub fn user_message_in(
        &self,
        chat_id: impl Into<ChatId>,
        chat_type: ChatType,
        from: User,
        text: &str,
    ) -> Posted {
        events::post_message(
            &self.bot,
            self.shared.clock.now(),
            chat_id.into().get(),
            Some(chat_type),
            from,
            text.to_owned(),
        )
    }

    /// `members` join the group `chat_id`: a `message.new_chat_members` update, sent by
    /// `from` (or the first member).
    pub fn join(
        &self,
        chat_id: impl Into<ChatId>,
        members: Vec<User>,
        from: Option<User>,
    ) -> UpdateId {
        events::join(
            &self.bot,
            self.shared.clock.now(),
            chat_id.into().get(),
            None,
            members,
            from,
        )
    }

    /// `member` leaves `chat_id`: a `message.left_chat_member` update.
    pub fn leave(&self, chat_id: impl Into<ChatId>, member: User, from: Option<User>) -> UpdateId {
        events::leave(
            &self.bot,
            self.shared.clock.now(),
            chat_id.into().get(),
            member,
            from,
        )
    }

    /// `from` pins `message_id` in `chat_id`: a `message.pinned_message` update.
    pub fn pin(
        &self,
        chat_id: impl Into<ChatId>,
        message_id: impl Into<MessageId>,
        from: User,
    ) -> UpdateId {
        events::pin(
            &self.bot,
            self.shared.clock.now(),
            chat_id.into().get(),
            message_id.into().get(),
            from,
        )
    }

    /// Queues any update JSON object as is; an `update_id` is assigned when missing.
    ///
    /// # Errors
    /// [`Error::InvalidUpdate`] when `update` is not an object or its `update_id` is not an
    /// integer.
    pub fn push_update(&self, update: serde_json::Value) -> Result<UpdateId, Error> {
        let now = self.shared.clock.now();
        self.bot
            .with_state(|st| st.enqueue_raw(now, update))
            .map(UpdateId)
    }

    /// Every message the bot sent or edited, in order.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.bot.with_state(|st| st.sent.clone())
    }

    /// Waits until the sent log has at least `n` entries, then returns the whole log.
    pub async fn wait_for_sent(&self, n: usize) -> Vec<SentMessage> {
        let mut rx = self.bot.events.subscribe();
        // The sender lives as long as `self.bot`, so this cannot fail.
        let _ = rx.wait_for(|c| c.sent >= n).await;
        self.sent()
    }

    /// Adds a fault for the next calls of one method.
    pub fn inject_fault(&self, fault: Fault) {
        self.bot.with_state(|st| st.faults.push(fault));
    }

    /// Removes every fault of this bot.
    pub fn clear_faults(&self) {
        self.bot.with_state(|st| st.faults.clear());
    }

    /// Every webhook delivery attempt, in order.
    pub fn deliveries(&self) -> Vec<DeliveryAttempt> {
        self.bot.with_state(|st| st.deliveries.clone())
    }

    /// Waits until at least `n` delivery attempts were made, then returns them all.
    pub async fn wait_for_deliveries(&self, n: usize) -> Vec<DeliveryAttempt> {
        let mut rx = self.bot.events.subscribe();
        let _ = rx.wait_for(|c| c.deliveries >= n).await;
        self.deliveries()
    }

    /// Waits until no update is pending (every one was consumed by getUpdates, delivered by
    /// the webhook, or dropped).
    pub async fn wait_until_drained(&self) {
        let mut rx = self.bot.events.subscribe();
        let _ = rx.wait_for(|c| c.pending == 0).await;
    }

    /// Waits until at least one getUpdates call of this bot is waiting in a long poll.
    pub async fn wait_for_long_poll(&self) {
        let mut rx = self.bot.events.subscribe();
        let _ = rx.wait_for(|c| c.polls_waiting > 0).await;
    }

    /// Waits until no getUpdates call of this bot is waiting in a long poll (they returned,
    /// or their clients went away and the server noticed).
    pub async fn wait_for_no_long_poll(&self) {
        let mut rx = self.bot.events.subscribe();
        let _ = rx.wait_for(|c| c.polls_waiting == 0).await;
    }

    /// What getWebhookInfo answers now.
    pub fn webhook_info(&self) -> WebhookInfo {
        crate::api::webhook_info(&self.shared, &self.bot)
    }

    /// Updates waiting for getUpdates or the webhook (after dropping expired ones).
    pub fn pending_count(&self) -> usize {
        let now = self.shared.clock.now();
        self.bot.with_state(|st| {
            st.expire(now);
            st.pending.len()
        })
    }
}
