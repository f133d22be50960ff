//! Every built-in plugin, end to end: enabled from TOML, driven through the emulator.

use mpbot::App;
use mpbot_api::types::{BotCommand, ChatType};
use mpbot_api::{Bot, BotToken};
use mpbot_emulator::{Emulator, SentMessage};
use mpbot_examples::{GUARD, Running, TOKEN, polling_config, user};

/// Starts the emulator and a polling bot with `plugins` (TOML tables).
async fn start(plugins: &str) -> (Emulator, Running) {
    let emulator = Emulator::builder().start().await.unwrap();
    let config = polling_config(&emulator, plugins).unwrap();
    let bot = Running::spawn(App::new(config));
    (emulator, bot)
}

/// Waits until the bot sent `n` messages and returns their texts.
async fn texts(emulator: &Emulator, n: usize) -> Vec<String> {
    let sent: Vec<SentMessage> =
        tokio::time::timeout(GUARD, emulator.default_bot().wait_for_sent(n))
            .await
            .expect("the bot answers in time");
    sent.into_iter()
        .map(|m| m.text.unwrap_or_default())
        .collect()
}

/// `echo` replies to each text message with its text (and the configured prefix), in order.
#[tokio::test]
async fn echo_repeats_messages_with_its_prefix() {
    let (emulator, bot) = start("[plugins.echo]\nprefix = \"> \"\n").await;
    let chat = emulator.default_bot();
    chat.user_message(7, user(7, "Ann", "ann"), "one");
    chat.user_message(7, user(7, "Ann", "ann"), "two");
    assert_eq!(texts(&emulator, 2).await, ["> one", "> two"]);
    let sent = chat.sent();
    assert!(
        sent.iter()
            .all(|m| m.chat_id.get() == 7 && m.method == "sendMessage"),
        "{sent:?}"
    );
    bot.stop().await.unwrap();
}

/// `welcome` greets each joining member with the template, `farewell` says goodbye on leave,
/// and `pins` announces a pin with who pinned and the pinned text.
#[tokio::test]
async fn welcome_farewell_and_pins_answer_group_events() {
    let plugins = r#"
[plugins.welcome]
text = "Hi {name} ({username}), welcome to {chat_title}!"
[plugins.farewell]
text = "Bye {first_name}."
[plugins.pins]
text = "{username} pinned: {text}"
"#;
    let (emulator, bot) = start(plugins).await;
    let chat = emulator.default_bot();
    let ann = user(1, "Ann", "ann");
    let mut bob = user(2, "Bob", "bob");
    bob.last_name = Some("Stone".into());
    let cid = user(3, "Cid", "cid");
    let rules = chat.user_message_in(-50, ChatType::Group, ann.clone(), "be nice");
    chat.join(-50, vec![bob.clone(), cid], Some(ann.clone()));
    assert_eq!(
        texts(&emulator, 2).await,
        [
            "Hi Bob Stone (@bob), welcome to Chat -50!",
            "Hi Cid (@cid), welcome to Chat -50!"
        ]
    );
    chat.pin(-50, rules.message_id, ann);
    assert_eq!(texts(&emulator, 3).await[2], "@ann pinned: be nice");
    chat.leave(-50, bob, None);
    assert_eq!(texts(&emulator, 4).await[3], "Bye Bob.");
    bot.stop().await.unwrap();
}

/// `commands` answers its static commands, builds `/help` from them, and with `publish = true`
/// publishes the menu with setMyCommands before updates flow.
#[tokio::test]
async fn commands_reply_list_help_and_publish_the_menu() {
    let plugins = r#"
[plugins.commands]
publish = true
commands = [
  { name = "rules", reply = "Be kind.", description = "The rules" },
  { name = "start", reply = "Hello!" },
]
"#;
    let (emulator, bot) = start(plugins).await;
    let chat = emulator.default_bot();
    chat.user_message(9, user(9, "Ann", "ann"), "/rules");
    chat.user_message(9, user(9, "Ann", "ann"), "/start@demo_bot");
    chat.user_message(9, user(9, "Ann", "ann"), "/start@someone_else_bot");
    chat.user_message(9, user(9, "Ann", "ann"), "/help");
    let texts = texts(&emulator, 3).await;
    assert_eq!(texts[..2], ["Be kind.", "Hello!"]);
    assert_eq!(
        texts[2],
        "Commands:\n/rules - The rules\n/start - Hello!\n/help - this list"
    );

    let client = Bot::builder(BotToken::new(TOKEN).unwrap())
        .api_url(emulator.api_url())
        .build()
        .unwrap();
    let menu = client.get_my_commands().await.unwrap();
    assert_eq!(
        menu,
        [
            BotCommand::new("rules", "The rules"),
            BotCommand::new("start", "Hello!"),
            BotCommand::new("help", "List the commands")
        ]
    );
    let report = bot.stop().await.unwrap();
    // The command for another bot reached no handler: nothing else is enabled.
    assert_eq!(report.stats.unhandled, 1);
    assert_eq!(emulator.default_bot().sent().len(), 3);
}
