use super::{open_string_enum, wire_object};
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

wire_object! {
    /// A conversation: private, group or channel.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct Chat {
        required {
            /// The chat's id.
            id: ChatId = "id",
            /// The chat's kind.
            kind: ChatType = "type",
        }
        optional {
            /// Title of a group or channel.
            title: String = "title",
            /// Username of the chat, when it has one.
            username: String = "username",
            /// First name of the other party of a private chat.
            first_name: String = "first_name",
            /// Last name of the other party of a private chat.
            last_name: String = "last_name",
        }
        /// Fields this version does not model.
        extra
    }
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
