//! The one error type of this crate.

use std::time::Duration;

/// Why the long poller stopped (or refused to start).
///
/// Every variant is a condition retrying cannot fix: transient faults (network errors, timeouts,
/// 5xx, 429, a short 409 overlap) are retried inside the poller and never surface here.
/// [`LongPolling`](crate::LongPolling) hands this error to the application wrapped in
/// [`mpbot_core::Error::Source`] (with `source_name` `"polling"`); downcast the inner error to
/// this type to ask it questions. The `Display` wording is meant for humans and is not stable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A webhook is set for this bot, so `getUpdates` cannot be used (MPChat answers 409).
    ///
    /// Found at start (`getWebhookInfo`) or after a 409 mid-run. The poller never deletes the
    /// webhook itself: `deleteWebhook` is a high-risk controlled operation on MPChat.
    #[error(
        "a webhook is set for this bot ({url}), and MPChat does not serve getUpdates while a \
         webhook is set. mpbot will not delete it by itself (deleteWebhook is a high-risk \
         controlled operation). Either keep the webhook and set delivery.mode = \"webhook\", or \
         remove it deliberately with `mpbot webhook delete --config FILE --confirm {confirm}` \
         and start polling again",
        confirm = username.as_deref().unwrap_or("<username>")
    )]
    WebhookSet {
        /// The webhook URL `getWebhookInfo` reported.
        url: String,
        /// The bot's username from `getMe`, used in the suggested `--confirm` argument.
        username: Option<String>,
    },
    /// `getMe` answered for a different bot than the configured `expect_username`.
    #[error(
        "this token belongs to @{actual}, but the configuration expects @{expected} \
         (bot.expect_username): refusing to act on another bot",
        actual = actual.as_deref().unwrap_or("<no username>")
    )]
    WrongBot {
        /// The configured `expect_username`.
        expected: String,
        /// The username `getMe` returned, if any.
        actual: Option<String>,
    },
    /// MPChat answered 401: the token is invalid or was revoked.
    #[error(
        "{method}: MPChat rejected the bot token (401): it is invalid or was revoked; \
         get a new token and update the token setting"
    )]
    Unauthorized {
        /// The method that was refused.
        method: String,
    },
    /// `getUpdates` kept answering 409 with no webhook set for longer than the configured
    /// `conflict_overlap`: another process is polling with the same token.
    #[error(
        "getUpdates kept answering 409 (conflict) for {secs} s with no webhook set: another \
         poller is using this bot token (is a second instance running?)",
        secs = window.as_secs()
    )]
    ConflictPersisted {
        /// How long the conflict lasted before the poller gave up (at least `conflict_overlap`).
        window: Duration,
    },
    /// The options are out of range; the message names the option and the allowed values.
    #[error("invalid polling option `{key}`: {reason}")]
    InvalidOptions {
        /// The option: the last part of its TOML key (`"timeout_secs"`, `"limit"`,
        /// `"allowed_updates"`, `"expect_username"`) or, for options without one, the field
        /// path (`"backoff.initial"`).
        key: &'static str,
        /// What is wrong and what is allowed.
        reason: String,
    },
    /// MPChat answered with an error retrying cannot fix (400, 403, 404, 501, 50001, ...), or a
    /// start-up call failed that way.
    #[error("the Bot API refused a polling call: {0}")]
    Api(#[from] mpbot_api::Error),
}

impl Error {
    /// Whether a webhook is set for the bot (see [`Error::WebhookSet`]).
    pub fn is_webhook_set(&self) -> bool {
        matches!(self, Self::WebhookSet { .. })
    }

    /// The URL of the webhook that blocks polling, if that is the error.
    pub fn webhook_url(&self) -> Option<&str> {
        match self {
            Self::WebhookSet { url, .. } => Some(url),
            _ => None,
        }
    }

    /// Whether the token is invalid or revoked (401).
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, Self::Unauthorized { .. })
    }

    /// Whether another poller kept the token busy past the overlap window.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::ConflictPersisted { .. })
    }

    /// Whether the options were rejected before anything was called.
    pub fn is_invalid_options(&self) -> bool {
        matches!(self, Self::InvalidOptions { .. })
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins that the webhook-set message names the URL and the deliberate way out.
    #[test]
    fn webhook_set_message_names_url_and_cli_command() {
        let error = Error::WebhookSet {
            url: "https://bot.example.com/hook".into(),
            username: Some("demo_bot".into()),
        };
        let text = error.to_string();
        assert!(text.contains("https://bot.example.com/hook"), "{text}");
        assert!(
            text.contains("mpbot webhook delete --config FILE --confirm demo_bot"),
            "{text}"
        );
        assert_eq!(error.webhook_url(), Some("https://bot.example.com/hook"));
        assert!(error.is_webhook_set());
    }

    /// Pins that the wrong-bot message names both usernames.
    #[test]
    fn wrong_bot_message_names_both_bots() {
        let text = Error::WrongBot {
            expected: "prod_bot".into(),
            actual: Some("test_bot".into()),
        }
        .to_string();
        assert!(
            text.contains("@prod_bot") && text.contains("@test_bot"),
            "{text}"
        );
    }
}
