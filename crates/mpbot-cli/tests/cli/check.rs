//! `mpbot check`: the masked summary and every start blocker with its fix.

use mpbot_cli::Exit;

use super::support::{USERNAME, World, shown};

/// --offline validates and prints the effective settings with the secrets masked.
#[tokio::test]
async fn offline_prints_the_masked_settings() {
    let world = World::start().await;
    let config = world.webhook("https://bot.example.com/hook", "", "");
    let run = world
        .mpbot(&["check", "-c", config.to_str().unwrap(), "--offline"])
        .await;
    assert_eq!(run.exit, Exit::Success, "{}", run.all());
    assert!(run.out.contains("token: "), "{}", run.out);
    assert!(
        run.out.contains("(from env MPCHAT_BOT_TOKEN)"),
        "{}",
        run.out
    );
    assert!(
        run.out
            .contains("secret: *** (from env MPCHAT_WEBHOOK_SECRET)"),
        "{}",
        run.out
    );
    assert!(run.out.contains("config: valid"), "{}", run.out);
    assert!(
        run.out.contains("offline: MPChat was not contacted"),
        "{}",
        run.out
    );
    assert_eq!(world.bot().webhook_info().url, "", "nothing was called");
}

/// A polling config with no webhook registered is ready.
#[tokio::test]
async fn polling_without_a_webhook_is_ready() {
    let world = World::start().await;
    let config = world.polling("");
    let run = world
        .mpbot(&["check", "-c", config.to_str().unwrap()])
        .await;
    assert_eq!(run.exit, Exit::Success, "{}", run.all());
    assert!(
        run.out.contains(&format!("getMe: @{USERNAME} (id 4242)")),
        "{}",
        run.out
    );
    assert!(
        run.out
            .contains("ready: delivery.mode = \"polling\" can start"),
        "{}",
        run.out
    );
}

/// Polling while a webhook is registered is a blocker, fixed by the exact delete command.
#[tokio::test]
async fn polling_with_a_webhook_set_names_the_delete_command() {
    let world = World::start().await;
    let receiver = super::support::Receiver::start(&world.ca, 200).await;
    world.register_webhook(&receiver.url()).await;
    let config = world.polling("");
    let run = world
        .mpbot(&["check", "-c", config.to_str().unwrap()])
        .await;
    assert_eq!(run.exit, Exit::NotReady, "{}", run.all());
    assert!(
        run.out.contains(&format!(
            "blocker: a webhook is registered ({})",
            receiver.url()
        )),
        "{}",
        run.out
    );
    assert!(
        run.out.contains(&format!(
            "fix: mpbot webhook delete --config {} --confirm {USERNAME}",
            shown(&config)
        )),
        "{}",
        run.out
    );
    assert!(run.out.contains("not ready"), "{}", run.out);
}

/// Webhook mode (register = verify) with nothing registered is a blocker; the fix serves
/// unchecked once, registers with `set`, and returns to verify.
#[tokio::test]
async fn webhook_mode_without_a_registration_names_the_set_command() {
    let world = World::start().await;
    let config = world.webhook("https://bot.example.com/hook", "", "");
    let run = world
        .mpbot(&["check", "-c", config.to_str().unwrap()])
        .await;
    assert_eq!(run.exit, Exit::NotReady, "{}", run.all());
    assert!(
        run.out.contains("blocker: no webhook is registered"),
        "{}",
        run.out
    );
    assert!(
        run.out.contains(&format!(
            "fix: set register = \"off\" under [delivery.webhook] in {} and start the bot \
             (it serves without checking); then mpbot webhook set --config {} --confirm \
             {USERNAME}; then set register = \"verify\" again",
            shown(&config),
            shown(&config)
        )),
        "{}",
        run.out
    );
}

/// Webhook mode with another URL registered is a blocker fixed by `set`.
#[tokio::test]
async fn webhook_mode_with_another_url_names_the_set_command() {
    let world = World::start().await;
    let receiver = super::support::Receiver::start(&world.ca, 200).await;
    world.register_webhook(&receiver.url()).await;
    let config = world.webhook("https://bot.example.com/hook", "", "");
    let run = world
        .mpbot(&["check", "-c", config.to_str().unwrap()])
        .await;
    assert_eq!(run.exit, Exit::NotReady, "{}", run.all());
    assert!(
        run.out.contains(&format!(
            "blocker: MPChat has another webhook registered ({}) than public_url \
             (https://bot.example.com/hook)",
            receiver.url()
        )),
        "{}",
        run.out
    );
    assert!(
        run.out.contains(&format!(
            "fix: start the bot (it serves /hook and warns about the drift), then mpbot webhook \
             set --config {} --confirm {USERNAME}",
            shown(&config)
        )),
        "{}",
        run.out
    );
}

/// Webhook mode with the configured URL registered is ready.
#[tokio::test]
async fn webhook_mode_with_its_url_registered_is_ready() {
    let world = World::start().await;
    let receiver = super::support::Receiver::start(&world.ca, 200).await;
    world.register_webhook(&receiver.url()).await;
    let config = world.webhook(&receiver.url(), "", "");
    let run = world
        .mpbot(&["check", "-c", config.to_str().unwrap()])
        .await;
    assert_eq!(run.exit, Exit::Success, "{}", run.all());
    assert!(
        run.out
            .contains("ready: delivery.mode = \"webhook\" can start"),
        "{}",
        run.out
    );
}

/// register = "auto" is not blocked by a missing registration: the bot registers on start.
#[tokio::test]
async fn webhook_mode_with_register_auto_is_ready_with_a_note() {
    let world = World::start().await;
    let config = world.webhook("https://bot.example.com/hook", "", "register = \"auto\"");
    let run = world
        .mpbot(&["check", "-c", config.to_str().unwrap()])
        .await;
    assert_eq!(run.exit, Exit::Success, "{}", run.all());
    assert!(run.out.contains("note: register = \"auto\""), "{}", run.out);
}

/// expect_username that is not getMe's username is a blocker with both ways out.
#[tokio::test]
async fn expect_username_mismatch_is_a_blocker_with_its_fix() {
    let world = World::start().await;
    let config = world.polling("expect_username = \"prod_bot\"");
    let run = world
        .mpbot(&["check", "-c", config.to_str().unwrap()])
        .await;
    assert_eq!(run.exit, Exit::NotReady, "{}", run.all());
    assert!(
        run.out.contains(&format!(
            "blocker: bot.expect_username is \"prod_bot\" but the token (from env \
             MPCHAT_BOT_TOKEN) belongs to @{USERNAME}"
        )),
        "{}",
        run.out
    );
    assert!(
        run.out
            .contains("fix: give the token of @prod_bot in env MPCHAT_BOT_TOKEN"),
        "{}",
        run.out
    );
    assert!(
        run.out.contains(&format!(
            "or: if @{USERNAME} is the right bot: set expect_username = \"{USERNAME}\""
        )),
        "{}",
        run.out
    );
}

/// A bad config file is a config error (exit 3) naming the file, line and key.
#[tokio::test]
async fn bad_config_names_file_line_and_key() {
    let world = World::start().await;
    let config = world.config_named(
        "broken.toml",
        "[bot]\napi_url = \"{api_url}\"\n\n[delivery]\nmode = \"polling\"\n\n[delivery.polling]\ntimout_secs = 5\n",
    );
    let run = world
        .mpbot(&["check", "-c", config.to_str().unwrap(), "--offline"])
        .await;
    assert_eq!(run.exit, Exit::Config, "{}", run.all());
    assert!(
        run.err
            .starts_with(&format!("mpbot: error: {}:8:", shown(&config))),
        "{}",
        run.err
    );
    assert!(run.err.contains("timout_secs"), "{}", run.err);
    assert!(
        run.err.contains("did you mean `timeout_secs`"),
        "{}",
        run.err
    );
    assert!(run.out.is_empty(), "{}", run.out);
}

/// A missing config file is a config error too.
#[tokio::test]
async fn missing_config_file_is_a_config_error() {
    let world = World::start().await;
    let path = world.dir.join("absent.toml");
    let run = world
        .mpbot(&["check", "-c", path.to_str().unwrap(), "--offline"])
        .await;
    assert_eq!(run.exit, Exit::Config, "{}", run.all());
    assert!(run.err.contains(&shown(&path)), "{}", run.err);
}

/// A token MPChat does not know is a remote error (exit 5), reported without the token.
#[tokio::test]
async fn unknown_token_is_a_remote_error() {
    let world = World::start().await;
    // Another emulator that knows only its default bot.
    let stranger = mpbot_emulator::Emulator::builder().start().await.unwrap();
    let config = world.config_named(
        "stranger.toml",
        &format!("[bot]\napi_url = \"{}\"\n", stranger.api_url()),
    );
    let run = world
        .mpbot(&["check", "-c", config.to_str().unwrap()])
        .await;
    assert_eq!(run.exit, Exit::Remote, "{}", run.all());
    assert!(run.err.starts_with("mpbot: error: getMe"), "{}", run.err);
}

/// A token variable that is unset is a config error naming the variable.
#[tokio::test]
async fn unset_token_variable_is_a_config_error() {
    let world = World::start().await;
    let config = world.config_named(
        "other.toml",
        "[bot]\napi_url = \"{api_url}\"\ntoken_env = \"OTHER_TOKEN\"\n",
    );
    let run = world
        .mpbot(&["check", "-c", config.to_str().unwrap()])
        .await;
    assert_eq!(run.exit, Exit::Config, "{}", run.all());
    assert!(run.err.contains("OTHER_TOKEN"), "{}", run.err);
}
