use serde::{Deserialize, Serialize};

use super::Extra;
use crate::UserId;

/// A user or a bot.
///
/// MPChat's `getMe` shows only `id`, `is_bot` and `username` (no `first_name`, which Telegram
/// requires), so every field but `id` is optional.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct User {
    /// The user's id.
    pub id: UserId,
    /// Whether this is a bot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_bot: Option<bool>,
    /// First name, when MPChat sends one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name, when MPChat sends one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Username without `@`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// IETF language tag of the user's client, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_code: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl User {
    /// A user with only an id.
    pub fn new(id: impl Into<UserId>) -> Self {
        Self {
            id: id.into(),
            ..Self::default()
        }
    }

    /// The best name to greet the user with: first name, else `@username`, else the id.
    pub fn display_name(&self) -> String {
        match (&self.first_name, &self.username) {
            (Some(first), _) => first.clone(),
            (None, Some(username)) => format!("@{username}"),
            (None, None) => self.id.to_string(),
        }
    }
}
