//! The emulator and mpbot-api's client agree on the wire format.

use std::time::Duration;

use mpbot_api::methods::{
    CopyMessage, EditMessageText, GetChatMember, GetMyCommands, GetUpdates, SetMyCommands,
    SetWebhook,
};
use mpbot_api::types::{BotCommand, ChatMemberStatus};
use mpbot_api::{ApiErrorKind, Bot, BotToken, RetryPolicy, UpdateId};
use mpbot_emulator::{Emulator, Fault};

use super::support::{TOKEN, guard, start, user};

fn bot_for(emu: &Emulator) -> Bot {
    Bot::builder(BotToken::new(TOKEN).unwrap())
        .api_url(emu.api_url())
        .request_timeout(Duration::from_secs(5))
        // The test checks how single answers are classified, so the client must not retry them.
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

/// The typed client reads every answer the emulator gives for the common methods.
#[tokio::test]
async fn typed_client_round_trips_common_methods() {
    let emu = start().await;
    let handle = emu.default_bot();
    let bot = bot_for(&emu);
    let me = guard(bot.get_me()).await.unwrap();
    assert_eq!(me.id.get(), 123_456);
    assert_eq!(me.username.as_deref(), Some("demo_bot"));

    let posted = handle.user_message(10, user(10), "hello");
    let updates = guard(bot.get_updates(&GetUpdates::new())).await.unwrap();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].update_id, posted.update_id);
    assert_eq!(
        updates[0].message.as_ref().unwrap().text.as_deref(),
        Some("hello")
    );
    assert_eq!(updates[0].chat_id().map(|c| c.get()), Some(10));

    let sent = guard(bot.send_message(10, "hi back")).await.unwrap();
    let edited = guard(bot.execute(&EditMessageText::new(10, sent.message_id, "edited")))
        .await
        .unwrap();
    assert_eq!(edited.text.as_deref(), Some("edited"));
    let copy = guard(bot.execute(&CopyMessage::new(10, 10, posted.message_id)))
        .await
        .unwrap();
    assert!(copy.message_id.get() > sent.message_id.get());

    guard(bot.execute(&SetMyCommands::new(vec![BotCommand::new("start", "Start")])))
        .await
        .unwrap();
    let commands = guard(bot.execute(&GetMyCommands::new())).await.unwrap();
    assert_eq!(commands, vec![BotCommand::new("start", "Start")]);

    let member = guard(bot.execute(&GetChatMember::new(10, 10)))
        .await
        .unwrap();
    assert_eq!(member.status, ChatMemberStatus::Member);
    let info = guard(bot.get_webhook_info()).await.unwrap();
    assert!(!info.is_set());
    assert_eq!(info.pending_update_count, Some(0));
}

/// The client classifies the emulator's errors: 400, 409, 429 with retry_after, 501.
#[tokio::test]
async fn typed_client_classifies_emulator_errors() {
    let emu = start().await;
    let handle = emu.default_bot();
    let bot = bot_for(&emu);

    let err = guard(bot.send_message(99, "nobody asked"))
        .await
        .unwrap_err();
    assert_eq!(err.api_code(), Some(400));

    handle.inject_fault(Fault::status("getMe", 429).with_retry_after(2));
    let err = guard(bot.get_me()).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::RateLimited));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));

    let err = guard(bot.call::<_, bool>("sendPoll", &serde_json::json!({"chat_id": 1})))
        .await
        .unwrap_err();
    assert_eq!(err.api_code(), Some(501));

    let high = bot.high_risk();
    let err = guard(high.execute(&SetWebhook::new("http://127.0.0.1:9/hook")))
        .await
        .unwrap_err();
    assert_eq!(err.api_code(), Some(400));

    // The client's own long poll ends with a 409 it classifies as a conflict.
    let mut request = GetUpdates::new();
    request.offset = Some(UpdateId(0));
    request.timeout = Some(50);
    let polling = bot.clone();
    let waiting = tokio::spawn(async move { polling.get_updates(&request).await });
    guard(handle.wait_for_long_poll()).await;
    let url = format!("{}/bot{TOKEN}/getUpdates", emu.api_url());
    let second = guard(
        super::support::client()
            .post(url)
            .json(&serde_json::json!({}))
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(second.status().as_u16(), 200);
    let err = guard(waiting).await.unwrap().unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::Conflict));
}
