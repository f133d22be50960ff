//! The bot token as a secret type.

use std::fmt;

/// A bot token. Its `Debug` and `Display` print a mask (`BotToken(123456:***)`), never the
/// secret, so a stray `?config` in a log line cannot leak it.
///
/// The token is the only authentication MPChat has: whoever holds it controls the bot. Read it
/// only through [`BotToken::expose`], and only to build a request path that is never logged.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BotToken(String);

/// Why a string is not a usable token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidToken {
    /// The token is empty.
    #[error("the bot token is empty")]
    Empty,
    /// The token holds a character that would change the request path (`/`, `?`, `#`, `%`,
    /// whitespace or a control character).
    #[error("the bot token contains a character not allowed in a URL path segment")]
    BadCharacter,
}

impl BotToken {
    /// Wraps a token after checking it can sit in a URL path segment as is.
    ///
    /// # Errors
    /// [`InvalidToken`] when it is empty or holds `/`, `?`, `#`, `%`, whitespace or a control
    /// character. The error never contains the token.
    pub fn new(token: impl Into<String>) -> Result<Self, InvalidToken> {
        let token = token.into();
        let token = token.trim();
        if token.is_empty() {
            return Err(InvalidToken::Empty);
        }
        if token
            .chars()
            .any(|c| matches!(c, '/' | '?' | '#' | '%') || c.is_whitespace() || c.is_control())
        {
            return Err(InvalidToken::BadCharacter);
        }
        Ok(Self(token.to_owned()))
    }

    /// The secret itself. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The bot id: the digits before `:` when the token has Telegram's `<digits>:<secret>` shape.
    /// That part is public (it is the bot's user id), so it is safe to show.
    pub fn bot_id(&self) -> Option<i64> {
        let (id, _) = self.0.split_once(':')?;
        id.parse().ok()
    }
}

impl fmt::Debug for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BotToken({self})")
    }
}

impl fmt::Display for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.bot_id() {
            Some(id) => write!(f, "{id}:***"),
            None => f.write_str("***"),
        }
    }
}

impl std::str::FromStr for BotToken {
    type Err = InvalidToken;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_masked_in_debug_and_display() {
        let token = BotToken::new("123456:SECRET-PART").unwrap();
        assert_eq!(format!("{token}"), "123456:***");
        assert_eq!(format!("{token:?}"), "BotToken(123456:***)");
        let opaque = BotToken::new("your_mpbot_token_here").unwrap();
        assert_eq!(format!("{opaque:?}"), "BotToken(***)");
        assert!(!format!("{opaque} {opaque:?}").contains("your_mpbot_token_here"));
    }

    #[test]
    fn token_rejects_path_changing_characters() {
        for bad in ["", "  ", "12/34", "a?b", "a#b", "a b", "a%2F"] {
            assert!(BotToken::new(bad).is_err(), "{bad:?}");
        }
        assert_eq!(BotToken::new(" 1:x ").unwrap().expose(), "1:x");
    }
}
