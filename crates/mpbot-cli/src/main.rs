//! `mpbot`: parses the command line, installs the log subscriber (stderr; `[log]` from the
//! config when the command reads one, `RUST_LOG` overriding the level) and calls
//! [`mpbot_cli::run_with`].

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use mpbot::config::LogFormat;
use mpbot_cli::{Cli, Context, Exit};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    install_subscriber(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("mpbot: error: cannot start the async runtime: {e}");
            return Exit::Failure.into();
        }
    };
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    let exit = runtime.block_on(mpbot_cli::run_with(cli, Context::new(&mut out, &mut err)));
    // A smoke test that timed out waiting for the operator leaves a thread blocked on stdin.
    runtime.shutdown_timeout(Duration::from_millis(100));
    exit.into()
}

fn install_subscriber(cli: &Cli) {
    let settings = mpbot_cli::log_settings(cli);
    // The emulator announces itself at info, as `mpbot-emulator` does.
    let fallback = match cli.command {
        mpbot_cli::Command::Emulator(_) => "mpbot_emulator=info",
        _ => "warn",
    };
    let level = settings.as_ref().map_or(fallback, |s| s.level.as_str());
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(filter);
    match settings.map(|s| s.format) {
        Some(LogFormat::Json) => builder.json().init(),
        _ => builder.init(),
    }
}
