//! The one error type of this crate.

use std::path::PathBuf;

use mpbot_api::BoxError;

/// Why the webhook listener could not start or had to stop.
///
/// Ask it questions ([`Error::is_config`], [`Error::is_tls`], [`Error::is_io`],
/// [`Error::is_registration`]) instead of matching on its text: the wording and the concrete
/// types behind [`std::error::Error::source`] are not stable.
///
/// Bad requests never produce an `Error`: the listener answers them with a status code and logs
/// them; an `Error` is always about the listener itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The options are invalid (no secret without `allow_missing_secret`, a `public_url` that
    /// is not HTTPS, a registration that needs a bot client but has none, a zero limit).
    #[error("webhook config: {key}: {reason}")]
    Config {
        /// The option at fault, named as in the TOML (`public_url`, `secret_token`, ...).
        key: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Binding or configuring the listening socket failed (address in use, no permission).
    #[error("webhook listener: {context}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The TLS certificate or key could not be loaded, or they do not belong together.
    #[error("webhook TLS: {path}: {reason}")]
    Tls {
        /// The file at fault (the certificate or the key).
        path: PathBuf,
        /// What is wrong.
        reason: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<BoxError>,
    },
    /// Registering or verifying the webhook with MPChat failed: `setWebhook` or
    /// `getWebhookInfo` failed, or `register = "verify"` found no webhook set at all, or
    /// `on_stop = "delete"` could not delete it.
    #[error("webhook registration: {reason}")]
    Registration {
        /// What went wrong (never the secret, never the token).
        reason: String,
        /// The Bot API error, when there is one (an `mpbot_api::Error`).
        #[source]
        source: Option<BoxError>,
    },
}

impl Error {
    /// Whether the options were invalid (fix the configuration; retrying will not help).
    pub fn is_config(&self) -> bool {
        matches!(self, Self::Config { .. })
    }

    /// Whether the certificate or key could not be loaded.
    pub fn is_tls(&self) -> bool {
        matches!(self, Self::Tls { .. })
    }

    /// Whether the socket could not be bound or set up.
    pub fn is_io(&self) -> bool {
        matches!(self, Self::Io { .. })
    }

    /// Whether registering, verifying or deleting the webhook with MPChat failed.
    pub fn is_registration(&self) -> bool {
        matches!(self, Self::Registration { .. })
    }

    pub(crate) fn config(key: &'static str, reason: impl Into<String>) -> Self {
        Self::Config {
            key,
            reason: reason.into(),
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn registration(reason: impl Into<String>, source: Option<BoxError>) -> Self {
        Self::Registration {
            reason: reason.into(),
            source,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins that each query answers for its own variant only.
    #[test]
    fn queries_match_their_variant() {
        let config = Error::config("public_url", "not https");
        assert!(config.is_config() && !config.is_tls() && !config.is_io());
        let io = Error::io("bind", std::io::Error::other("x"));
        assert!(io.is_io() && !io.is_config());
        let reg = Error::registration("no webhook", None);
        assert!(reg.is_registration() && !reg.is_config());
        let tls = Error::Tls {
            path: "cert.pem".into(),
            reason: "empty".into(),
            source: None,
        };
        assert!(tls.is_tls() && !tls.is_registration());
    }
}
