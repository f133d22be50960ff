use super::wire_object;
use crate::UserId;

wire_object! {
    /// A user or a bot.
    ///
    /// MPChat's `getMe` shows only `id`, `is_bot` and `username` (no `first_name`, which Telegram
    /// requires), so every field but `id` is optional.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct User {
        required {
            /// The user's id.
            id: UserId = "id",
        }
        optional {
            /// Whether this is a bot.
            is_bot: bool = "is_bot",
            /// First name, when MPChat sends one.
            first_name: String = "first_name",
            /// Last name, when MPChat sends one.
            last_name: String = "last_name",
            /// Username without `@`.
            username: String = "username",
            /// IETF language tag of the user's client, when sent.
            language_code: String = "language_code",
        }
        /// Fields this version does not model.
        extra
    }
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
