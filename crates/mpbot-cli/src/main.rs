//! `mpbot`: parses the command line, installs the log subscriber (stderr; `[log]` from the
//! config when the command reads one, `RUST_LOG` overriding the level) and calls
//! [`mpbot_cli::run_with`].

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use mpbot::config::{LogFormat, LogSettings};
use mpbot_cli::{Cli, Context, Exit};

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
    // The emulator announces itself at info, as `mpbot-emulator` does.
    let fallback = match cli.command {
        mpbot_cli::Command::Emulator(_) => "mpbot_emulator=info",
        _ => "warn",
    };
    let settings =
        mpbot_cli::log_settings(cli).unwrap_or_else(|| LogSettings::new(LogFormat::Text, fallback));
    if let Err(error) = mpbot::logging::init(&settings) {
        // An unusable level must not stop the command: log at warn and say why.
        eprintln!("mpbot: warning: {error}; logging at warn instead");
        let _ = mpbot::logging::init(&LogSettings::new(settings.format, "warn"));
    }
}
