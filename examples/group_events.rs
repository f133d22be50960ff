//! Group events: the built-in `welcome`, `farewell` and `pins` plugins answer joins, leaves
//! and pins, each configured with its own template.
//!
//! Group events are fields of a `message` on MPChat (`new_chat_members`, `left_chat_member`,
//! `pinned_message`); the router turns them into typed events (`MemberJoined`, `MemberLeft`,
//! `MessagePinned`).
//!
//! Run with:
//!
//! ```sh
//! cargo run -p mpbot-examples --example group_events
//! ```

use mpbot::App;
use mpbot_api::types::ChatType;
use mpbot_emulator::Emulator;
use mpbot_examples::{GUARD, Running, polling_config, user};

const PLUGINS: &str = r#"
[plugins.welcome]
text = "Welcome to {chat_title}, {name}!"

[plugins.farewell]
text = "{first_name} has left."

[plugins.pins]
text = "{first_name} pinned: {text}"
"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    mpbot_examples::init_logging();
    let emulator = Emulator::builder().start().await?;
    let bot = Running::spawn(App::new(polling_config(&emulator, PLUGINS)?));

    let chat = emulator.default_bot();
    let (alice, bob, carol) = (
        user(1, "Alice", "alice"),
        user(2, "Bob", "bob"),
        user(3, "Carol", "carol"),
    );
    let group = -1001;
    let rules = chat.user_message_in(
        group,
        ChatType::Supergroup,
        alice.clone(),
        "Rule 1: be kind",
    );
    chat.join(group, vec![bob.clone(), carol], Some(alice.clone()));
    chat.pin(group, rules.message_id, alice);
    chat.leave(group, bob, None);
    // Two welcomes (one per member), one pin notice, one farewell.
    for message in tokio::time::timeout(GUARD, chat.wait_for_sent(4)).await? {
        println!(
            "bot -> {}: {}",
            message.chat_id,
            message.text.unwrap_or_default()
        );
    }
    bot.stop().await?;
    Ok(())
}
