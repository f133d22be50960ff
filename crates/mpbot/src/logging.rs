//! Installs a `tracing` subscriber from the `[log]` table, for binaries and examples.
//!
//! Libraries only emit; a program calls [`init`] once at start. `log.format = "text"` (the
//! default) writes human-readable lines, `"json"` one JSON object per line with the current
//! span and the span list (so every line of an update carries `update_id` and `kind`).
//! `RUST_LOG`, when set, overrides `log.level`. Samples of both formats are in
//! `docs/operations.md`.
//!
//! ```no_run
//! let config = mpbot::config::Config::from_file("bot.toml")?;
//! mpbot::logging::init(&config.log)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::Error;
use crate::config::{LogFormat, LogSettings};

/// A subscriber for `settings`, writing to `writer` (a file, a buffer in tests), without
/// terminal colours. `RUST_LOG`, when set and valid, replaces `settings.level`.
///
/// # Errors
/// [`Error::Logging`] when the level is not a valid filter.
pub fn subscriber<W>(
    settings: &LogSettings,
    writer: W,
) -> Result<Box<dyn tracing::Subscriber + Send + Sync>, Error>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    build(settings, writer, false)
}

fn build<W>(
    settings: &LogSettings,
    writer: W,
    ansi: bool,
) -> Result<Box<dyn tracing::Subscriber + Send + Sync>, Error>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => EnvFilter::try_new(directives),
        _ => EnvFilter::try_new(&settings.level),
    }
    .map_err(|e| Error::Logging(format!("invalid log level: {e}")))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer);
    Ok(match settings.format {
        LogFormat::Json => Box::new(
            builder
                .json()
                .with_current_span(true)
                .with_span_list(true)
                .finish(),
        ),
        _ => Box::new(builder.finish()),
    })
}

/// Installs the [`subscriber`] for `settings` on stderr as the process's global subscriber
/// (text with colours when stderr is a terminal).
///
/// # Errors
/// [`Error::Logging`] when the level is invalid or a global subscriber is already installed.
pub fn init(settings: &LogSettings) -> Result<(), Error> {
    use std::io::IsTerminal;
    let subscriber = build(settings, std::io::stderr, std::io::stderr().is_terminal())?;
    tracing::subscriber::set_global_default(subscriber)
        .map_err(|e| Error::Logging(format!("a log subscriber is already installed: {e}")))
}
