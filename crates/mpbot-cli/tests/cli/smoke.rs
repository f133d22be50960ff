//! `mpbot smoke`: the five steps against a running bot, and the failing step named when the
//! bot is down.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use mpbot_api::methods::GetUpdates;
use mpbot_api::{Bot, BotToken};
use mpbot_cli::{Exit, Shutdown};
use sha2::Sha256;

use super::support::{NotAnEmulator, TOKEN, USERNAME, World, guard, run_cli};

/// A minimal polling bot (no mpbot facade): answers every message with "pong" until aborted.
fn spawn_pong_bot(world: &World) -> tokio::task::JoinHandle<()> {
    let bot = Bot::builder(BotToken::new(TOKEN).unwrap())
        .api_url(world.emu.api_url())
        .build()
        .unwrap();
    tokio::spawn(async move {
        let mut request = GetUpdates::new();
        request.timeout = Some(5);
        loop {
            let Ok(updates) = bot.get_updates(&request).await else {
                continue;
            };
            for update in updates {
                if let Some(message) = &update.message {
                    let _ = bot.send_message(message.chat.id, "pong").await;
                }
            }
        }
    })
}

/// initData signed with `token` the way MPChat signs it, `auth_date` now.
fn signed_init_data(token: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let user = r#"{"id":42,"first_name":"Ann"}"#;
    let pairs = [("auth_date", now.to_string()), ("user", user.to_owned())];
    let check = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut secret = Hmac::<Sha256>::new_from_slice(b"WebAppData").unwrap();
    secret.update(token.as_bytes());
    let key = secret.finalize().into_bytes();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(check.as_bytes());
    let hash = hex::encode(mac.finalize().into_bytes());
    let user_encoded = user
        .replace('{', "%7B")
        .replace('}', "%7D")
        .replace('"', "%22")
        .replace(':', "%3A")
        .replace(',', "%2C");
    format!("auth_date={now}&user={user_encoded}&hash={hash}")
}

/// Against a running polling bot every step passes; without --init-data step 5 is skipped.
#[tokio::test]
async fn smoke_passes_against_a_running_bot() {
    let world = World::start().await;
    let bot = spawn_pong_bot(&world);
    let config = world.polling("");
    let run = world
        .mpbot(&["smoke", "-c", config.to_str().unwrap(), "--chat-id", "42"])
        .await;
    bot.abort();
    assert_eq!(run.exit, Exit::Success, "{}", run.all());
    for line in [
        format!("1. getMe: pass: the token is valid: @{USERNAME} (id 4242)"),
        "2. getWebhookInfo: pass: no webhook is set, as polling needs".to_owned(),
        "3. an update reaches the bot: pass: the emulator posted \"/start\"".to_owned(),
        "4. sendMessage: pass: message".to_owned(),
        "5. initData verification: skipped: no --init-data given".to_owned(),
        "smoke test: passed (4 passed, 1 skipped)".to_owned(),
    ] {
        assert!(run.out.contains(&line), "missing {line:?} in:\n{}", run.out);
    }
    let sent = world.bot().sent();
    assert_eq!(sent.len(), 2, "the bot's answer and step 4's message");
    assert!(sent.iter().all(|m| m.chat_id.get() == 42));
}

/// With the bot down, step 3 fails (the update is never fetched) and is named; the other
/// steps still report.
#[tokio::test]
async fn smoke_fails_at_step_3_when_the_bot_is_down() {
    let world = World::start().await;
    let config = world.polling("");
    let run = world
        .mpbot(&[
            "smoke",
            "-c",
            config.to_str().unwrap(),
            "--chat-id",
            "42",
            "--wait-secs",
            "1",
        ])
        .await;
    assert_eq!(run.exit, Exit::SmokeFailed, "{}", run.all());
    assert!(
        run.out
            .contains("3. an update reaches the bot: FAIL: update"),
        "{}",
        run.out
    );
    assert!(run.out.contains("the bot did not fetch it"), "{}", run.out);
    assert!(run.out.contains("4. sendMessage: pass"), "{}", run.out);
    assert!(
        run.out
            .contains("smoke test: FAILED at step 3 (an update reaches the bot)"),
        "{}",
        run.out
    );
}

/// A polling config while a webhook is registered fails step 2 with the fix.
#[tokio::test]
async fn smoke_fails_at_step_2_when_a_webhook_blocks_polling() {
    let world = World::start().await;
    let receiver = super::support::Receiver::start(&world.ca, 200).await;
    world.register_webhook(&receiver.url()).await;
    let config = world.polling("");
    let run = world
        .mpbot(&[
            "smoke",
            "-c",
            config.to_str().unwrap(),
            "--chat-id",
            "42",
            "--wait-secs",
            "1",
        ])
        .await;
    assert_eq!(run.exit, Exit::SmokeFailed, "{}", run.all());
    assert!(
        run.out
            .contains("2. getWebhookInfo: FAIL: a webhook is registered"),
        "{}",
        run.out
    );
    assert!(
        run.out.contains("mpbot webhook delete --config"),
        "{}",
        run.out
    );
    assert!(
        run.out.contains("FAILED at step 2 (getWebhookInfo)"),
        "{}",
        run.out
    );
}

/// Step 5 passes for initData signed with the bot's token and fails for a tampered one.
#[tokio::test]
async fn smoke_step_5_verifies_init_data() {
    let world = World::start().await;
    let bot = spawn_pong_bot(&world);
    let config = world.polling("");
    let good = signed_init_data(TOKEN);
    let run = world
        .mpbot(&[
            "smoke",
            "-c",
            config.to_str().unwrap(),
            "--chat-id",
            "42",
            "--init-data",
            &good,
        ])
        .await;
    assert_eq!(run.exit, Exit::Success, "{}", run.all());
    assert!(
        run.out
            .contains("5. initData verification: pass: signed with this bot's token, for user 42"),
        "{}",
        run.out
    );
    assert!(
        !run.out.contains(&good),
        "the initData itself is not printed"
    );

    let forged = signed_init_data("4242:another-token");
    let run = world
        .mpbot(&[
            "smoke",
            "-c",
            config.to_str().unwrap(),
            "--chat-id",
            "42",
            "--init-data",
            &forged,
        ])
        .await;
    bot.abort();
    assert_eq!(run.exit, Exit::SmokeFailed, "{}", run.all());
    assert!(
        run.out.contains("5. initData verification: FAIL"),
        "{}",
        run.out
    );
    assert!(run.out.contains("FAILED at step 5"), "{}", run.out);
}

/// A token MPChat rejects fails step 1, and the later steps are not run.
#[tokio::test]
async fn smoke_stops_after_a_failed_get_me() {
    let world = World::start().await;
    let stranger = mpbot_emulator::Emulator::builder().start().await.unwrap();
    let config = world.config_named(
        "stranger.toml",
        &format!("[bot]\napi_url = \"{}\"\n", stranger.api_url()),
    );
    let run = world
        .mpbot(&["smoke", "-c", config.to_str().unwrap(), "--chat-id", "42"])
        .await;
    assert_eq!(run.exit, Exit::SmokeFailed, "{}", run.all());
    assert!(run.out.contains("1. getMe: FAIL: getMe"), "{}", run.out);
    assert!(
        run.out.contains("2. getWebhookInfo: not run"),
        "{}",
        run.out
    );
    assert!(run.out.contains("FAILED at step 1 (getMe)"), "{}", run.out);
}

/// Against MPChat (no control API) step 3 asks the operator, and passes on their "y".
#[tokio::test]
async fn smoke_against_mpchat_asks_the_operator() {
    let world = World::start().await;
    let bot = spawn_pong_bot(&world);
    let mpchat = NotAnEmulator::start(&world.emu).await;
    let config = world.config_named(
        "mpchat.toml",
        &format!("[bot]\napi_url = \"{}\"\n", mpchat.api_url),
    );
    // The operator writes to the bot (so the chat exists) and sees its answer.
    world
        .bot()
        .user_message(42, mpbot_api::User::new(42), "/start");
    guard(world.bot().wait_for_sent(1)).await;
    let run = run_cli(
        &["smoke", "-c", config.to_str().unwrap(), "--chat-id", "42"],
        Some("y\n"),
        Shutdown::never(),
    )
    .await;
    assert_eq!(run.exit, Exit::Success, "{}", run.all());
    assert!(
        run.out.contains(&format!(
            "3. send \"/start\" to @{USERNAME} in chat 42 now; type y and Enter once the bot \
             has answered"
        )),
        "{}",
        run.out
    );
    assert!(
        run.out
            .contains("3. an update reaches the bot: pass: confirmed by the operator"),
        "{}",
        run.out
    );

    for answer in ["n\n", ""] {
        let run = run_cli(
            &["smoke", "-c", config.to_str().unwrap(), "--chat-id", "42"],
            Some(answer),
            Shutdown::never(),
        )
        .await;
        assert_eq!(run.exit, Exit::SmokeFailed, "{answer:?}: {}", run.all());
        assert!(
            run.out.contains(
                "3. an update reaches the bot: FAIL: the operator did not confirm an answer"
            ),
            "{}",
            run.out
        );
    }
    bot.abort();
}
