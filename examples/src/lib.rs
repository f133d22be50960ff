//! Shared pieces of the examples: an offline set-up against the bundled emulator, and the demo
//! script that the README's first command and the mode-parity test both run.

pub mod demo;

use std::time::Duration;

use mpbot::config::Config;
use mpbot::framework::{Shutdown, ShutdownReport, ShutdownTrigger};
use mpbot::{App, Error};
use mpbot_api::User;
use mpbot_emulator::Emulator;

/// The emulator's default bot token (not a secret: it exists only in the emulator).
pub const TOKEN: &str = "123456:TEST-TOKEN";

/// How long an example waits for the bot before it gives up (a hang guard, never a delay).
pub const GUARD: Duration = Duration::from_secs(20);

/// A user with a first name and a username.
pub fn user(id: i64, first_name: &str, username: &str) -> User {
    let mut user = User::new(id);
    user.first_name = Some(first_name.to_owned());
    user.username = Some(username.to_owned());
    user.is_bot = Some(false);
    user
}

/// Installs a log subscriber for an example through [`mpbot::logging`]: warnings only unless
/// `RUST_LOG` says otherwise, so the transcript stays readable. A bot with a config file calls
/// `mpbot::logging::init(&config.log)` instead.
pub fn init_logging() {
    let settings = mpbot::config::LogSettings::new(mpbot::config::LogFormat::Text, "warn");
    // NB: a second call (or another subscriber) is not an error for an example.
    let _ = mpbot::logging::init(&settings);
}

/// A polling config pointing at `emulator`, plus `extra` TOML (plugin tables, usually).
///
/// # Errors
/// When `extra` makes the config invalid.
pub fn polling_config(
    emulator: &Emulator,
    extra: &str,
) -> Result<Config, mpbot::config::ConfigError> {
    let text = format!(
        "[bot]\napi_url = \"{}\"\ntoken_env = \"MPCHAT_BOT_TOKEN\"\n\n[delivery]\nmode = \"polling\"\n\n{extra}",
        emulator.api_url()
    );
    Config::from_str_with_env(&text, "example.toml", |name| {
        (name == "MPCHAT_BOT_TOKEN").then(|| TOKEN.to_owned())
    })
}

/// A bot running in the background.
#[derive(Debug)]
pub struct Running {
    stop: ShutdownTrigger,
    task: tokio::task::JoinHandle<Result<ShutdownReport, Error>>,
}

impl Running {
    /// Starts `app` on a background task.
    pub fn spawn(app: App) -> Self {
        let (stop, shutdown) = Shutdown::new();
        let task = tokio::spawn(app.run_with(shutdown, Shutdown::never()));
        Self { stop, task }
    }

    /// Runs `work` (a script acting as MPChat users) while the bot runs, and returns its output;
    /// if the bot stops first (a start-up error, say), returns the bot's error instead of
    /// waiting for answers that will never come. [`GUARD`] bounds the whole.
    ///
    /// # Errors
    /// The bot's error when it stopped early, or a timeout.
    pub async fn race<T>(
        &mut self,
        work: impl std::future::Future<Output = T>,
    ) -> Result<T, Box<dyn std::error::Error + Send + Sync>> {
        let guarded = tokio::time::timeout(GUARD, work);
        tokio::select! {
            output = guarded => Ok(output?),
            stopped = &mut self.task => match stopped? {
                Ok(_) => Err("the bot stopped before the script ended".into()),
                Err(error) => Err(error.into()),
            },
        }
    }

    /// Stops the bot and waits for it to drain.
    ///
    /// # Errors
    /// What the bot stopped with.
    ///
    /// # Panics
    /// When the bot's task panicked.
    pub async fn stop(self) -> Result<ShutdownReport, Error> {
        self.stop.trigger();
        self.task.await.expect("the bot task does not panic")
    }
}
