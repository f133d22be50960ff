//! The one error type of this crate.

/// A boxed error from a lower layer. Its concrete type and wording are not part of this API.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong starting or driving the emulator.
///
/// The `Display` wording is not stable; ask [`Error::is_bind`] and friends instead of matching it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The listen address could not be bound (in use, not local, no permission).
    #[error("could not bind {addr}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A certificate given to trust (`--trust-ca`, [`crate::EmulatorBuilder::trust_ca_pem`]) is
    /// not a PEM certificate, or the webhook HTTP client could not be built with it.
    #[error("invalid trusted CA certificate or TLS setup")]
    Tls(#[source] BoxError),
    /// A test CA could not be generated or written.
    #[error("could not generate or write the test CA: {0}")]
    GenTls(String, #[source] Option<BoxError>),
    /// A raw update pushed through the control API or [`crate::BotHandle::push_update`] was
    /// not a JSON object, or its `update_id` was not an integer.
    #[error("invalid update: {0}")]
    InvalidUpdate(String),
    /// A bot given to the builder has an empty token or one with characters that cannot sit
    /// in a URL path (`/`, `?`, `#`, `%`, whitespace).
    #[error("invalid bot token")]
    InvalidToken,
    /// A file the command line names could not be read, or its output could not be written
    /// (see [`crate::cli::run`]); the string says what was being done.
    #[error("{0}")]
    Io(String, #[source] std::io::Error),
}

impl Error {
    /// Whether binding the listen address failed.
    pub fn is_bind(&self) -> bool {
        matches!(self, Self::Bind { .. })
    }

    /// Whether a TLS setting (trusted CA, generated CA) was the problem.
    pub fn is_tls(&self) -> bool {
        matches!(self, Self::Tls(_) | Self::GenTls(..))
    }

    /// Whether the caller passed something invalid (update JSON, token).
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, Self::InvalidUpdate(_) | Self::InvalidToken)
    }
}
