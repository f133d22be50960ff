//! The one error type of this crate.

use crate::Exit;

/// A boxed error from a lower layer; its concrete type and wording are not stable.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a command failed. [`crate::run`] prints it (with its `source()` chain) and exits with
/// [`Error::exit`]. No variant carries the token or the webhook secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The config file cannot be read or is invalid.
    #[error(transparent)]
    Config(#[from] mpbot::config::ConfigError),
    /// MPChat (or the network on the way) answered an error.
    #[error(transparent)]
    Remote(#[from] mpbot_api::Error),
    /// A guard refused the command; the string says why and what to do.
    #[error("refused: {0}")]
    Refused(String),
    /// The bot (`mpbot run`) could not start or stopped with an error.
    #[error(transparent)]
    Bot(#[from] mpbot::Error),
    /// A local operation failed (writing output, reading a file the command line names).
    #[error("{0}")]
    Io(String, #[source] std::io::Error),
    /// The emulator could not start.
    #[error("{0}")]
    Failed(String, #[source] BoxError),
    /// The journal could not be read or written: damaged, not a journal, cannot be opened
    /// (the message names the file and what to do), or locked by a running bot.
    #[error(transparent)]
    Journal(#[from] mpbot_journal::Error),
    /// There is no journal where the config (or `--dir`) points.
    #[error(
        "no journal at {}: the bot creates it when it first starts with delivery.ack = \"stored\"; \
         check {origin}",
        path.display()
    )]
    NoJournal {
        /// The database file that is missing.
        path: std::path::PathBuf,
        /// Where the path came from, as advice (`[delivery.journal] path in bot.toml`, `--dir`).
        origin: String,
    },
}

impl Error {
    /// The documented exit code for this error.
    pub fn exit(&self) -> Exit {
        match self {
            Self::Config(_) => Exit::Config,
            Self::Remote(_) => Exit::Remote,
            Self::Refused(_) => Exit::Refused,
            Self::Bot(e) => bot_exit(e),
            Self::Io(..) | Self::Failed(..) => Exit::Failure,
            Self::Journal(e) => journal_exit(e),
            Self::NoJournal { .. } => Exit::Journal,
        }
    }

    /// Whether a guard refused the command.
    pub fn is_refused(&self) -> bool {
        matches!(self, Self::Refused(_))
    }

    /// Whether the config was the problem.
    pub fn is_config(&self) -> bool {
        matches!(self, Self::Config(_))
    }
}

/// A journal error, classified: locked by a running bot (4: a guard of sorts, stop the bot),
/// the file missing, damaged or unopenable (8), anything else (1).
fn journal_exit(error: &mpbot_journal::Error) -> Exit {
    use mpbot_journal::Error as J;
    match error {
        J::Locked { .. } => Exit::Refused,
        J::Corrupt { .. } | J::Open { .. } | J::Payload { .. } => Exit::Journal,
        _ => Exit::Failure,
    }
}

/// `mpbot run`'s error, classified: the config's fault (3), MPChat's answer (5: bad token, a
/// webhook registered while polling, another poller, a refused registration), or a local
/// failure (1: a port in use, ...).
fn bot_exit(error: &mpbot::Error) -> Exit {
    use mpbot::framework::Error as Runtime;
    if error.is_config() {
        return Exit::Config;
    }
    match error {
        mpbot::Error::Api(_) => Exit::Remote,
        mpbot::Error::Runtime(Runtime::Plugin { .. }) => Exit::Config,
        mpbot::Error::Runtime(Runtime::Source { error, .. }) => {
            if let Some(e) = error.downcast_ref::<mpbot::poller::Error>() {
                match e {
                    mpbot::poller::Error::InvalidOptions { .. }
                    | mpbot::poller::Error::WrongBot { .. } => Exit::Config,
                    _ => Exit::Remote,
                }
            } else if let Some(e) = error.downcast_ref::<mpbot::webhook::Error>() {
                if e.is_config() || e.is_tls() {
                    Exit::Config
                } else if e.is_registration() {
                    Exit::Remote
                } else {
                    Exit::Failure
                }
            } else {
                Exit::Failure
            }
        }
        _ => Exit::Failure,
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Self::Io("writing output".into(), e)
    }
}
