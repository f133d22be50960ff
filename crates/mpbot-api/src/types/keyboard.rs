use serde::{Deserialize, Serialize};

use super::Extra;

/// An inline keyboard attached to a message: rows of buttons.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InlineKeyboardMarkup {
    /// The rows, each an array of buttons.
    pub inline_keyboard: Vec<Vec<InlineKeyboardButton>>,
}

impl InlineKeyboardMarkup {
    /// A keyboard with the given rows.
    pub fn new(rows: Vec<Vec<InlineKeyboardButton>>) -> Self {
        Self {
            inline_keyboard: rows,
        }
    }
}

/// One inline button. MPChat documents the `web_app` kind; `url` and `callback_data` are
/// Telegram's and unverified on MPChat.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InlineKeyboardButton {
    /// The label.
    pub text: String,
    /// Opens a MiniApp: MPChat matches `url` against the bot's MiniApp `entryUrl`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_app: Option<WebAppInfo>,
    /// Opens a link (Telegram's; unverified on MPChat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Sends a callback query (Telegram's; unverified on MPChat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_data: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl InlineKeyboardButton {
    /// A button that opens the MiniApp at `url`.
    pub fn web_app(text: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            web_app: Some(WebAppInfo { url: url.into() }),
            ..Self::default()
        }
    }
}

/// The MiniApp a button opens.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WebAppInfo {
    /// The MiniApp's entry URL (or a URL whose last path segment is its short name).
    pub url: String,
}
