//! Request parameter types, one per Bot API method, and the [`Method`] trait tying each to its
//! name and result type.
//!
//! Optional parameters are `Option`s that are left out of the JSON body when `None`. Every type
//! has a `new` with the required parameters; the rest are public fields.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::types::{
    BotCommand, ChatMember, InlineKeyboardMarkup, Message, MessageIdObject, Update, User,
    WebhookInfo,
};
use crate::{ChatId, Extra, MessageId, UpdateId, UserId};

/// A Bot API method: its parameters (the `Serialize` body), its wire name and its result.
pub trait Method: Serialize + Send + Sync {
    /// The exact camelCase method name.
    const NAME: &'static str;
    /// Whether repeating the call after an ambiguous failure (a timeout after the request was
    /// sent) is harmless. Send methods are not: MPChat has no idempotency key.
    const IDEMPOTENT: bool;
    /// [`Ordinary`], or [`HighRisk`] for MPChat's "high-risk controlled operations", which the
    /// client only performs through its explicit opt-in handle.
    type Risk: RiskLevel;
    /// What `result` holds on success.
    type Output: DeserializeOwned + Send + 'static;

    /// The file this call uploads, if any: the parameter name and the file. A call with an
    /// upload is sent as `multipart/form-data` instead of JSON.
    fn upload(&self) -> Option<(&'static str, &InputFile)> {
        None
    }

    /// How long the server may hold this call on purpose (a long poll), if it may. The client
    /// adds a margin to get the HTTP read timeout, so it never gives up before the server
    /// answers.
    fn long_poll_timeout(&self) -> Option<std::time::Duration> {
        None
    }
}

/// Marker for how risky a method is; see [`Method::Risk`].
pub trait RiskLevel: sealed::Sealed + Send + Sync + 'static {
    /// Whether this is [`HighRisk`].
    const IS_HIGH_RISK: bool;
}

/// Methods that are safe to call from ordinary bot code.
#[derive(Debug)]
pub enum Ordinary {}
/// MPChat's high-risk controlled operations: setWebhook, deleteWebhook, logOut, leaveChat,
/// deleteMessage, deleteMessages, banChatMember.
#[derive(Debug)]
pub enum HighRisk {}

impl RiskLevel for Ordinary {
    const IS_HIGH_RISK: bool = false;
}
impl RiskLevel for HighRisk {
    const IS_HIGH_RISK: bool = true;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Ordinary {}
    impl Sealed for super::HighRisk {}
}

/// The names of MPChat's high-risk controlled operations (protocol notes §4.3).
pub const HIGH_RISK_METHODS: &[&str] = &[
    "setWebhook",
    "deleteWebhook",
    "logOut",
    "leaveChat",
    "deleteMessage",
    "deleteMessages",
    "banChatMember",
];

/// Whether `method` names a high-risk controlled operation.
pub fn is_high_risk(method: &str) -> bool {
    HIGH_RISK_METHODS
        .iter()
        .any(|m| m.eq_ignore_ascii_case(method))
}

macro_rules! impl_method {
    ($ty:ty, $name:literal, $output:ty, idempotent = $idempotent:literal, risk = $risk:ty) => {
        impl Method for $ty {
            const NAME: &'static str = $name;
            const IDEMPOTENT: bool = $idempotent;
            type Risk = $risk;
            type Output = $output;
        }
    };
    ($ty:ty, $name:literal, $output:ty, idempotent = $idempotent:literal, risk = $risk:ty, upload = $field:literal) => {
        impl Method for $ty {
            const NAME: &'static str = $name;
            const IDEMPOTENT: bool = $idempotent;
            type Risk = $risk;
            type Output = $output;
            fn upload(&self) -> Option<(&'static str, &InputFile)> {
                match &self.media {
                    file @ InputFile::Upload { .. } => Some(($field, file)),
                    InputFile::Url(_) => None,
                }
            }
        }
    };
}

/// `getMe`: the bot's own identity. No side effects; the first step of MPChat's smoke test.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct GetMe {}
impl GetMe {
    /// The request.
    pub fn new() -> Self {
        Self {}
    }
}
impl_method!(GetMe, "getMe", User, idempotent = true, risk = Ordinary);

/// `getUpdates`: long polling. A successful response consumes the batch it returns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GetUpdates {
    /// Highest `update_id` already seen + 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<UpdateId>,
    /// 1-100, default 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Long-poll wait in seconds, 0-50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    /// Update kinds to receive, e.g. `["message"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_updates: Option<Vec<String>>,
}
impl GetUpdates {
    /// A request with every parameter left to MPChat's default.
    pub fn new() -> Self {
        Self::default()
    }
}
// NB: not idempotent: a response lost in transit consumed its batch on MPChat's side.
impl Method for GetUpdates {
    const NAME: &'static str = "getUpdates";
    const IDEMPOTENT: bool = false;
    type Risk = Ordinary;
    type Output = Vec<Update>;

    fn long_poll_timeout(&self) -> Option<std::time::Duration> {
        self.timeout
            .map(|secs| std::time::Duration::from_secs(u64::from(secs)))
    }
}

/// `setWebhook`: a high-risk controlled operation. MPChat probes the URL before saving.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SetWebhook {
    /// HTTPS URL; an empty string deletes the webhook.
    pub url: String,
    /// Sent back in `X-MpChat-Bot-Api-Secret-Token` on every delivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_token: Option<String>,
    /// Most concurrent deliveries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    /// Update kinds to receive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_updates: Option<Vec<String>>,
    /// Drop the updates waiting for delivery (Telegram's; undocumented on MPChat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_pending_updates: Option<bool>,
}
impl SetWebhook {
    /// A request for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }
}
impl fmt::Debug for SetWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetWebhook")
            .field("url", &self.url)
            .field("secret_token", &self.secret_token.as_ref().map(|_| "***"))
            .field("max_connections", &self.max_connections)
            .field("allowed_updates", &self.allowed_updates)
            .field("drop_pending_updates", &self.drop_pending_updates)
            .finish()
    }
}
impl_method!(
    SetWebhook,
    "setWebhook",
    bool,
    idempotent = true,
    risk = HighRisk
);

/// `deleteWebhook`: a high-risk controlled operation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeleteWebhook {
    /// Drop the updates waiting for delivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_pending_updates: Option<bool>,
}
impl DeleteWebhook {
    /// The request.
    pub fn new() -> Self {
        Self::default()
    }
}
impl_method!(
    DeleteWebhook,
    "deleteWebhook",
    bool,
    idempotent = true,
    risk = HighRisk
);

/// `getWebhookInfo`.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct GetWebhookInfo {}
impl GetWebhookInfo {
    /// The request.
    pub fn new() -> Self {
        Self {}
    }
}
impl_method!(
    GetWebhookInfo,
    "getWebhookInfo",
    WebhookInfo,
    idempotent = true,
    risk = Ordinary
);

/// `sendMessage`. Bots cannot start conversations: the chat must have written to the bot first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SendMessage {
    /// Target chat.
    pub chat_id: ChatId,
    /// The text.
    pub text: String,
    /// `Markdown` or `HTML`, passed through unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parse_mode: Option<String>,
    /// Reply to this message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to_message_id: Option<MessageId>,
    /// Inline keyboard, e.g. a `web_app` button.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_markup: Option<InlineKeyboardMarkup>,
    /// Further parameters passed through as they are (MPChat's list is incomplete).
    #[serde(flatten)]
    pub extra: Extra,
}
impl SendMessage {
    /// A text message to `chat_id`.
    pub fn new(chat_id: impl Into<ChatId>, text: impl Into<String>) -> Self {
        Self {
            chat_id: chat_id.into(),
            text: text.into(),
            ..Self::default()
        }
    }
    /// Sets `parse_mode`.
    pub fn with_parse_mode(mut self, parse_mode: impl Into<String>) -> Self {
        self.parse_mode = Some(parse_mode.into());
        self
    }
    /// Sets `reply_to_message_id`.
    pub fn with_reply_to(mut self, message_id: MessageId) -> Self {
        self.reply_to_message_id = Some(message_id);
        self
    }
    /// Sets `reply_markup`.
    pub fn with_reply_markup(mut self, markup: InlineKeyboardMarkup) -> Self {
        self.reply_markup = Some(markup);
        self
    }
}
impl_method!(
    SendMessage,
    "sendMessage",
    Message,
    idempotent = false,
    risk = Ordinary
);

/// `editMessageText`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EditMessageText {
    /// Chat of the message.
    pub chat_id: ChatId,
    /// The message to edit (one the bot sent).
    pub message_id: MessageId,
    /// The new text.
    pub text: String,
    /// `Markdown` or `HTML`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parse_mode: Option<String>,
    /// New inline keyboard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_markup: Option<InlineKeyboardMarkup>,
}
impl EditMessageText {
    /// Replace the text of `message_id` in `chat_id`.
    pub fn new(
        chat_id: impl Into<ChatId>,
        message_id: impl Into<MessageId>,
        text: impl Into<String>,
    ) -> Self {
        Self {
            chat_id: chat_id.into(),
            message_id: message_id.into(),
            text: text.into(),
            ..Self::default()
        }
    }
}
// Repeating an edit with the same text leaves the same state.
impl_method!(
    EditMessageText,
    "editMessageText",
    Message,
    idempotent = true,
    risk = Ordinary
);

/// `forwardMessage` (Telegram's name; unverified on MPChat).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ForwardMessage {
    /// Target chat.
    pub chat_id: ChatId,
    /// Chat the message is in.
    pub from_chat_id: ChatId,
    /// The message to forward.
    pub message_id: MessageId,
}
impl ForwardMessage {
    /// Forward `message_id` from `from_chat_id` to `chat_id`.
    pub fn new(
        chat_id: impl Into<ChatId>,
        from_chat_id: impl Into<ChatId>,
        message_id: impl Into<MessageId>,
    ) -> Self {
        Self {
            chat_id: chat_id.into(),
            from_chat_id: from_chat_id.into(),
            message_id: message_id.into(),
        }
    }
}
impl_method!(
    ForwardMessage,
    "forwardMessage",
    Message,
    idempotent = false,
    risk = Ordinary
);

/// `copyMessage` (Telegram's name; unverified on MPChat).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CopyMessage {
    /// Target chat.
    pub chat_id: ChatId,
    /// Chat the message is in.
    pub from_chat_id: ChatId,
    /// The message to copy.
    pub message_id: MessageId,
    /// New caption for media.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
}
impl CopyMessage {
    /// Copy `message_id` from `from_chat_id` to `chat_id`.
    pub fn new(
        chat_id: impl Into<ChatId>,
        from_chat_id: impl Into<ChatId>,
        message_id: impl Into<MessageId>,
    ) -> Self {
        Self {
            chat_id: chat_id.into(),
            from_chat_id: from_chat_id.into(),
            message_id: message_id.into(),
            caption: None,
        }
    }
}
impl_method!(
    CopyMessage,
    "copyMessage",
    MessageIdObject,
    idempotent = false,
    risk = Ordinary
);

/// `pinChatMessage` (Telegram's name; unverified on MPChat).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PinChatMessage {
    /// The chat.
    pub chat_id: ChatId,
    /// The message to pin.
    pub message_id: MessageId,
    /// Pin silently.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_notification: Option<bool>,
}
impl PinChatMessage {
    /// Pin `message_id` in `chat_id`.
    pub fn new(chat_id: impl Into<ChatId>, message_id: impl Into<MessageId>) -> Self {
        Self {
            chat_id: chat_id.into(),
            message_id: message_id.into(),
            disable_notification: None,
        }
    }
}
impl_method!(
    PinChatMessage,
    "pinChatMessage",
    bool,
    idempotent = true,
    risk = Ordinary
);

/// `unpinChatMessage` (Telegram's name; unverified on MPChat).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UnpinChatMessage {
    /// The chat.
    pub chat_id: ChatId,
    /// The message to unpin; the most recent pin when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<MessageId>,
}
impl UnpinChatMessage {
    /// Unpin the most recent pin of `chat_id`.
    pub fn new(chat_id: impl Into<ChatId>) -> Self {
        Self {
            chat_id: chat_id.into(),
            message_id: None,
        }
    }
}
impl_method!(
    UnpinChatMessage,
    "unpinChatMessage",
    bool,
    idempotent = true,
    risk = Ordinary
);

macro_rules! chat_only_method {
    ($(#[$meta:meta])* $ty:ident, $name:literal, $output:ty) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[non_exhaustive]
        pub struct $ty {
            /// The chat.
            pub chat_id: ChatId,
        }
        impl $ty {
            /// The request for `chat_id`.
            pub fn new(chat_id: impl Into<ChatId>) -> Self {
                Self { chat_id: chat_id.into() }
            }
        }
        impl_method!($ty, $name, $output, idempotent = true, risk = Ordinary);
    };
}

chat_only_method!(
    /// `getChat` (Telegram's name; unverified on MPChat).
    GetChat, "getChat", crate::types::Chat
);
chat_only_method!(
    /// `getChatAdministrators` (Telegram's name; unverified on MPChat).
    GetChatAdministrators, "getChatAdministrators", Vec<ChatMember>
);
chat_only_method!(
    /// `getChatMemberCount` (Telegram's name; unverified on MPChat).
    GetChatMemberCount, "getChatMemberCount", u64
);

/// `leaveChat`: a high-risk controlled operation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LeaveChat {
    /// The chat to leave.
    pub chat_id: ChatId,
}
impl LeaveChat {
    /// Leave `chat_id`.
    pub fn new(chat_id: impl Into<ChatId>) -> Self {
        Self {
            chat_id: chat_id.into(),
        }
    }
}
impl_method!(
    LeaveChat,
    "leaveChat",
    bool,
    idempotent = true,
    risk = HighRisk
);

/// `getChatMember` (Telegram's name; unverified on MPChat).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GetChatMember {
    /// The chat.
    pub chat_id: ChatId,
    /// The member.
    pub user_id: UserId,
}
impl GetChatMember {
    /// Look up `user_id` in `chat_id`.
    pub fn new(chat_id: impl Into<ChatId>, user_id: impl Into<UserId>) -> Self {
        Self {
            chat_id: chat_id.into(),
            user_id: user_id.into(),
        }
    }
}
impl_method!(
    GetChatMember,
    "getChatMember",
    ChatMember,
    idempotent = true,
    risk = Ordinary
);

/// `banChatMember`: a high-risk controlled operation. On MPChat it **mutes** the member, who
/// stays in the chat, until `until_date` (0 or absent: until `unbanChatMember`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BanChatMember {
    /// The chat.
    pub chat_id: ChatId,
    /// The member to mute.
    pub user_id: UserId,
    /// Unix seconds the restriction ends; 0 or `None` for "until lifted".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_date: Option<i64>,
}
impl BanChatMember {
    /// Mute `user_id` in `chat_id` until lifted.
    pub fn new(chat_id: impl Into<ChatId>, user_id: impl Into<UserId>) -> Self {
        Self {
            chat_id: chat_id.into(),
            user_id: user_id.into(),
            until_date: None,
        }
    }
}
impl_method!(
    BanChatMember,
    "banChatMember",
    bool,
    idempotent = true,
    risk = HighRisk
);

/// `unbanChatMember`: lifts the restriction `banChatMember` set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UnbanChatMember {
    /// The chat.
    pub chat_id: ChatId,
    /// The member.
    pub user_id: UserId,
    /// Do nothing if the user is not restricted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_if_banned: Option<bool>,
}
impl UnbanChatMember {
    /// Lift the restriction on `user_id` in `chat_id`.
    pub fn new(chat_id: impl Into<ChatId>, user_id: impl Into<UserId>) -> Self {
        Self {
            chat_id: chat_id.into(),
            user_id: user_id.into(),
            only_if_banned: None,
        }
    }
}
impl_method!(
    UnbanChatMember,
    "unbanChatMember",
    bool,
    idempotent = true,
    risk = Ordinary
);

/// `deleteMessage`: a high-risk controlled operation (MPChat's "recall").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeleteMessage {
    /// The chat.
    pub chat_id: ChatId,
    /// The message.
    pub message_id: MessageId,
}
impl DeleteMessage {
    /// Delete `message_id` in `chat_id`.
    pub fn new(chat_id: impl Into<ChatId>, message_id: impl Into<MessageId>) -> Self {
        Self {
            chat_id: chat_id.into(),
            message_id: message_id.into(),
        }
    }
}
impl_method!(
    DeleteMessage,
    "deleteMessage",
    bool,
    idempotent = true,
    risk = HighRisk
);

/// `deleteMessages`: a high-risk controlled operation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeleteMessages {
    /// The chat.
    pub chat_id: ChatId,
    /// The messages.
    pub message_ids: Vec<MessageId>,
}
impl DeleteMessages {
    /// Delete `message_ids` in `chat_id`.
    pub fn new(chat_id: impl Into<ChatId>, message_ids: Vec<MessageId>) -> Self {
        Self {
            chat_id: chat_id.into(),
            message_ids,
        }
    }
}
impl_method!(
    DeleteMessages,
    "deleteMessages",
    bool,
    idempotent = true,
    risk = HighRisk
);

/// `logOut`: a high-risk controlled operation.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct LogOut {}
impl LogOut {
    /// The request.
    pub fn new() -> Self {
        Self {}
    }
}
impl_method!(LogOut, "logOut", bool, idempotent = true, risk = HighRisk);

/// `setMyCommands`: the bot's command menu.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SetMyCommands {
    /// The menu.
    pub commands: Vec<BotCommand>,
}
impl SetMyCommands {
    /// Replace the menu with `commands`.
    pub fn new(commands: Vec<BotCommand>) -> Self {
        Self { commands }
    }
}
impl_method!(
    SetMyCommands,
    "setMyCommands",
    bool,
    idempotent = true,
    risk = Ordinary
);

/// `getMyCommands`.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct GetMyCommands {}
impl GetMyCommands {
    /// The request.
    pub fn new() -> Self {
        Self {}
    }
}
impl_method!(
    GetMyCommands,
    "getMyCommands",
    Vec<BotCommand>,
    idempotent = true,
    risk = Ordinary
);

/// `deleteMyCommands`.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct DeleteMyCommands {}
impl DeleteMyCommands {
    /// The request.
    pub fn new() -> Self {
        Self {}
    }
}
impl_method!(
    DeleteMyCommands,
    "deleteMyCommands",
    bool,
    idempotent = true,
    risk = Ordinary
);

/// A file to send: a public URL MPChat fetches, or bytes uploaded as `multipart/form-data`.
/// MPChat has no `file_id` reuse, so these are the only two ways.
#[derive(Clone, PartialEq, Eq)]
pub enum InputFile {
    /// A public URL.
    Url(String),
    /// Bytes uploaded with the request.
    Upload {
        /// The file name sent in the part's `Content-Disposition`.
        file_name: String,
        /// The MIME type, e.g. `image/png`.
        mime: Option<String>,
        /// The content.
        bytes: Vec<u8>,
    },
}

impl InputFile {
    /// A file MPChat downloads from `url`.
    pub fn url(url: impl Into<String>) -> Self {
        Self::Url(url.into())
    }
    /// A file uploaded with the request.
    pub fn upload(file_name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        Self::Upload {
            file_name: file_name.into(),
            mime: None,
            bytes: bytes.into(),
        }
    }
}

impl fmt::Debug for InputFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Url(url) => f.debug_tuple("Url").field(url).finish(),
            // Never dump the bytes into a log line.
            Self::Upload {
                file_name,
                mime,
                bytes,
            } => f
                .debug_struct("Upload")
                .field("file_name", file_name)
                .field("mime", mime)
                .field("len", &bytes.len())
                .finish(),
        }
    }
}

impl Serialize for InputFile {
    /// A URL serializes as itself. An upload is never part of a JSON body: the client sends it as
    /// a file part of a multipart form and leaves this field out, so this writes `null`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Url(url) => s.serialize_str(url),
            Self::Upload { .. } => s.serialize_none(),
        }
    }
}

macro_rules! media_method {
    ($(#[$meta:meta])* $ty:ident, $name:literal, $field:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[non_exhaustive]
        pub struct $ty {
            /// Target chat.
            pub chat_id: ChatId,
            /// The file.
            #[serde(rename = $field)]
            pub media: InputFile,
            /// Caption.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub caption: Option<String>,
            /// `Markdown` or `HTML` for the caption.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub parse_mode: Option<String>,
            /// Inline keyboard.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub reply_markup: Option<InlineKeyboardMarkup>,
        }
        impl $ty {
            /// Send `media` to `chat_id`.
            pub fn new(chat_id: impl Into<ChatId>, media: InputFile) -> Self {
                Self { chat_id: chat_id.into(), media, caption: None, parse_mode: None, reply_markup: None }
            }
            /// Sets the caption.
            pub fn with_caption(mut self, caption: impl Into<String>) -> Self {
                self.caption = Some(caption.into());
                self
            }
        }
        impl_method!($ty, $name, Message, idempotent = false, risk = Ordinary, upload = $field);
    };
}

media_method!(
    /// `sendPhoto`: a public URL or a multipart upload (no `file_id` reuse on MPChat).
    SendPhoto, "sendPhoto", "photo"
);
media_method!(
    /// `sendDocument`: a public URL or a multipart upload.
    SendDocument, "sendDocument", "document"
);
media_method!(
    /// `sendVideo`: a public URL or a multipart upload.
    SendVideo, "sendVideo", "video"
);

#[cfg(test)]
mod tests {
    use super::*;

    fn risk<M: Method>() -> (&'static str, bool, bool) {
        (
            M::NAME,
            <M::Risk as RiskLevel>::IS_HIGH_RISK,
            is_high_risk(M::NAME),
        )
    }

    /// Exactly MPChat's seven high-risk operations carry `Risk = HighRisk` (which keeps them out
    /// of `Bot::execute`) and are named in `HIGH_RISK_METHODS` (which keeps them out of
    /// `Bot::call`).
    #[test]
    fn high_risk_types_and_names_agree() {
        let all = [
            risk::<GetMe>(),
            risk::<GetUpdates>(),
            risk::<GetWebhookInfo>(),
            risk::<SendMessage>(),
            risk::<EditMessageText>(),
            risk::<ForwardMessage>(),
            risk::<CopyMessage>(),
            risk::<PinChatMessage>(),
            risk::<UnpinChatMessage>(),
            risk::<GetChat>(),
            risk::<GetChatMember>(),
            risk::<GetChatAdministrators>(),
            risk::<GetChatMemberCount>(),
            risk::<SetMyCommands>(),
            risk::<GetMyCommands>(),
            risk::<DeleteMyCommands>(),
            risk::<SendPhoto>(),
            risk::<SendDocument>(),
            risk::<SendVideo>(),
            risk::<UnbanChatMember>(),
            risk::<SetWebhook>(),
            risk::<DeleteWebhook>(),
            risk::<LogOut>(),
            risk::<LeaveChat>(),
            risk::<DeleteMessage>(),
            risk::<DeleteMessages>(),
            risk::<BanChatMember>(),
        ];
        let mut high: Vec<&str> = Vec::new();
        for (name, typed_high, named_high) in all {
            assert_eq!(typed_high, named_high, "{name}");
            if typed_high {
                high.push(name);
            }
        }
        high.sort_unstable();
        let mut want = HIGH_RISK_METHODS.to_vec();
        want.sort_unstable();
        assert_eq!(high, want);
    }

    // Sends and getUpdates are not idempotent; reads and edits are. Checked at compile time.
    const _: () = assert!(!SendMessage::IDEMPOTENT && !GetUpdates::IDEMPOTENT);
    const _: () =
        assert!(!SendPhoto::IDEMPOTENT && !ForwardMessage::IDEMPOTENT && !CopyMessage::IDEMPOTENT);
    const _: () = assert!(GetMe::IDEMPOTENT && GetChat::IDEMPOTENT && EditMessageText::IDEMPOTENT);

    /// Only an upload makes a call multipart, under the parameter's name.
    #[test]
    fn upload_is_reported_only_for_bytes() {
        let url = SendPhoto::new(1, InputFile::url("https://x.example/a.png"));
        assert!(url.upload().is_none());
        let bytes = SendDocument::new(1, InputFile::upload("a.txt", b"x".to_vec()));
        assert_eq!(bytes.upload().map(|(field, _)| field), Some("document"));
        assert!(SendMessage::new(1, "x").upload().is_none());
    }
}
