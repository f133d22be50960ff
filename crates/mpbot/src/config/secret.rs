//! Secrets that print as a mask, and where they came from.

use std::fmt;
use std::path::PathBuf;

/// A secret string (the webhook secret token). `Debug` and `Display` print `***`; the value is
/// reachable only through [`Secret::expose`].
///
/// Its `PartialEq` is an ordinary comparison, for tests and config diffs; checking a request's
/// header against it must use a constant-time comparison (the webhook listener compares
/// fixed-size digests).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub(crate) fn new(value: String) -> Self {
        Self(value)
    }

    /// The secret itself. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where a secret was read from (safe to show: a variable's name or a file's path, never the
/// value).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretSource {
    /// An environment variable, by name.
    Env(String),
    /// A file (resolved against the config file's directory), whose content was trimmed.
    File(PathBuf),
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(var) => write!(f, "env {var}"),
            Self::File(path) => write!(f, "file {}", path.display()),
        }
    }
}
