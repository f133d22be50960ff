//! [`ConfigError`]: every way a configuration can be wrong, each naming where.

use std::error::Error as StdError;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where a configuration value came from: a place in a file, a whole file, or an environment
/// variable that overrides a key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// A line and column (both 1-based, the column counted in characters) in a config file.
    File {
        /// The file as it was named to [`Config::from_file`](super::Config::from_file) (or the
        /// origin name given to [`Config::from_str`](super::Config::from_str)).
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
    },
    /// The file as a whole (the key is absent from it, or the file cannot be read).
    WholeFile {
        /// The file.
        path: PathBuf,
    },
    /// An environment variable (a deployment override such as `MPBOT_DELIVERY_MODE`, or the
    /// variable that should hold a secret).
    Env {
        /// The variable's name.
        var: String,
    },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File { path, line, column } => write!(f, "{}:{line}:{column}", path.display()),
            Self::WholeFile { path } => write!(f, "{}", path.display()),
            Self::Env { var } => write!(f, "environment variable {var}"),
        }
    }
}

/// What kind of mistake a [`ConfigError`] reports. Match on this rather than on the message,
/// whose wording is not stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The config file could not be read.
    Io,
    /// The file is not valid TOML.
    Syntax,
    /// A key the table does not have (the message suggests the closest valid one).
    UnknownKey,
    /// A value of the wrong TOML type (a string where an integer belongs, ...).
    WrongType,
    /// A number outside its documented range.
    OutOfRange,
    /// A key that is required (in the chosen mode) is absent.
    MissingKey,
    /// A secret was written inline in the file (`token = "..."`); secrets come from the
    /// environment or a file.
    InlineSecret,
    /// The environment variable or file that should hold a secret is unset, unreadable or
    /// empty.
    MissingSecret,
    /// A secret was found but cannot be used (bad characters, wrong length).
    InvalidSecret,
    /// A string that must be one of a fixed set of values is not (the message lists them).
    UnknownValue,
    /// A value of the right type that is not usable (a malformed URL or socket address, an
    /// `http://` webhook URL, ...).
    InvalidValue,
    /// Two settings that cannot both hold (the admin listener on the webhook's address,
    /// `token_env` and `token_file` both set, ...).
    Conflict,
    /// A `[plugins.NAME]` table names a plugin the application did not register.
    UnknownPlugin,
    /// A plugin refused its own `[plugins.NAME]` table.
    Plugin,
}

/// A configuration error. Its `Display` names the place (`file:line:column`, or the
/// environment variable that overrode the key), the key as a dotted path
/// (`delivery.polling.timeout_secs`) and what is wrong. It never contains a secret's value.
///
/// ```text
/// bot.toml:12:1: `delivery.polling.timout_secs`: unknown key `timout_secs` in [delivery.polling]; did you mean `timeout_secs`? (valid keys: ...)
/// environment variable MPBOT_DELIVERY_MODE (overrides `delivery.mode`): unknown value "hook"; expected one of "polling", "webhook"
/// ```
///
/// The wording of the message and the concrete type of [`source`](StdError::source) are not
/// stable; use [`kind`](Self::kind), [`key`](Self::key) and [`location`](Self::location).
#[derive(Debug)]
pub struct ConfigError {
    kind: ConfigErrorKind,
    location: Location,
    key: Option<String>,
    message: String,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl ConfigError {
    pub(crate) fn new(
        kind: ConfigErrorKind,
        location: Location,
        key: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            location,
            key,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// What kind of mistake this is.
    pub fn kind(&self) -> ConfigErrorKind {
        self.kind
    }

    /// Where the offending value is (or would be).
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The key as a dotted path (`delivery.polling.timeout_secs`), when the error is about one.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The config file, unless the error comes from an environment variable.
    pub fn file(&self) -> Option<&Path> {
        match &self.location {
            Location::File { path, .. } | Location::WholeFile { path } => Some(path),
            Location::Env { .. } => None,
        }
    }

    /// The 1-based line in the file, when the error points into it.
    pub fn line(&self) -> Option<usize> {
        match self.location {
            Location::File { line, .. } => Some(line),
            _ => None,
        }
    }

    /// The 1-based column (in characters), when the error points into the file.
    pub fn column(&self) -> Option<usize> {
        match self.location {
            Location::File { column, .. } => Some(column),
            _ => None,
        }
    }

    /// The environment variable the error is about (an override, or a secret's variable).
    pub fn env_var(&self) -> Option<&str> {
        match &self.location {
            Location::Env { var } => Some(var),
            _ => None,
        }
    }

    /// The explanation alone, without place and key.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.location, &self.key) {
            (Location::Env { var }, Some(key)) => {
                write!(f, "environment variable {var} (overrides `{key}`): ")?;
            }
            (location, Some(key)) => write!(f, "{location}: `{key}`: ")?,
            (location, None) => write!(f, "{location}: ")?,
        }
        f.write_str(&self.message)
    }
}

impl StdError for ConfigError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}
