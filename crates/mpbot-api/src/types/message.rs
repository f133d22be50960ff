use serde::{Deserialize, Serialize};

use super::{Chat, InlineKeyboardMarkup, User, wire_object};
use crate::MessageId;

wire_object! {
    /// A message, or a service message carrying a group event.
    ///
    /// Only `message_id` and `chat` are required: MPChat's own example carries nothing else.
    /// Group events are fields of a message (protocol notes §5.2): [`Message::new_chat_members`],
    /// [`Message::left_chat_member`] and [`Message::pinned_message`].
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct Message {
        required {
            /// The message's id within its chat.
            message_id: MessageId = "message_id",
            /// The chat it belongs to.
            chat: Chat = "chat",
        }
        optional {
            /// The sender; absent in MPChat's minimal example and in channels.
            from: User = "from",
            /// Unix seconds.
            date: i64 = "date",
            /// The text of a text message.
            text: String = "text",
            /// The caption of a media message.
            caption: String = "caption",
            /// Members who joined (or were added to) a group.
            new_chat_members: Vec<User> = "new_chat_members",
            /// A member who left (or was removed from) a group.
            left_chat_member: User = "left_chat_member",
            /// A message that was pinned; delivered only "when the bot can see it".
            pinned_message: Box<Message> = "pinned_message",
            /// The message this one replies to.
            reply_to_message: Box<Message> = "reply_to_message",
            /// Inline keyboard attached to the message.
            reply_markup: InlineKeyboardMarkup = "reply_markup",
        }
        /// Fields this version does not model (media, entities, ...).
        extra
    }
}

impl Message {
    /// The text, or the caption of a media message.
    pub fn text_or_caption(&self) -> Option<&str> {
        self.text.as_deref().or(self.caption.as_deref())
    }
}

/// The result of `copyMessage`: the id of the new message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MessageIdObject {
    /// The id of the copy.
    pub message_id: MessageId,
}
