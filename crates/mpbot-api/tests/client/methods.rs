//! Every typed method: the path it calls, the JSON it sends, the result it decodes; and the
//! high-risk gate.

use mpbot_api::methods::{
    BanChatMember, CopyMessage, DeleteWebhook, EditMessageText, GetUpdates, SendMessage, SetWebhook,
};
use mpbot_api::types::BotCommand;
use mpbot_api::{Error, MessageId, UpdateId};
use serde_json::{Value, json};

use crate::support::{Capture, Recorded, Reply, TestServer};

/// Answers each method with a plausible result.
fn results(request: &Recorded) -> Reply {
    let message = json!({"message_id": 77, "chat": {"id": 42, "type": "private"}, "text": "t"});
    let member =
        json!({"user": {"id": 5, "first_name": "Eve"}, "status": "restricted", "until_date": 0});
    Reply::ok(match request.method.as_str() {
        "getMe" => json!({"id": 1, "is_bot": true, "username": "mp_bot"}),
        "getUpdates" => json!([{"update_id": 10, "message": message}]),
        "getWebhookInfo" => json!({"url": "", "pending_update_count": 0}),
        "sendMessage" | "editMessageText" | "forwardMessage" => message,
        "copyMessage" => json!({"message_id": 78}),
        "getChat" => json!({"id": -100, "type": "group", "title": "Team"}),
        "getChatMember" => member,
        "getChatAdministrators" => json!([member]),
        "getChatMemberCount" => json!(12),
        "getMyCommands" => json!([{"command": "start", "description": "Start"}]),
        _ => json!(true),
    })
}

/// Each ordinary method posts JSON to `/bot/bot{token}/{method}` and decodes its result.
#[tokio::test]
async fn ordinary_methods_call_their_endpoint_and_decode() {
    let server = TestServer::start_with(vec![], results).await;
    let bot = server.bot().build().unwrap();

    assert_eq!(
        bot.get_me().await.unwrap().username.as_deref(),
        Some("mp_bot")
    );
    let mut poll = GetUpdates::new();
    poll.offset = Some(UpdateId(10));
    poll.timeout = Some(0);
    assert_eq!(
        bot.get_updates(&poll).await.unwrap()[0].update_id,
        UpdateId(10)
    );
    assert!(!bot.get_webhook_info().await.unwrap().is_set());
    assert_eq!(
        bot.send_message(42, "hello").await.unwrap().message_id,
        MessageId(77)
    );
    bot.execute(&SendMessage::new(42, "<b>x</b>").with_parse_mode("HTML"))
        .await
        .unwrap();
    bot.edit_message_text(&EditMessageText::new(42, 77, "edited"))
        .await
        .unwrap();
    bot.forward_message(43, 42, 77).await.unwrap();
    assert_eq!(
        bot.copy_message(&CopyMessage::new(43, 42, 77))
            .await
            .unwrap()
            .message_id,
        MessageId(78)
    );
    assert!(bot.pin_chat_message(42, 77).await.unwrap());
    assert!(bot.unpin_chat_message(42, None).await.unwrap());
    assert_eq!(
        bot.get_chat(-100).await.unwrap().title.as_deref(),
        Some("Team")
    );
    assert_eq!(bot.get_chat_member(-100, 5).await.unwrap().user.id.get(), 5);
    assert_eq!(bot.get_chat_administrators(-100).await.unwrap().len(), 1);
    assert_eq!(bot.get_chat_member_count(-100).await.unwrap(), 12);
    assert!(
        bot.set_my_commands(vec![BotCommand::new("start", "Start")])
            .await
            .unwrap()
    );
    assert_eq!(bot.get_my_commands().await.unwrap()[0].command, "start");
    assert!(bot.delete_my_commands().await.unwrap());
    assert!(bot.unban_chat_member(-100, 5).await.unwrap());
    let custom: Value = bot
        .call("getStarTransactions", &json!({"limit": 1}))
        .await
        .unwrap();
    assert_eq!(custom, json!(true));

    let seen: Vec<(String, Value)> = server
        .requests()
        .iter()
        .map(|r| {
            assert!(r.path.starts_with("/bot/bot987654:"), "{}", r.path);
            assert_eq!(r.content_type, "application/json");
            (r.method.clone(), r.json())
        })
        .collect();
    let want = [
        ("getMe", json!({})),
        ("getUpdates", json!({"offset": 10, "timeout": 0})),
        ("getWebhookInfo", json!({})),
        ("sendMessage", json!({"chat_id": 42, "text": "hello"})),
        (
            "sendMessage",
            json!({"chat_id": 42, "text": "<b>x</b>", "parse_mode": "HTML"}),
        ),
        (
            "editMessageText",
            json!({"chat_id": 42, "message_id": 77, "text": "edited"}),
        ),
        (
            "forwardMessage",
            json!({"chat_id": 43, "from_chat_id": 42, "message_id": 77}),
        ),
        (
            "copyMessage",
            json!({"chat_id": 43, "from_chat_id": 42, "message_id": 77}),
        ),
        ("pinChatMessage", json!({"chat_id": 42, "message_id": 77})),
        ("unpinChatMessage", json!({"chat_id": 42})),
        ("getChat", json!({"chat_id": -100})),
        ("getChatMember", json!({"chat_id": -100, "user_id": 5})),
        ("getChatAdministrators", json!({"chat_id": -100})),
        ("getChatMemberCount", json!({"chat_id": -100})),
        (
            "setMyCommands",
            json!({"commands": [{"command": "start", "description": "Start"}]}),
        ),
        ("getMyCommands", json!({})),
        ("deleteMyCommands", json!({})),
        ("unbanChatMember", json!({"chat_id": -100, "user_id": 5})),
        ("getStarTransactions", json!({"limit": 1})),
    ];
    let want: Vec<(String, Value)> = want.into_iter().map(|(m, v)| (m.to_owned(), v)).collect();
    assert_eq!(seen, want);
}

/// High-risk method names are refused by `Bot::call` before anything is sent, in any case.
#[tokio::test]
async fn bot_call_refuses_high_risk_methods() {
    let server = TestServer::start_with(vec![], results).await;
    let bot = server.bot().build().unwrap();
    for method in [
        "setWebhook",
        "deleteWebhook",
        "logOut",
        "leaveChat",
        "deleteMessage",
        "deleteMessages",
        "banChatMember",
        "DELETEWEBHOOK",
        "setwebhook",
    ] {
        let error = bot.call::<_, bool>(method, &json!({})).await.unwrap_err();
        assert!(
            matches!(error, Error::HighRiskRefused { .. }),
            "{method}: {error:?}"
        );
        assert_eq!(error.method(), method);
    }
    assert_eq!(server.count(), 0);
}

/// The high-risk handle reaches every high-risk method, and each call logs a warning naming it.
#[tokio::test]
async fn high_risk_handle_calls_and_warns() {
    let capture = Capture::start();
    let server = TestServer::start_with(vec![], results).await;
    let bot = server.bot().build().unwrap();
    let risky = bot.high_risk();
    let mut hook = SetWebhook::new("https://bot.example/hook");
    hook.secret_token = Some("webhook-secret-value".into());
    assert!(risky.set_webhook(&hook).await.unwrap());
    assert!(risky.delete_webhook(&DeleteWebhook::new()).await.unwrap());
    assert!(risky.log_out().await.unwrap());
    assert!(risky.leave_chat(-100).await.unwrap());
    assert!(risky.delete_message(42, 77).await.unwrap());
    assert!(
        risky
            .delete_messages(42, vec![MessageId(1), MessageId(2)])
            .await
            .unwrap()
    );
    assert!(
        risky
            .ban_chat_member(&BanChatMember::new(-100, 5))
            .await
            .unwrap()
    );
    let by_name: bool = risky
        .call("leaveChat", &json!({"chat_id": 1}))
        .await
        .unwrap();
    assert!(by_name);
    // Ordinary methods work through the handle too, without a warning.
    risky
        .execute(&mpbot_api::methods::GetMe::new())
        .await
        .unwrap();

    let methods: Vec<String> = server.requests().iter().map(|r| r.method.clone()).collect();
    assert_eq!(
        methods,
        [
            "setWebhook",
            "deleteWebhook",
            "logOut",
            "leaveChat",
            "deleteMessage",
            "deleteMessages",
            "banChatMember",
            "leaveChat",
            "getMe"
        ]
    );
    assert_eq!(
        server.requests()[5].json(),
        json!({"chat_id": 42, "message_ids": [1, 2]})
    );
    let log = capture.output();
    assert_eq!(log.matches("high-risk").count(), 8, "{log}");
    for method in ["setWebhook", "deleteWebhook", "logOut", "banChatMember"] {
        assert!(log.contains(method), "{method} not in {log}");
    }
    assert!(!log.contains("webhook-secret-value"));
}

fn assert_send<T: Send>(_: &T) {}

/// The futures of the public async methods are `Send`, so callers can spawn them.
#[tokio::test]
async fn public_futures_are_send() {
    let server = TestServer::start_with(vec![], results).await;
    let bot = server.bot().build().unwrap();
    assert_send(&bot.get_me());
    assert_send(&bot.get_updates(&GetUpdates::new()));
    assert_send(&bot.send_message(1, "x"));
    assert_send(&bot.execute(&SendMessage::new(1, "x")));
    assert_send(&bot.call::<_, Value>("getMe", &json!({})));
    let photo = mpbot_api::methods::SendPhoto::new(1, mpbot_api::InputFile::upload("a", vec![1]));
    assert_send(&bot.send_photo(&photo));
    let risky = bot.high_risk();
    assert_send(&risky.set_webhook(&SetWebhook::new("https://x.example")));
    assert_send(&risky.call::<_, bool>("logOut", &json!({})));
    // Spawning one proves it end to end.
    let handle = tokio::spawn(async move { bot.get_me().await });
    assert!(handle.await.unwrap().is_ok());
}
