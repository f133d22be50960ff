//! `[plugins.commands]`: static replies to commands, an automatic `/help`, and optionally the
//! command menu published with `setMyCommands`.

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

use mpbot_api::types::BotCommand;
use mpbot_core::{BoxFuture, Command, Context, Error, HandlerError, Plugin, PluginConfig, Router};
use serde::Deserialize;

/// `[plugins.commands]`: answers each configured command with its static reply, answers
/// `/help` with the list of commands, and (with `publish = true`) publishes them as the bot's
/// command menu with `setMyCommands` when the bot starts.
///
/// ```toml
/// [plugins.commands]
/// help = true        # answer /help with the list (default true)
/// publish = false    # setMyCommands on start (default false)
/// commands = [
///   { name = "rules", reply = "Be kind.", description = "Show the rules" },
///   { name = "start", reply = "Hello! Try /help." },
/// ]
/// ```
///
/// Names are 1-32 characters of `a-z`, `0-9` and `_`, without the slash.
#[derive(Debug, Default)]
pub struct Commands {
    /// The menu to publish, kept by `register` for `on_ready`.
    menu: OnceLock<Vec<BotCommand>>,
}

impl Commands {
    /// The plugin.
    pub fn new() -> Self {
        Self::default()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    #[serde(default = "yes")]
    help: bool,
    #[serde(default)]
    publish: bool,
    #[serde(default)]
    commands: Vec<CommandSettings>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandSettings {
    name: String,
    reply: String,
    description: Option<String>,
}

fn invalid(config: &PluginConfig, reason: String) -> Error {
    Error::Plugin {
        plugin: config.plugin().to_owned(),
        reason,
    }
}

fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Plugin for Commands {
    fn name(&self) -> &'static str {
        "commands"
    }

    fn register(&self, router: &mut Router, config: &PluginConfig) -> Result<(), Error> {
        let settings: Settings = config.deserialize()?;
        let mut menu = Vec::new();
        for (i, command) in settings.commands.iter().enumerate() {
            let name = command.name.trim_start_matches('/');
            if !valid_name(name) {
                return Err(invalid(
                    config,
                    format!(
                        "key `commands[{i}].name`: {name:?} is not 1-32 characters of a-z, 0-9 and _"
                    ),
                ));
            }
            if menu.iter().any(|c: &BotCommand| c.command == name)
                || (settings.help && name == "help")
            {
                return Err(invalid(
                    config,
                    format!("key `commands[{i}].name`: /{name} is defined twice"),
                ));
            }
            let description = command
                .description
                .clone()
                .unwrap_or_else(|| command.reply.clone());
            menu.push(BotCommand::new(name, description));
            let reply: Arc<str> = command.reply.as_str().into();
            router.command(name, move |ctx: Context, _command: Command| {
                let reply = Arc::clone(&reply);
                async move {
                    ctx.reply(reply.as_ref()).await?;
                    Ok::<_, mpbot_api::Error>(())
                }
            });
        }
        if settings.help {
            let mut help = String::from("Commands:");
            for command in &menu {
                let _ = write!(help, "\n/{} - {}", command.command, command.description);
            }
            help.push_str("\n/help - this list");
            let help: Arc<str> = help.into();
            router.command("help", move |ctx: Context, _command: Command| {
                let help = Arc::clone(&help);
                async move {
                    ctx.reply(help.as_ref()).await?;
                    Ok::<_, mpbot_api::Error>(())
                }
            });
            menu.push(BotCommand::new("help", "List the commands"));
        }
        if settings.publish {
            let _ = self.menu.set(menu);
        }
        Ok(())
    }

    fn on_ready(
        &self,
        bot: &mpbot_api::Bot,
        _me: &mpbot_api::User,
    ) -> BoxFuture<'static, Result<(), HandlerError>> {
        let Some(menu) = self.menu.get().cloned() else {
            return Box::pin(async { Ok(()) });
        };
        let bot = bot.clone();
        Box::pin(async move {
            bot.set_my_commands(menu).await?;
            Ok(())
        })
    }
}
