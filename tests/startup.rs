//! What stops a bot before any update flows, and how it says so.

use mpbot::{App, Error};
use mpbot_emulator::Emulator;
use mpbot_examples::{Running, polling_config};

/// Starts `app` and returns the error it stops with.
async fn start_error(app: App) -> Error {
    let mut bot = Running::spawn(app);
    match bot.race(std::future::pending::<()>()).await {
        Ok(()) => unreachable!("pending never completes"),
        Err(error) => *error.downcast::<Error>().expect("the bot's own error"),
    }
}

/// A `[plugins.NAME]` table naming no registered plugin stops the bot with an error naming the
/// file, the line and the known plugins.
#[tokio::test]
async fn unknown_plugin_names_file_line_and_known_plugins() {
    let emulator = Emulator::builder().start().await.unwrap();
    let config = polling_config(&emulator, "[plugins.ecko]\n").unwrap();
    let error = start_error(App::new(config)).await;
    let text = error.to_string();
    assert!(error.is_config(), "{error:?}");
    assert!(text.contains("example.toml:8"), "{text}");
    assert!(text.contains("did you mean `echo`?"), "{text}");
    assert!(
        text.contains("commands, echo, farewell, pins, welcome"),
        "{text}"
    );
}

/// A bad value inside a plugin's table is an error at that key's line, naming the key.
#[tokio::test]
async fn bad_plugin_settings_name_the_key_and_its_line() {
    let emulator = Emulator::builder().start().await.unwrap();
    let config =
        polling_config(&emulator, "[plugins.welcome]\ntext = \"Hi {frist_name}\"\n").unwrap();
    let text = start_error(App::new(config)).await.to_string();
    assert!(text.contains("example.toml:9"), "{text}");
    assert!(text.contains("plugins.welcome.text"), "{text}");
    assert!(text.contains("{frist_name}"), "{text}");

    let config = polling_config(&emulator, "[plugins.echo]\nprefx = \"> \"\n").unwrap();
    let text = start_error(App::new(config)).await.to_string();
    assert!(text.contains("prefx"), "{text}");
    assert!(text.contains("example.toml:9"), "{text}");
}

/// `bot.expect_username` guards against the wrong token: the bot refuses to start.
#[tokio::test]
async fn a_token_of_another_bot_is_refused() {
    let emulator = Emulator::builder().start().await.unwrap();
    let mut config = polling_config(&emulator, "").unwrap();
    config.bot.expect_username = Some("prod_bot".into());
    let error = start_error(App::new(config)).await;
    assert!(
        matches!(&error, Error::WrongBot { expected, actual } if expected == "prod_bot" && actual == "demo_bot"),
        "{error:?}"
    );
}
