use serde::{Deserialize, Serialize};

use super::wire_object;

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

wire_object! {
    /// One inline button. MPChat documents the `web_app` kind; `url` and `callback_data` are
    /// Telegram's and unverified on MPChat.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct InlineKeyboardButton {
        required {
            /// The label.
            text: String = "text",
        }
        optional {
            /// Opens a MiniApp: MPChat matches `url` against the bot's MiniApp `entryUrl`.
            web_app: WebAppInfo = "web_app",
            /// Opens a link (Telegram's; unverified on MPChat).
            url: String = "url",
            /// Sends a callback query (Telegram's; unverified on MPChat).
            callback_data: String = "callback_data",
        }
        /// Fields this version does not model.
        extra
    }
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
