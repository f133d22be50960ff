//! `mpbot-emulator`: serve the emulated MPChat Bot API, or generate a test CA (`gen-tls`).
//!
//! stdout carries exactly one line, the ready line; every log goes to stderr. The flags live in
//! [`mpbot_emulator::cli::Args`] so `mpbot emulator` accepts the same ones.

use std::process::ExitCode;

use clap::Parser;
use mpbot_emulator::cli::{self, Args};

/// A protocol-faithful MPChat Bot API server with a control API under /_emulator/.
#[derive(Debug, Parser)]
#[command(name = "mpbot-emulator", version)]
struct Cli {
    #[command(flatten)]
    args: Args,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("mpbot_emulator=info")),
        )
        .init();
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
    let stop = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "could not listen for ctrl-c; stopping");
        }
    };
    match runtime.block_on(cli::run(cli.args, &mut std::io::stdout(), stop)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report(&e);
            ExitCode::FAILURE
        }
    }
}
