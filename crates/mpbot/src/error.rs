//! The facade's error type.

use crate::config::ConfigError;

/// Why a bot could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration (file, environment, or a plugin's table) is unusable; it names the
    /// file, line and key.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A start-up call to MPChat failed (`getMe`, building the client).
    #[error("could not start: {0}")]
    Api(#[from] mpbot_api::Error),
    /// The token belongs to another bot than `bot.expect_username` names.
    #[error(
        "the token belongs to @{actual}, but bot.expect_username is {expected:?}: \
         fix the token or the config before this bot acts as another"
    )]
    WrongBot {
        /// The configured username.
        expected: String,
        /// What `getMe` answered.
        actual: String,
    },
    /// The update source or the dispatcher stopped with an error (a webhook set while polling,
    /// a revoked token, a port in use, ...).
    #[error(transparent)]
    Runtime(#[from] mpbot_core::Error),
    /// The durable journal (`delivery.ack = "stored"`) could not be opened or run: corrupt,
    /// locked by another bot, or not writable. The message names the file and what to do.
    #[error("journal: {0}")]
    Journal(#[source] mpbot_journal::Error),
    /// The log subscriber could not be installed (an invalid level, or one already installed).
    #[error("{0}")]
    Logging(String),
    /// The admin listener could not bind its address.
    #[error("could not bind the admin listener on {addr}: {source}")]
    AdminBind {
        /// The address.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Whether the configuration is at fault (a fix in the TOML or the environment).
    pub fn is_config(&self) -> bool {
        matches!(self, Self::Config(_) | Self::WrongBot { .. })
    }
}
