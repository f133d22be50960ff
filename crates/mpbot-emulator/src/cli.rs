//! The command line of the `mpbot-emulator` binary, shared with `mpbot emulator` so both accept
//! the same flags.
//!
//! ```no_run
//! # async fn demo() -> Result<(), mpbot_emulator::Error> {
//! use clap::Parser;
//! use mpbot_emulator::cli::Args;
//!
//! #[derive(Parser)]
//! struct Cli {
//!     #[command(flatten)]
//!     args: Args,
//! }
//!
//! let cli = Cli::parse_from(["emulator", "--listen", "127.0.0.1:0"]);
//! let stop = async { tokio::signal::ctrl_c().await.ok(); };
//! mpbot_emulator::cli::run(cli.args, &mut std::io::stdout(), stop).await?;
//! # Ok(())
//! # }
//! ```

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::tls::TestCa;
use crate::{DEFAULT_RATE_LIMIT, Emulator, Error};

/// The prefix of the ready line: `mpbot-emulator listening on http://127.0.0.1:PORT/bot`.
pub const READY_PREFIX: &str = "mpbot-emulator listening on ";

/// The emulator's flags (and its `gen-tls` subcommand).
#[derive(Debug, Clone, clap::Args)]
#[non_exhaustive]
pub struct Args {
    /// What to do instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    /// A bot as TOKEN or TOKEN=USERNAME (repeatable). Default: 123456:TEST-TOKEN=demo_bot.
    #[arg(long = "bot", value_name = "TOKEN[=USERNAME]")]
    pub bots: Vec<String>,
    /// A PEM root certificate to trust when calling HTTPS webhooks (repeatable).
    #[arg(long = "trust-ca", value_name = "PEM")]
    pub trust_ca: Vec<PathBuf>,
    /// Let setWebhook accept http:// URLs (development only).
    #[arg(long)]
    pub allow_http_webhooks: bool,
    /// Requests per second per token (429 with retry_after beyond it), or `off`.
    #[arg(long, value_name = "N|off", default_value_t = RateLimit(Some(DEFAULT_RATE_LIMIT)))]
    pub rate_limit: RateLimit,
}

/// The emulator's subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
#[non_exhaustive]
pub enum Command {
    /// Write a test CA and a server certificate and key signed by it (PEM files).
    GenTls {
        /// Directory to write ca-cert.pem, server-cert.pem and server-key.pem into.
        #[arg(long)]
        out: PathBuf,
        /// Extra subject alternative name besides localhost and 127.0.0.1 (repeatable).
        #[arg(long = "host")]
        hosts: Vec<String>,
    },
}

/// `--rate-limit`: a positive number of requests per second per token, or `off` (`None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit(pub Option<u32>);

impl std::fmt::Display for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(n) => write!(f, "{n}"),
            None => f.write_str("off"),
        }
    }
}

impl std::str::FromStr for RateLimit {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        if value.eq_ignore_ascii_case("off") {
            return Ok(Self(None));
        }
        match value.parse::<u32>() {
            Ok(n) if n > 0 => Ok(Self(Some(n))),
            _ => Err(format!("must be a positive number or `off`, not {value:?}")),
        }
    }
}

/// Runs the command line: `gen-tls` writes the PEM files; otherwise the emulator starts, the
/// ready line ([`READY_PREFIX`] and the API URL) is written to `out`, and it serves until
/// `stop` resolves, then shuts down.
///
/// # Errors
/// What [`crate::EmulatorBuilder::start`], [`TestCa::generate`] and [`TestCa::write_to`]
/// return; [`Error::Io`] when a `--trust-ca` file cannot be read or the ready line cannot be
/// written.
pub async fn run(
    args: Args,
    out: &mut (dyn Write + Send),
    stop: impl Future<Output = ()>,
) -> Result<(), Error> {
    if let Some(Command::GenTls { out: dir, hosts }) = &args.command {
        let hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
        TestCa::generate(&hosts)?.write_to(dir)?;
        tracing::info!(dir = %dir.display(), "wrote ca-cert.pem, server-cert.pem, server-key.pem");
        return Ok(());
    }
    let mut builder = Emulator::builder()
        .listen(args.listen)
        .allow_http_webhooks(args.allow_http_webhooks)
        .rate_limit(args.rate_limit.0);
    for bot in &args.bots {
        let (token, username) = match bot.split_once('=') {
            Some((token, username)) => (token.to_owned(), username.to_owned()),
            None => {
                let id = token_id(bot);
                (bot.clone(), format!("bot{id}_bot"))
            }
        };
        builder = builder.bot(token, username);
    }
    for path in &args.trust_ca {
        let pem =
            std::fs::read(path).map_err(|e| Error::Io(format!("reading {}", path.display()), e))?;
        builder = builder.trust_ca_pem(&pem);
    }
    let emulator = builder.start().await?;
    let ready = writeln!(out, "{READY_PREFIX}{}", emulator.api_url()).and_then(|()| out.flush());
    if let Err(e) = ready {
        emulator.shutdown().await;
        return Err(Error::Io("writing the ready line".into(), e));
    }
    stop.await;
    emulator.shutdown().await;
    Ok(())
}

fn token_id(token: &str) -> String {
    token
        .split_once(':')
        .map_or_else(|| "x".to_owned(), |(id, _)| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_parses_numbers_and_off_and_refuses_the_rest() {
        assert_eq!("off".parse::<RateLimit>(), Ok(RateLimit(None)));
        assert_eq!("OFF".parse::<RateLimit>(), Ok(RateLimit(None)));
        assert_eq!("7".parse::<RateLimit>(), Ok(RateLimit(Some(7))));
        assert!("0".parse::<RateLimit>().is_err());
        assert!("fast".parse::<RateLimit>().is_err());
        assert_eq!(RateLimit(Some(30)).to_string(), "30");
    }
}
