use serde::{Deserialize, Serialize};

use super::{Extra, User, open_string_enum};

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

/// A user's membership of a chat, from `getChatMember` and `getChatAdministrators`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMember {
    /// The member.
    pub user: User,
    /// Their status.
    pub status: ChatMemberStatus,
    /// For a restricted member: Unix seconds the restriction ends, 0 or absent for "forever".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_date: Option<i64>,
    /// Fields this version does not model (permissions, ...).
    #[serde(flatten)]
    pub extra: Extra,
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
