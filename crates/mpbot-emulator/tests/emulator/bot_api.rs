//! The Bot API surface: envelope, status codes, parameter encodings, and each method's state.

use mpbot_api::{ChatType, User};
use mpbot_emulator::Emulator;
use serde_json::{Value, json};

use super::support::{TOKEN, answer, assert_error, call, call_as, client, guard, start, user};

/// A success is HTTP 200, `application/json`, `{"ok": true, "result": ...}` with no error fields.
#[tokio::test]
async fn get_me_answers_the_bot_identity_in_a_success_envelope() {
    let emu = start().await;
    let a = call(&emu, "getMe", json!({})).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.content_type, "application/json");
    assert_eq!(a.body["ok"], true);
    assert_eq!(a.body["result"]["id"], 123_456);
    assert_eq!(a.body["result"]["is_bot"], true);
    assert_eq!(a.body["result"]["username"], "demo_bot");
    assert!(a.body.get("error_code").is_none());
    assert!(a.body.get("description").is_none());
}

/// A token the emulator does not know gets 401 with an error envelope.
#[tokio::test]
async fn unknown_token_gets_401() {
    let emu = start().await;
    let a = call_as(&emu, "999:NOPE", "getMe", json!({})).await;
    assert_error(&a, 401);
}

/// A method that does not exist gets 404 with an error envelope.
#[tokio::test]
async fn unknown_method_gets_404() {
    let emu = start().await;
    assert_error(&call(&emu, "sendTelepathy", json!({})).await, 404);
}

/// sendChatAction, sendLocation and sendPoll answer 501 as MPChat documents.
#[tokio::test]
async fn documented_unsupported_methods_get_501() {
    let emu = start().await;
    for method in ["sendChatAction", "sendLocation", "sendPoll"] {
        let a = call(&emu, method, json!({"chat_id": 1})).await;
        assert_error(&a, 501);
        assert!(a.body["description"].as_str().unwrap().contains(method));
    }
}

/// Query-string parameters work on a GET, Telegram-style.
#[tokio::test]
async fn query_string_parameters_work_on_get() {
    let emu = start().await;
    let bot = emu.default_bot();
    bot.user_message(77, user(77), "hi");
    let url = format!(
        "{}/bot{TOKEN}/sendMessage?chat_id=77&text=hello%20there",
        emu.api_url()
    );
    let a = answer(guard(client().get(url).send()).await.unwrap()).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["result"]["text"], "hello there");
    assert_eq!(bot.sent()[0].text.as_deref(), Some("hello there"));
}

/// A form body works, with JSON-valued fields given as JSON strings.
#[tokio::test]
async fn form_body_with_json_string_fields_is_read() {
    let emu = start().await;
    let bot = emu.default_bot();
    bot.user_message(78, user(78), "hi");
    let markup = json!({"inline_keyboard": [[{"text": "Open", "web_app": {"url": "https://example.test/app"}}]]});
    let url = format!("{}/bot{TOKEN}/sendMessage", emu.api_url());
    let form = [
        ("chat_id", "78".to_owned()),
        ("text", "menu".to_owned()),
        ("reply_markup", markup.to_string()),
    ];
    let body = serde_urlencoded::to_string(form).unwrap();
    let resp = client()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send();
    let a = answer(guard(resp).await.unwrap()).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["result"]["reply_markup"], markup);
    assert_eq!(bot.sent()[0].reply_markup.as_ref(), Some(&markup));
}

/// sendMessage to a chat no user opened is 400 (bots cannot start conversations); a string
/// chat_id works once the user wrote.
#[tokio::test]
async fn send_message_needs_a_conversation_and_accepts_string_chat_ids() {
    let emu = start().await;
    let a = call(&emu, "sendMessage", json!({"chat_id": 5, "text": "hi"})).await;
    assert_error(&a, 400);
    emu.default_bot().user_message(5, user(5), "hello");
    let a = call(&emu, "sendMessage", json!({"chat_id": "5", "text": "hi"})).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["result"]["chat"]["id"], 5);
    assert_eq!(a.body["result"]["chat"]["type"], "private");
    assert_eq!(a.body["result"]["from"]["id"], 123_456);
    assert!(a.body["result"]["date"].is_i64());
}

/// A missing required parameter is a 400 naming it.
#[tokio::test]
async fn missing_parameter_is_400_naming_it() {
    let emu = start().await;
    emu.default_bot().user_message(5, user(5), "hello");
    let a = call(&emu, "sendMessage", json!({"chat_id": 5})).await;
    assert_error(&a, 400);
    assert!(a.body["description"].as_str().unwrap().contains("text"));
}

/// A message posted without a chat type makes a private chat; a group keeps its type.
#[tokio::test]
async fn chat_types_default_to_private_and_groups_keep_theirs() {
    let emu = start().await;
    let bot = emu.default_bot();
    bot.user_message(1, user(1), "a");
    bot.user_message_in(-100, ChatType::Group, user(2), "b");
    let a = call(&emu, "getChat", json!({"chat_id": 1})).await;
    assert_eq!(a.body["result"]["type"], "private");
    let a = call(&emu, "getChat", json!({"chat_id": -100})).await;
    assert_eq!(a.body["result"]["type"], "group");
    // Writing again without a type does not change it.
    bot.user_message(-100, user(2), "c");
    let a = call(&emu, "getChat", json!({"chat_id": -100})).await;
    assert_eq!(a.body["result"]["type"], "group");
}

/// editMessageText changes the message and appends its own sent entry; editing a missing
/// message is 400.
#[tokio::test]
async fn edit_message_text_changes_text_and_logs_an_edit() {
    let emu = start().await;
    let bot = emu.default_bot();
    bot.user_message(9, user(9), "hi");
    let sent = call(&emu, "sendMessage", json!({"chat_id": 9, "text": "v1"})).await;
    let id = sent.body["result"]["message_id"].as_i64().unwrap();
    let a = call(
        &emu,
        "editMessageText",
        json!({"chat_id": 9, "message_id": id, "text": "v2"}),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["result"]["text"], "v2");
    let log = bot.sent();
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].method, "editMessageText");
    assert_eq!(log[1].message_id.get(), id);
    assert_eq!(log[1].text.as_deref(), Some("v2"));
    let a = call(
        &emu,
        "editMessageText",
        json!({"chat_id": 9, "message_id": 9999, "text": "x"}),
    )
    .await;
    assert_error(&a, 400);
}

/// forwardMessage and copyMessage create new messages in the target chat and log them.
#[tokio::test]
async fn forward_and_copy_create_messages() {
    let emu = start().await;
    let bot = emu.default_bot();
    let src = bot.user_message(1, user(1), "original");
    bot.user_message(2, user(2), "hi");
    let a = call(
        &emu,
        "forwardMessage",
        json!({"chat_id": 2, "from_chat_id": 1, "message_id": src.message_id}),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["result"]["text"], "original");
    assert_eq!(a.body["result"]["forward_from"]["id"], 1);
    let a = call(
        &emu,
        "copyMessage",
        json!({"chat_id": 2, "from_chat_id": 1, "message_id": src.message_id}),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let copy_id = a.body["result"]["message_id"].as_i64().unwrap();
    let log = bot.sent();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].method, "forwardMessage");
    assert_eq!(log[1].method, "copyMessage");
    assert_eq!(log[1].message_id.get(), copy_id);
    assert_eq!(log[1].text.as_deref(), Some("original"));
    let a = call(
        &emu,
        "copyMessage",
        json!({"chat_id": 2, "from_chat_id": 1, "message_id": 12345}),
    )
    .await;
    assert_error(&a, 400);
}

/// pinChatMessage shows in getChat's pinned_message; unpinChatMessage removes it.
#[tokio::test]
async fn pin_and_unpin_show_in_get_chat() {
    let emu = start().await;
    let bot = emu.default_bot();
    let m = bot.user_message_in(-7, ChatType::Supergroup, user(1), "pin me");
    let a = call(
        &emu,
        "pinChatMessage",
        json!({"chat_id": -7, "message_id": m.message_id}),
    )
    .await;
    assert_eq!(a.body["result"], true);
    let chat = call(&emu, "getChat", json!({"chat_id": -7})).await;
    assert_eq!(chat.body["result"]["pinned_message"]["text"], "pin me");
    let a = call(&emu, "unpinChatMessage", json!({"chat_id": -7})).await;
    assert_eq!(a.body["result"], true);
    let chat = call(&emu, "getChat", json!({"chat_id": -7})).await;
    assert!(chat.body["result"].get("pinned_message").is_none());
}

/// banChatMember mutes (the member stays, restricted); unbanChatMember lifts it; admins and
/// member counts reflect the chat.
#[tokio::test]
async fn ban_mutes_and_unban_lifts_and_members_are_counted() {
    let emu = start().await;
    let bot = emu.default_bot();
    bot.user_message_in(-5, ChatType::Group, user(1), "hi");
    bot.join(-5, vec![user(2), user(3)], None);
    let count = call(&emu, "getChatMemberCount", json!({"chat_id": -5})).await;
    assert_eq!(count.body["result"], 4, "three users and the bot");
    let a = call(&emu, "banChatMember", json!({"chat_id": -5, "user_id": 2})).await;
    assert_eq!(a.body["result"], true);
    let m = call(&emu, "getChatMember", json!({"chat_id": -5, "user_id": 2})).await;
    assert_eq!(m.body["result"]["status"], "restricted");
    assert_eq!(m.body["result"]["user"]["id"], 2);
    let count = call(&emu, "getChatMemberCount", json!({"chat_id": -5})).await;
    assert_eq!(count.body["result"], 4, "a muted member stays");
    call(
        &emu,
        "unbanChatMember",
        json!({"chat_id": -5, "user_id": 2}),
    )
    .await;
    let m = call(&emu, "getChatMember", json!({"chat_id": -5, "user_id": 2})).await;
    assert_eq!(m.body["result"]["status"], "member");
    let admins = call(&emu, "getChatAdministrators", json!({"chat_id": -5})).await;
    assert_eq!(admins.body["result"][0]["user"]["id"], 123_456);
    bot.leave(-5, user(3), None);
    let count = call(&emu, "getChatMemberCount", json!({"chat_id": -5})).await;
    assert_eq!(count.body["result"], 3);
}

/// setMyCommands is read back by getMyCommands and cleared by deleteMyCommands; all answer true.
#[tokio::test]
async fn command_menu_round_trips() {
    let emu = start().await;
    let cmds = json!([{"command": "start", "description": "Start"}]);
    let a = call(&emu, "setMyCommands", json!({"commands": cmds})).await;
    assert_eq!(a.body["result"], true);
    assert_eq!(
        call(&emu, "getMyCommands", json!({})).await.body["result"],
        cmds
    );
    assert_eq!(
        call(&emu, "deleteMyCommands", json!({})).await.body["result"],
        true
    );
    assert_eq!(
        call(&emu, "getMyCommands", json!({})).await.body["result"],
        json!([])
    );
}

/// sendPhoto takes a URL; sendDocument takes a multipart upload; a bare file_id is refused.
#[tokio::test]
async fn media_by_url_or_multipart_upload() {
    let emu = start().await;
    let bot = emu.default_bot();
    bot.user_message(3, user(3), "hi");
    let a = call(
        &emu,
        "sendPhoto",
        json!({"chat_id": 3, "photo": "https://example.test/p.png", "caption": "pic"}),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(
        a.body["result"]["photo"]["url"],
        "https://example.test/p.png"
    );
    assert_eq!(a.body["result"]["caption"], "pic");

    let boundary = "XyZboundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n3\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"document\"; filename=\"a.txt\"\r\n\
         Content-Type: text/plain\r\n\r\nhello file\r\n--{boundary}--\r\n"
    );
    let url = format!("{}/bot{TOKEN}/sendDocument", emu.api_url());
    let resp = client()
        .post(url)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send();
    let a = answer(guard(resp).await.unwrap()).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["result"]["document"]["file_name"], "a.txt");
    assert_eq!(a.body["result"]["document"]["file_size"], 10);
    let log = bot.sent();
    assert_eq!(log[0].method, "sendPhoto");
    assert_eq!(log[1].method, "sendDocument");

    let a = call(
        &emu,
        "sendVideo",
        json!({"chat_id": 3, "video": "AgADBAAD-file-id"}),
    )
    .await;
    assert_error(&a, 400);
}

/// deleteMessage removes the message (a second delete, or an edit, is then 400).
#[tokio::test]
async fn delete_message_removes_it() {
    let emu = start().await;
    emu.default_bot().user_message(4, user(4), "hi");
    let sent = call(&emu, "sendMessage", json!({"chat_id": 4, "text": "oops"})).await;
    let id = sent.body["result"]["message_id"].clone();
    assert_eq!(
        call(
            &emu,
            "deleteMessage",
            json!({"chat_id": 4, "message_id": id})
        )
        .await
        .body["result"],
        true
    );
    assert_error(
        &call(
            &emu,
            "deleteMessage",
            json!({"chat_id": 4, "message_id": id}),
        )
        .await,
        400,
    );
    assert_error(
        &call(
            &emu,
            "editMessageText",
            json!({"chat_id": 4, "message_id": id, "text": "x"}),
        )
        .await,
        400,
    );
}

/// After leaveChat the bot can no longer send there (403) until a user writes again.
#[tokio::test]
async fn leave_chat_ends_the_conversation() {
    let emu = start().await;
    let bot = emu.default_bot();
    bot.user_message_in(-9, ChatType::Group, user(1), "hi");
    assert_eq!(
        call(&emu, "leaveChat", json!({"chat_id": -9})).await.body["result"],
        true
    );
    assert_error(
        &call(&emu, "sendMessage", json!({"chat_id": -9, "text": "x"})).await,
        403,
    );
    bot.user_message(-9, user(1), "come back");
    assert_eq!(
        call(&emu, "sendMessage", json!({"chat_id": -9, "text": "x"}))
            .await
            .status,
        200
    );
}

/// A bot's id is the number before `:`; a token without one gets a stable id; bots have
/// separate state.
#[tokio::test]
async fn bot_ids_come_from_tokens_and_bots_are_separate() {
    let emu = Emulator::builder()
        .bot("777:AAA", "first_bot")
        .bot("opaque-token", "second_bot")
        .start()
        .await
        .unwrap();
    let a = call_as(&emu, "777:AAA", "getMe", json!({})).await;
    assert_eq!(a.body["result"]["id"], 777);
    let b1 = call_as(&emu, "opaque-token", "getMe", json!({})).await;
    let id = b1.body["result"]["id"].as_i64().unwrap();
    assert!(id > 0);
    assert_eq!(b1.body["result"]["username"], "second_bot");
    // The default bot does not exist when bots are configured.
    assert_error(&call(&emu, "getMe", json!({})).await, 401);
    // Stable across emulators.
    let emu2 = Emulator::builder()
        .bot("opaque-token", "x")
        .start()
        .await
        .unwrap();
    assert_eq!(
        call_as(&emu2, "opaque-token", "getMe", json!({}))
            .await
            .body["result"]["id"],
        id
    );
    // Faults are per bot.
    emu.bot("777:AAA")
        .inject_fault(mpbot_emulator::Fault::status("getMe", 500));
    assert_eq!(
        call_as(&emu, "opaque-token", "getMe", json!({}))
            .await
            .status,
        200
    );
    assert_error(&call_as(&emu, "777:AAA", "getMe", json!({})).await, 500);
    emu.bot("777:AAA").user_message(1, User::new(1), "hi");
    assert_eq!(emu.bot("777:AAA").pending_count(), 1);
    assert_eq!(emu.bot("opaque-token").pending_count(), 0);
}

/// Beyond the per-token rate limit a call gets 429 with `parameters.retry_after` ≥ 1.
#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let emu = Emulator::builder()
        .rate_limit(Some(1))
        .start()
        .await
        .unwrap();
    let mut limited: Option<Value> = None;
    for _ in 0..3 {
        let a = call(&emu, "getMe", json!({})).await;
        if a.status == 429 {
            limited = Some(a.body);
            break;
        }
    }
    let body = limited.expect("a 429 within three quick calls at 1/s");
    assert_eq!(body["error_code"], 429);
    assert!(body["parameters"]["retry_after"].as_u64().unwrap() >= 1);
}

/// Every response is JSON, including errors on unknown paths.
#[tokio::test]
async fn unknown_paths_answer_json_404() {
    let emu = start().await;
    let url = format!("{}/nothing/here", emu.base_url());
    let a = answer(guard(client().get(url).send()).await.unwrap()).await;
    assert_error(&a, 404);
}

fn assert_send<T: Send>(_: &T) {}

/// The public async functions return `Send` futures, so they work inside `tokio::spawn`.
#[tokio::test]
async fn public_futures_are_send() {
    let emu = start().await;
    let bot = emu.default_bot();
    assert_send(&Emulator::builder().start());
    assert_send(&bot.wait_for_sent(0));
    assert_send(&bot.wait_for_deliveries(0));
    assert_send(&bot.wait_until_drained());
    assert_send(&bot.wait_for_long_poll());
    assert_send(&bot.wait_for_no_long_poll());
    // And they resolve at once when already satisfied.
    assert!(guard(bot.wait_for_sent(0)).await.is_empty());
    let shutdown = emu.shutdown();
    assert_send(&shutdown);
    guard(shutdown).await;
}

/// deleteMessages removes several messages; setChatPhoto shows in getChat; logOut answers true.
#[tokio::test]
async fn delete_messages_set_chat_photo_and_log_out() {
    let emu = start().await;
    let bot = emu.default_bot();
    bot.user_message_in(-6, ChatType::Group, user(1), "hi");
    let mut ids = Vec::new();
    for text in ["a", "b"] {
        let a = call(&emu, "sendMessage", json!({"chat_id": -6, "text": text})).await;
        ids.push(a.body["result"]["message_id"].clone());
    }
    let a = call(
        &emu,
        "deleteMessages",
        json!({"chat_id": -6, "message_ids": ids}),
    )
    .await;
    assert_eq!(a.body["result"], true);
    for id in &ids {
        let edit = call(
            &emu,
            "editMessageText",
            json!({"chat_id": -6, "message_id": id, "text": "x"}),
        )
        .await;
        assert_error(&edit, 400);
    }
    let chat = call(&emu, "getChat", json!({"chat_id": -6})).await;
    assert!(chat.body["result"].get("photo").is_none());
    let a = call(
        &emu,
        "setChatPhoto",
        json!({"chat_id": -6, "photo": "https://example.test/p.png"}),
    )
    .await;
    assert_eq!(a.body["result"], true);
    let chat = call(&emu, "getChat", json!({"chat_id": -6})).await;
    assert!(chat.body["result"]["photo"].is_object());
    assert_eq!(call(&emu, "logOut", json!({})).await.body["result"], true);
}
