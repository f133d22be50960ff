//! A plugin of your own: it reads its own `[plugins.NAME]` table into its own type, registers
//! handlers, and is enabled by name from the TOML like a built-in one.
//!
//! `karma` counts `+1` replies per user and answers `/karma` with the score.
//!
//! Run with:
//!
//! ```sh
//! cargo run -p mpbot-examples --example custom_plugin
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use mpbot::framework::Error as FrameworkError;
use mpbot::prelude::*;
use mpbot_emulator::Emulator;
use mpbot_examples::{GUARD, Running, polling_config, user};
use serde::Deserialize;

/// `[plugins.karma]`: `+1` in a message gives the sender's karma to `target`.
#[derive(Debug, Default)]
struct Karma;

/// The plugin's own settings type; an unknown key is an error naming `plugins.karma.KEY`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KarmaSettings {
    /// What a `+1` is worth.
    #[serde(default = "one")]
    points: i64,
}

fn one() -> i64 {
    1
}

impl Plugin for Karma {
    fn name(&self) -> &'static str {
        "karma"
    }

    fn register(&self, router: &mut Router, config: &PluginConfig) -> Result<(), FrameworkError> {
        let settings: KarmaSettings = config.deserialize()?;
        // State that lives as long as the bot goes into the handlers.
        let scores: Arc<Mutex<HashMap<String, i64>>> = Arc::default();
        let board = Arc::clone(&scores);
        router.command("karma", move |ctx: Context, _command: Command| {
            let text = {
                let scores = board.lock().expect("not poisoned");
                let mut entries: Vec<_> = scores
                    .iter()
                    .map(|(who, n)| format!("{who}: {n}"))
                    .collect();
                entries.sort();
                if entries.is_empty() {
                    "No karma yet.".to_owned()
                } else {
                    entries.join(", ")
                }
            };
            async move {
                ctx.reply(text).await?;
                Ok::<_, mpbot::api::Error>(())
            }
        });
        router.on_message(move |ctx: Context, message: Message| {
            let scores = Arc::clone(&scores);
            async move {
                let text = message.text.unwrap_or_default();
                if let Some(target) = text.strip_prefix("+1 ") {
                    let total = {
                        let mut scores = scores.lock().expect("not poisoned");
                        let entry = scores.entry(target.trim().to_owned()).or_default();
                        *entry += settings.points;
                        *entry
                    };
                    ctx.reply(format!("{} now has {total}", target.trim()))
                        .await?;
                }
                Ok::<_, mpbot::api::Error>(())
            }
        });
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    mpbot_examples::init_logging();
    let emulator = Emulator::builder().start().await?;
    let config = polling_config(&emulator, "[plugins.karma]\npoints = 10\n")?;
    let bot = Running::spawn(App::new(config).plugin(Karma));

    let chat = emulator.default_bot();
    let alice = user(1001, "Alice", "alice");
    chat.user_message(1001, alice.clone(), "+1 bob");
    chat.user_message(1001, alice.clone(), "+1 bob");
    chat.user_message(1001, alice, "/karma");
    for message in tokio::time::timeout(GUARD, chat.wait_for_sent(3)).await? {
        println!(
            "bot -> {}: {}",
            message.chat_id,
            message.text.unwrap_or_default()
        );
    }
    bot.stop().await?;
    Ok(())
}
