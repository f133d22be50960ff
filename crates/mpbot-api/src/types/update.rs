use super::{Message, User, wire_object};
use crate::{ChatId, UpdateId};

wire_object! {
    /// One incoming update.
    ///
    /// MPChat documents `update_id` and `message` ("and so on"). The other typed fields are
    /// Telegram's names, unverified on MPChat; any other payload lands in [`Update::extra`] under
    /// its field name, so an update of a kind this version does not know still reaches the
    /// application.
    ///
    /// The typed payloads are boxed: an update is a few words, so handing it through channels
    /// and futures copies pointers, not the ~3 KB the five inline payloads would take.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct Update {
        required {
            /// Ascending id of the update; `getUpdates`' `offset` is the highest seen plus one.
            update_id: UpdateId = "update_id",
        }
        optional {
            /// A new message, including service messages that carry group events.
            message: Box<Message> = "message",
            /// A message was edited (Telegram's; unverified on MPChat).
            edited_message: Box<Message> = "edited_message",
            /// A channel post (Telegram's; unverified on MPChat).
            channel_post: Box<Message> = "channel_post",
            /// A channel post was edited (Telegram's; unverified on MPChat).
            edited_channel_post: Box<Message> = "edited_channel_post",
            /// An inline button was pressed (Telegram's; unverified on MPChat).
            callback_query: Box<CallbackQuery> = "callback_query",
        }
        /// Every other field, kept verbatim: unknown update kinds live here.
        extra
    }
}

impl Update {
    /// An update carrying a message.
    pub fn with_message(update_id: impl Into<UpdateId>, message: Message) -> Self {
        Self {
            update_id: update_id.into(),
            message: Some(Box::new(message)),
            ..Self::default()
        }
    }

    /// The name of the field that carries this update's payload: `"message"`, `"edited_message"`,
    /// ..., or the first unknown field's name. `None` for an update with no payload at all.
    pub fn payload_name(&self) -> Option<&str> {
        let typed = [
            ("message", self.message.is_some()),
            ("edited_message", self.edited_message.is_some()),
            ("channel_post", self.channel_post.is_some()),
            ("edited_channel_post", self.edited_channel_post.is_some()),
            ("callback_query", self.callback_query.is_some()),
        ];
        typed
            .iter()
            .find(|(_, present)| *present)
            .map(|(name, _)| *name)
            .or_else(|| self.extra.keys().next().map(String::as_str))
    }

    /// The message this update is about, whatever field carries it.
    pub fn any_message(&self) -> Option<&Message> {
        self.message
            .as_deref()
            .or(self.edited_message.as_deref())
            .or(self.channel_post.as_deref())
            .or(self.edited_channel_post.as_deref())
            .or_else(|| {
                self.callback_query
                    .as_deref()
                    .and_then(|q| q.message.as_deref())
            })
    }

    /// The chat this update belongs to, used to keep one chat's updates in order.
    ///
    /// For unknown kinds it looks for `chat.id` or `message.chat.id` inside the payload, the shape
    /// every Telegram chat-scoped update has.
    pub fn chat_id(&self) -> Option<ChatId> {
        if let Some(message) = self.any_message() {
            return Some(message.chat.id);
        }
        self.extra.values().find_map(|payload| {
            let chat = payload
                .get("chat")
                .or_else(|| payload.get("message")?.get("chat"))?;
            serde_json::from_value::<ChatId>(chat.get("id")?.clone()).ok()
        })
    }
}

wire_object! {
    /// A press of an inline callback button (Telegram's shape; unverified on MPChat).
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct CallbackQuery {
        required {
            /// The query's id, for `answerCallbackQuery`.
            id: String = "id",
        }
        optional {
            /// Who pressed.
            from: User = "from",
            /// The message the button was on.
            message: Box<Message> = "message",
            /// The button's `callback_data`.
            data: String = "data",
        }
        /// Fields this version does not model.
        extra
    }
}
