//! The one error type of this crate.

use mpbot_api::BoxError;

use crate::sink::Refused;

/// What stopped a source, the dispatcher or a plugin's set-up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A source hit a condition it cannot recover from. The inner error is the source crate's
    /// own (`mpbot_poller::Error`, `mpbot_webhook::Error`) and can be downcast.
    #[error("{source_name} source stopped: {error}")]
    Source {
        /// `SourceInfo::name` of the source.
        source_name: &'static str,
        /// The source's error.
        #[source]
        error: BoxError,
    },
    /// The sink refused an update the source could not give back.
    #[error("the sink refused an update: {0}")]
    Refused(#[from] Refused),
    /// A plugin's configuration or registration failed.
    #[error("plugin {plugin}: {reason}")]
    Plugin {
        /// The plugin's name.
        plugin: String,
        /// What is wrong, naming the key when it is a config problem.
        reason: String,
    },
}

impl Error {
    /// Wraps a source crate's fatal error.
    pub fn source(source_name: &'static str, error: impl Into<BoxError>) -> Self {
        Self::Source {
            source_name,
            error: error.into(),
        }
    }

    /// Wraps a refusal (a convenience for `map_err`).
    pub fn refused(refused: Refused) -> Self {
        Self::Refused(refused)
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
