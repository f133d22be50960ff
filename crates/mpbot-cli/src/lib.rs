//! The `mpbot` command line as a library: [`run`] executes a parsed [`Cli`] and returns its
//! [`Exit`] code, writing to the output streams it is given, so tests drive every command
//! in-process. The binary (`src/main.rs`) only parses arguments, installs the log subscriber
//! and calls [`run_with`].
//!
//! The commands, their output and the exit codes are documented in `docs/cli.md`.
//!
//! ```no_run
//! # async fn demo() {
//! use clap::Parser;
//! use mpbot_cli::{Cli, Exit};
//!
//! let cli = Cli::try_parse_from(["mpbot", "check", "--config", "bot.toml", "--offline"]).unwrap();
//! let (mut out, mut err) = (Vec::new(), Vec::new());
//! let exit = mpbot_cli::run(cli, &mut out, &mut err).await;
//! assert_eq!(exit, Exit::Success);
//! # }
//! ```

mod check;
mod cli;
mod error;
mod exit;
mod journal;
mod probe;
mod remote;
mod smoke;
mod text;
mod webhook;

use std::io::{BufRead, Write};
use std::sync::Arc;

pub use cli::{
    CheckArgs, Cli, Command, ConfigArg, DeleteArgs, GuardArgs, InfoArgs, JournalArgs,
    JournalCommand, JournalListArgs, JournalLocation, JournalReplayArgs, JournalStatsArgs, RunArgs,
    SetArgs, SmokeArgs, StateFilter, WebhookArgs, WebhookCommand,
};
pub use error::{BoxError, Error};
pub use exit::Exit;
pub use mpbot_core::{Shutdown, ShutdownTrigger};

/// Reads an environment variable (the process environment, or a map in tests).
pub type EnvFn = dyn Fn(&str) -> Option<String> + Send + Sync;

/// What a command may touch besides its arguments: the output streams, the environment (for
/// `MPBOT_*` overrides and the secrets the config names), the operator's input (smoke step 3
/// against MPChat) and the stop signal of the long-running commands.
pub struct Context<'a> {
    out: &'a mut (dyn Write + Send),
    err: &'a mut (dyn Write + Send),
    env: Arc<EnvFn>,
    input: Option<Box<dyn BufRead + Send>>,
    shutdown: Option<Shutdown>,
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("shutdown", &self.shutdown)
            .finish_non_exhaustive()
    }
}

impl<'a> Context<'a> {
    /// Results to `out`, diagnostics to `err`; the process environment; stdin as input;
    /// `run` and `emulator` stop on SIGINT or SIGTERM.
    pub fn new(out: &'a mut (dyn Write + Send), err: &'a mut (dyn Write + Send)) -> Self {
        Self {
            out,
            err,
            env: Arc::new(|name: &str| std::env::var(name).ok()),
            input: None,
            shutdown: None,
        }
    }

    /// Reads environment variables through `env` instead of the process environment.
    #[must_use]
    pub fn with_env(
        mut self,
        env: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.env = Arc::new(env);
        self
    }

    /// Reads the operator's answers from `input` instead of stdin.
    #[must_use]
    pub fn with_input(mut self, input: impl BufRead + Send + 'static) -> Self {
        self.input = Some(Box::new(input));
        self
    }

    /// Stops `run` and `emulator` when `shutdown` fires, instead of on SIGINT/SIGTERM.
    #[must_use]
    pub fn with_shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = Some(shutdown);
        self
    }

    fn take_input(&mut self) -> Box<dyn BufRead + Send> {
        self.input
            .take()
            .unwrap_or_else(|| Box::new(std::io::BufReader::new(std::io::stdin())))
    }
}

/// Runs `cli` with [`Context::new`]`(out, err)`.
pub async fn run(cli: Cli, out: &mut (dyn Write + Send), err: &mut (dyn Write + Send)) -> Exit {
    run_with(cli, Context::new(out, err)).await
}

/// Runs `cli`: the command writes its results to the context's `out`; an error is written to
/// its `err` as `mpbot: error: ...` followed by one `caused by:` line per source, and mapped
/// to its documented [`Exit`] code.
pub async fn run_with(cli: Cli, mut ctx: Context<'_>) -> Exit {
    match execute(cli, &mut ctx).await {
        Ok(exit) => exit,
        Err(error) => {
            let _ = writeln!(ctx.err, "{}", text::error_chain(&error));
            let _ = ctx.err.flush();
            error.exit()
        }
    }
}

async fn execute(cli: Cli, ctx: &mut Context<'_>) -> Result<Exit, Error> {
    let exit = match cli.command {
        Command::Check(args) => check::run(&args, ctx).await?,
        Command::Webhook(args) => match args.command {
            WebhookCommand::Info(args) => webhook::info(&args, ctx).await?,
            WebhookCommand::Set(args) => webhook::set(&args, ctx).await?,
            WebhookCommand::Delete(args) => webhook::delete(&args, ctx).await?,
        },
        Command::Emulator(args) => emulator(args, ctx).await?,
        Command::Smoke(args) => smoke::run(&args, ctx).await?,
        Command::Run(args) => run_bot(&args, ctx).await?,
        Command::Journal(args) => match args.command {
            JournalCommand::Stats(args) => journal::stats(&args, ctx).await?,
            JournalCommand::List(args) => journal::list(&args, ctx).await?,
            JournalCommand::Replay(args) => journal::replay(&args, ctx).await?,
        },
    };
    ctx.out.flush()?;
    Ok(exit)
}

async fn emulator(args: mpbot_emulator::cli::Args, ctx: &mut Context<'_>) -> Result<Exit, Error> {
    let shutdown = ctx.shutdown.clone();
    let stop = async move {
        match shutdown {
            Some(shutdown) => shutdown.requested().await,
            None => mpbot::shutdown_signal().await,
        }
    };
    mpbot_emulator::cli::run(args, ctx.out, stop)
        .await
        .map_err(|e| Error::Failed("the emulator failed".into(), Box::new(e)))?;
    Ok(Exit::Success)
}

/// `mpbot run`: the facade with the built-in plugins, until a signal (or the context's
/// shutdown).
async fn run_bot(args: &RunArgs, ctx: &mut Context<'_>) -> Result<Exit, Error> {
    let config = remote::load(&args.config, ctx)?;
    let app = mpbot::App::new(config);
    let report = match ctx.shutdown.clone() {
        Some(shutdown) => app.run_with(shutdown, Shutdown::never()).await?,
        None => app.run().await?,
    };
    if !report.unfinished.is_empty() {
        writeln!(
            ctx.err,
            "mpbot: stopped with {} update(s) unfinished{}",
            report.unfinished.len(),
            if report.forced {
                " (forced)"
            } else {
                " (grace period over)"
            }
        )?;
    }
    Ok(Exit::Success)
}

/// Reads the `[log]` settings of the config a parsed command line names, for the binary's
/// subscriber. `None` when the command reads no config or the config does not load (the
/// command itself then reports why).
pub fn log_settings(cli: &Cli) -> Option<mpbot::config::LogSettings> {
    let path = match &cli.command {
        Command::Run(a) => &a.config.config,
        Command::Check(a) => &a.config.config,
        Command::Smoke(a) => &a.config.config,
        Command::Webhook(w) => match &w.command {
            WebhookCommand::Info(a) => &a.config.config,
            WebhookCommand::Set(a) => &a.config.config,
            WebhookCommand::Delete(a) => &a.config.config,
        },
        Command::Journal(j) => {
            let location = match &j.command {
                JournalCommand::Stats(a) => &a.location,
                JournalCommand::List(a) => &a.location,
                JournalCommand::Replay(a) => &a.location,
            };
            if location.dir.is_some() {
                return None;
            }
            match &location.config {
                Some(path) => path,
                None => return log_settings_of(std::path::Path::new("mpbot.toml")),
            }
        }
        Command::Emulator(_) => return None,
    };
    log_settings_of(path)
}

fn log_settings_of(path: &std::path::Path) -> Option<mpbot::config::LogSettings> {
    mpbot::config::Config::from_file(path).ok().map(|c| c.log)
}
