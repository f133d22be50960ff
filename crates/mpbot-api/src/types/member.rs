use serde::{Deserialize, Serialize};

use super::{User, open_string_enum, wire_object};

open_string_enum! {
    /// A member's status in a chat (Telegram's names; unverified on MPChat).
    pub enum ChatMemberStatus {
        /// The chat's owner.
        Creator = "creator",
        /// An administrator.
        Administrator = "administrator",
        /// An ordinary member.
        Member = "member",
        /// A restricted member; on MPChat `banChatMember` mutes, which lands here.
        Restricted = "restricted",
        /// Not a member any more.
        Left = "left",
        /// Banned (Telegram's meaning).
        Kicked = "kicked",
    }
}

wire_object! {
    /// A user's membership of a chat, from `getChatMember` and `getChatAdministrators`.
    #[derive(Debug, Clone, PartialEq)]
    pub struct ChatMember {
        required {
            /// The member.
            user: User = "user",
            /// Their status.
            status: ChatMemberStatus = "status",
        }
        optional {
            /// For a restricted member: Unix seconds the restriction ends, 0 or absent for
            /// "forever".
            until_date: i64 = "until_date",
        }
        /// Fields this version does not model (permissions, ...).
        extra
    }
}

/// One entry of the bot's command menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotCommand {
    /// The command without `/`.
    pub command: String,
    /// What it does, shown in the menu.
    pub description: String,
}

impl BotCommand {
    /// A command entry.
    pub fn new(command: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            command: command.into(),
            description: description.into(),
        }
    }
}
