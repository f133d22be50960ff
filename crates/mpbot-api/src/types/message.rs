use serde::{Deserialize, Serialize};

use super::{Chat, Extra, InlineKeyboardMarkup, User};
use crate::MessageId;

/// A message, or a service message carrying a group event.
///
/// Only `message_id` and `chat` are required: MPChat's own example carries nothing else.
/// Group events are fields of a message (protocol notes §5.2): [`Message::new_chat_members`],
/// [`Message::left_chat_member`] and [`Message::pinned_message`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Message {
    /// The message's id within its chat.
    pub message_id: MessageId,
    /// The chat it belongs to.
    pub chat: Chat,
    /// The sender; absent in MPChat's minimal example and in channels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<User>,
    /// Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<i64>,
    /// The text of a text message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The caption of a media message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// Members who joined (or were added to) a group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_chat_members: Option<Vec<User>>,
    /// A member who left (or was removed from) a group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_chat_member: Option<User>,
    /// A message that was pinned; delivered only "when the bot can see it".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_message: Option<Box<Message>>,
    /// The message this one replies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to_message: Option<Box<Message>>,
    /// Inline keyboard attached to the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_markup: Option<InlineKeyboardMarkup>,
    /// Fields this version does not model (media, entities, ...).
    #[serde(flatten)]
    pub extra: Extra,
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
