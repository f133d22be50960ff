//! What a handler gets besides its event: [`Context`].

use std::sync::Arc;

use mpbot_api::methods::SendMessage;
use mpbot_api::{Bot, ChatId, Message, MessageId, UpdateId, User};

use crate::UpdateKind;

/// The bot-wide part of a context, shared by every update.
#[derive(Debug)]
struct Shared {
    /// The API client.
    bot: Bot,
    /// The bot's own account, from `getMe`.
    me: User,
}

/// The per-update part of a context: small, copied with the context (no allocation per
/// update).
#[derive(Debug, Clone)]
struct PerUpdate {
    /// The update's id.
    update_id: UpdateId,
    /// The update's kind.
    kind: UpdateKind,
    /// The chat the update belongs to, if any.
    chat_id: Option<ChatId>,
    /// The message the update carries, if any: what [`Context::reply`] replies to.
    message_id: Option<MessageId>,
}

/// What a handler knows besides its event: the API client, the bot's identity, which update it
/// handles, and helpers to answer.
///
/// Cheap to clone (a reference-counted pointer and a few ids; an `Other` kind's name is a
/// string), so a handler can move it into a task.
#[derive(Debug, Clone)]
pub struct Context {
    /// Bot-wide, created once by the dispatcher.
    shared: Arc<Shared>,
    /// Created once per update.
    update: PerUpdate,
}

/// The bot-wide half of a [`Context`], created once; each update adds its own half.
#[derive(Debug, Clone)]
pub(crate) struct BotContext {
    /// Shared by every context made from it.
    shared: Arc<Shared>,
}

impl BotContext {
    /// The bot-wide context for `bot`, which is the account `me`.
    pub(crate) fn new(bot: Bot, me: User) -> Self {
        Self {
            shared: Arc::new(Shared { bot, me }),
        }
    }

    /// The API client.
    pub(crate) fn bot(&self) -> &Bot {
        &self.shared.bot
    }

    /// The bot's own account.
    pub(crate) fn me(&self) -> &User {
        &self.shared.me
    }

    /// The bot's username, for command addressing.
    pub(crate) fn username(&self) -> Option<&str> {
        self.shared.me.username.as_deref()
    }

    /// The context of one update.
    pub(crate) fn for_update(
        &self,
        update_id: UpdateId,
        kind: UpdateKind,
        chat_id: Option<ChatId>,
        message_id: Option<MessageId>,
    ) -> Context {
        Context {
            shared: Arc::clone(&self.shared),
            update: PerUpdate {
                update_id,
                kind,
                chat_id,
                message_id,
            },
        }
    }
}

impl Context {
    /// A context outside any dispatcher, for testing a handler by calling it directly.
    pub fn new(
        bot: Bot,
        me: User,
        update_id: UpdateId,
        kind: UpdateKind,
        chat_id: Option<ChatId>,
        message_id: Option<MessageId>,
    ) -> Self {
        BotContext::new(bot, me).for_update(update_id, kind, chat_id, message_id)
    }

    /// The API client.
    pub fn bot(&self) -> &Bot {
        &self.shared.bot
    }

    /// The bot's own account, as `getMe` described it.
    pub fn me(&self) -> &User {
        &self.shared.me
    }

    /// The id of the update being handled.
    pub fn update_id(&self) -> UpdateId {
        self.update.update_id
    }

    /// The kind of the update being handled.
    pub fn kind(&self) -> &UpdateKind {
        &self.update.kind
    }

    /// The chat the update belongs to, if it belongs to one.
    pub fn chat_id(&self) -> Option<ChatId> {
        self.update.chat_id
    }

    /// The id of the message the update carries, if it carries one.
    pub fn message_id(&self) -> Option<MessageId> {
        self.update.message_id
    }

    /// Sends `text` to the update's chat as a reply to its message (`sendMessage` with
    /// `reply_to_message_id`).
    ///
    /// # Errors
    /// [`mpbot_api::Error::InvalidRequest`] when the update has no chat; otherwise what
    /// `sendMessage` returns.
    pub async fn reply(&self, text: impl Into<String>) -> mpbot_api::Result<Message> {
        let Some(chat_id) = self.update.chat_id else {
            return Err(mpbot_api::Error::InvalidRequest {
                method: "sendMessage".to_owned(),
                reason: "this update has no chat to reply to".to_owned(),
            });
        };
        let mut request = SendMessage::new(chat_id, text);
        if let Some(message_id) = self.update.message_id {
            request = request.with_reply_to(message_id);
        }
        self.shared.bot.execute(&request).await
    }

    /// Sends `text` to `chat` (`sendMessage`).
    ///
    /// # Errors
    /// What `sendMessage` returns.
    pub async fn send(
        &self,
        chat: impl Into<ChatId>,
        text: impl Into<String>,
    ) -> mpbot_api::Result<Message> {
        self.shared.bot.send_message(chat, text).await
    }
}
