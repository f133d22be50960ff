use serde::{Deserialize, Serialize};

use super::{Extra, open_string_enum};
use crate::ChatId;

open_string_enum! {
    /// The kind of a conversation. MPChat documents only `private`; the others are Telegram's
    /// names, and any other value is kept in [`ChatType::Other`].
    #[derive(Default)]
    pub enum ChatType {
        /// A one-to-one conversation between a user and the bot.
        #[default]
        Private = "private",
        /// A basic group.
        Group = "group",
        /// A large group.
        Supergroup = "supergroup",
        /// A broadcast channel.
        Channel = "channel",
    }
}

/// A conversation: private, group or channel.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Chat {
    /// The chat's id.
    pub id: ChatId,
    /// The chat's kind.
    #[serde(rename = "type")]
    pub kind: ChatType,
    /// Title of a group or channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Username of the chat, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// First name of the other party of a private chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name of the other party of a private chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Chat {
    /// A chat with an id and a kind.
    pub fn new(id: impl Into<ChatId>, kind: ChatType) -> Self {
        Self {
            id: id.into(),
            kind,
            ..Self::default()
        }
    }
}
