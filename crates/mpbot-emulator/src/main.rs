//! `mpbot-emulator`: serve the emulated MPChat Bot API, or generate a test CA (`gen-tls`).
//!
//! stdout carries exactly one line, the ready line; every log goes to stderr.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mpbot_emulator::{DEFAULT_RATE_LIMIT, Emulator, tls::TestCa};

/// A protocol-faithful MPChat Bot API server with a control API under /_emulator/.
#[derive(Debug, Parser)]
#[command(name = "mpbot-emulator", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// A bot as TOKEN or TOKEN=USERNAME (repeatable). Default: 123456:TEST-TOKEN=demo_bot.
    #[arg(long = "bot", value_name = "TOKEN[=USERNAME]")]
    bots: Vec<String>,
    /// A PEM root certificate to trust when calling HTTPS webhooks (repeatable).
    #[arg(long = "trust-ca", value_name = "PEM")]
    trust_ca: Vec<PathBuf>,
    /// Let setWebhook accept http:// URLs (development only).
    #[arg(long)]
    allow_http_webhooks: bool,
    /// Requests per second per token (429 with retry_after beyond it), or `off`.
    #[arg(long, value_name = "N|off", default_value_t = DEFAULT_RATE_LIMIT.to_string())]
    rate_limit: String,
}

#[derive(Debug, Subcommand)]
enum Command {
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

fn report(error: &dyn std::error::Error) {
    let mut text = format!("mpbot-emulator: error: {error}");
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(&format!(": {e}"));
        source = e.source();
    }
    eprintln!("{text}");
}

fn gen_tls(out: &std::path::Path, hosts: &[String]) -> ExitCode {
    let hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
    match TestCa::generate(&hosts).and_then(|ca| ca.write_to(out)) {
        Ok(()) => {
            tracing::info!(dir = %out.display(), "wrote ca-cert.pem, server-cert.pem, server-key.pem");
            ExitCode::SUCCESS
        }
        Err(e) => {
            report(&e);
            ExitCode::FAILURE
        }
    }
}

fn parse_rate_limit(value: &str) -> Result<Option<u32>, String> {
    if value.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    match value.parse::<u32>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => Err(format!(
            "--rate-limit must be a positive number or `off`, not {value:?}"
        )),
    }
}

async fn serve(cli: Cli) -> ExitCode {
    let rate_limit = match parse_rate_limit(&cli.rate_limit) {
        Ok(limit) => limit,
        Err(message) => {
            eprintln!("mpbot-emulator: error: {message}");
            return ExitCode::from(2);
        }
    };
    let mut builder = Emulator::builder()
        .listen(cli.listen)
        .allow_http_webhooks(cli.allow_http_webhooks)
        .rate_limit(rate_limit);
    for bot in &cli.bots {
        let (token, username) = match bot.split_once('=') {
            Some((token, username)) => (token.to_owned(), username.to_owned()),
            None => {
                let id = token_id(bot);
                (bot.clone(), format!("bot{id}_bot"))
            }
        };
        builder = builder.bot(token, username);
    }
    for path in &cli.trust_ca {
        match std::fs::read(path) {
            Ok(pem) => builder = builder.trust_ca_pem(&pem),
            Err(e) => {
                eprintln!("mpbot-emulator: error: reading {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
    }
    let emulator = match builder.start().await {
        Ok(emulator) => emulator,
        Err(e) => {
            report(&e);
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "mpbot-emulator listening on {}", emulator.api_url())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        eprintln!("mpbot-emulator: error: could not write the ready line");
        return ExitCode::FAILURE;
    }
    drop(stdout);
    if let Err(e) = tokio::signal::ctrl_c().await {
        tracing::error!(error = %e, "could not listen for ctrl-c; stopping");
    }
    emulator.shutdown().await;
    ExitCode::SUCCESS
}

fn token_id(token: &str) -> String {
    token
        .split_once(':')
        .map_or_else(|| "x".to_owned(), |(id, _)| id.to_owned())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("mpbot_emulator=info")),
        )
        .init();
    if let Some(Command::GenTls { out, hosts }) = &cli.command {
        return gen_tls(out, hosts);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            report(&e);
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(cli))
}
