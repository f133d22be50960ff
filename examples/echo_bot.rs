//! The smallest bot: the built-in `echo` plugin, enabled by one TOML table.
//!
//! It starts the bundled emulator, runs the bot in polling mode against it, plays a user who
//! writes two messages, and prints what the bot answered. No network, no token.
//!
//! Run with:
//!
//! ```sh
//! cargo run -p mpbot-examples --example echo_bot
//! ```

use mpbot::App;
use mpbot_emulator::Emulator;
use mpbot_examples::{GUARD, Running, polling_config, user};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    mpbot_examples::init_logging();
    let emulator = Emulator::builder().start().await?;
    let config = polling_config(&emulator, "[plugins.echo]\nprefix = \"echo: \"\n")?;
    let bot = Running::spawn(App::new(config));

    let chat = emulator.default_bot();
    let alice = user(1001, "Alice", "alice");
    chat.user_message(1001, alice.clone(), "hello");
    chat.user_message(1001, alice, "is anyone there?");
    for message in tokio::time::timeout(GUARD, chat.wait_for_sent(2)).await? {
        println!(
            "bot -> {}: {}",
            message.chat_id,
            message.text.unwrap_or_default()
        );
    }
    bot.stop().await?;
    Ok(())
}
