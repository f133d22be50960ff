//! The control API routes and the faults they inject.

use std::time::Duration;

use mpbot_emulator::Fault;
use reqwest::Method;
use serde_json::json;

use super::support::{TOKEN, assert_error, call, client, control, guard, start, user};

fn bot_path(route: &str) -> String {
    format!("bots/{TOKEN}/{route}")
}

/// POST messages creates the chat and an update; answers update_id and message_id.
#[tokio::test]
async fn control_messages_create_an_update_and_answer_ids() {
    let emu = start().await;
    let a = control(&emu, Method::POST, &bot_path("messages"), Some(json!({
        "chat_id": 501, "from": {"id": 501, "first_name": "Ann", "username": "ann"}, "text": "hello"
    }))).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.content_type, "application/json");
    let update_id = a.body["update_id"].as_i64().unwrap();
    let message_id = a.body["message_id"].as_i64().unwrap();
    let u = call(&emu, "getUpdates", json!({})).await.body["result"][0].clone();
    assert_eq!(u["update_id"], update_id);
    assert_eq!(u["message"]["message_id"], message_id);
    assert_eq!(
        u["message"]["chat"],
        json!({"id": 501, "type": "private", "first_name": "Ann", "username": "ann"})
    );
    assert_eq!(u["message"]["from"]["is_bot"], false);
    assert_eq!(u["message"]["text"], "hello");
}

/// joins, leaves and pins arrive as new_chat_members, left_chat_member and pinned_message.
#[tokio::test]
async fn group_events_are_service_messages() {
    let emu = start().await;
    let m = control(
        &emu,
        Method::POST,
        &bot_path("messages"),
        Some(json!({
            "chat_id": -300, "chat_type": "supergroup", "from": {"id": 1}, "text": "pin this"
        })),
    )
    .await;
    let message_id = m.body["message_id"].clone();
    let j = control(
        &emu,
        Method::POST,
        &bot_path("joins"),
        Some(json!({
            "chat_id": -300, "members": [{"id": 2, "first_name": "Bo"}]
        })),
    )
    .await;
    let l = control(
        &emu,
        Method::POST,
        &bot_path("leaves"),
        Some(json!({
            "chat_id": -300, "member": {"id": 2}, "from": {"id": 1}
        })),
    )
    .await;
    let p = control(
        &emu,
        Method::POST,
        &bot_path("pins"),
        Some(json!({
            "chat_id": -300, "message_id": message_id, "from": {"id": 1}
        })),
    )
    .await;
    for a in [&j, &l, &p] {
        assert_eq!(a.status, 200, "{:?}", a.body);
        assert!(a.body["update_id"].is_i64());
        assert!(a.body.get("message_id").is_none());
    }
    let updates = call(&emu, "getUpdates", json!({})).await.body["result"].clone();
    assert_eq!(updates[1]["update_id"], j.body["update_id"]);
    assert_eq!(updates[1]["message"]["new_chat_members"][0]["id"], 2);
    assert_eq!(updates[1]["message"]["chat"]["type"], "supergroup");
    assert_eq!(updates[2]["message"]["left_chat_member"]["id"], 2);
    assert_eq!(updates[3]["message"]["pinned_message"]["text"], "pin this");
    assert_eq!(updates[3]["message"]["from"]["id"], 1);
}

/// POST updates queues any raw JSON, assigning an update_id when missing.
#[tokio::test]
async fn raw_updates_are_queued_with_ids() {
    let emu = start().await;
    let a = control(
        &emu,
        Method::POST,
        &bot_path("updates"),
        Some(json!({"my_chat_member": {"chat": {"id": 1}}})),
    )
    .await;
    let id = a.body["update_id"].as_i64().unwrap();
    let b = control(&emu, Method::POST, &bot_path("updates"), Some(json!({"update_id": 1000, "message": {"message_id": 1, "chat": {"id": 1, "type": "private"}}}))).await;
    assert_eq!(b.body["update_id"], 1000);
    let bad = control(
        &emu,
        Method::POST,
        &bot_path("updates"),
        Some(json!([1, 2])),
    )
    .await;
    assert_error(&bad, 400);
    let updates = call(&emu, "getUpdates", json!({})).await.body["result"].clone();
    assert_eq!(updates[0]["update_id"], id);
    assert_eq!(updates[0]["my_chat_member"]["chat"]["id"], 1);
    assert_eq!(updates[1]["update_id"], 1000);
}

/// GET sent lists sends and edits in order with chat_id, message_id, text, reply_markup, method.
#[tokio::test]
async fn sent_lists_every_send_and_edit() {
    let emu = start().await;
    emu.default_bot().user_message(8, user(8), "hi");
    let s = call(&emu, "sendMessage", json!({"chat_id": 8, "text": "one"})).await;
    let id = s.body["result"]["message_id"].clone();
    call(
        &emu,
        "editMessageText",
        json!({"chat_id": 8, "message_id": id, "text": "two"}),
    )
    .await;
    let a = control(&emu, Method::GET, &bot_path("sent"), None).await;
    assert_eq!(
        a.body,
        json!([
            {"chat_id": 8, "message_id": id, "text": "one", "reply_markup": null, "method": "sendMessage"},
            {"chat_id": 8, "message_id": id, "text": "two", "reply_markup": null, "method": "editMessageText"},
        ])
    );
}

/// A status fault answers the next `times` calls of that method with the status, the envelope
/// and retry_after; later calls and other methods are untouched; DELETE clears faults.
#[tokio::test]
async fn status_faults_apply_to_the_next_calls_of_one_method() {
    let emu = start().await;
    let a = control(
        &emu,
        Method::POST,
        &bot_path("faults"),
        Some(json!({
            "method": "getMe", "times": 2, "status": 429, "retry_after": 3
        })),
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(call(&emu, "getWebhookInfo", json!({})).await.status, 200);
    for _ in 0..2 {
        let a = call(&emu, "getMe", json!({})).await;
        assert_error(&a, 429);
        assert_eq!(a.body["parameters"]["retry_after"], 3);
    }
    assert_eq!(call(&emu, "getMe", json!({})).await.status, 200);

    control(
        &emu,
        Method::POST,
        &bot_path("faults"),
        Some(json!({"method": "getMe", "times": 5, "status": 500})),
    )
    .await;
    assert_error(&call(&emu, "getMe", json!({})).await, 500);
    let a = control(&emu, Method::DELETE, &bot_path("faults"), None).await;
    assert_eq!(a.status, 200);
    assert_eq!(call(&emu, "getMe", json!({})).await.status, 200);
}

/// A 429 fault without retry_after still carries one of at least 1 second.
#[tokio::test]
async fn a_429_fault_always_has_retry_after() {
    let emu = start().await;
    emu.default_bot().inject_fault(Fault::status("getMe", 429));
    let a = call(&emu, "getMe", json!({})).await;
    assert_error(&a, 429);
    assert!(a.body["parameters"]["retry_after"].as_u64().unwrap() >= 1);
}

/// A drop fault closes the connection without any response.
#[tokio::test]
async fn drop_faults_close_the_connection_without_a_response() {
    let emu = start().await;
    control(
        &emu,
        Method::POST,
        &bot_path("faults"),
        Some(json!({"method": "sendMessage", "times": 1, "drop": true})),
    )
    .await;
    let url = format!("{}/bot{TOKEN}/sendMessage", emu.api_url());
    let result = guard(
        client()
            .post(&url)
            .json(&json!({"chat_id": 1, "text": "x"}))
            .send(),
    )
    .await;
    assert!(result.is_err(), "expected no response, got {result:?}");
    // Only once.
    let a = call(&emu, "sendMessage", json!({"chat_id": 1, "text": "x"})).await;
    assert_error(&a, 400);
}

/// A delay fault answers normally, after the delay, and is consumed.
#[tokio::test]
async fn delay_faults_answer_normally_after_the_delay() {
    let emu = start().await;
    let bot = emu.default_bot();
    bot.inject_fault(Fault::delay("getMe", Duration::from_millis(50)).times(1));
    control(
        &emu,
        Method::POST,
        &bot_path("faults"),
        Some(json!({"method": "getMe", "delay_ms": 20, "status": 502})),
    )
    .await;
    let a = call(&emu, "getMe", json!({})).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["result"]["id"], 123_456);
    assert_error(&call(&emu, "getMe", json!({})).await, 502);
    assert_eq!(call(&emu, "getMe", json!({})).await.status, 200);
    bot.inject_fault(Fault::status("getMe", 503).times(3));
    bot.clear_faults();
    assert_eq!(call(&emu, "getMe", json!({})).await.status, 200);
}

/// clock/advance moves the clock that dates messages.
#[tokio::test]
async fn clock_advance_moves_message_dates() {
    let emu = start().await;
    let before = emu.now();
    let a = control(
        &emu,
        Method::POST,
        "clock/advance",
        Some(json!({"seconds": 7200})),
    )
    .await;
    assert_eq!(a.status, 200);
    assert!(a.body["now"].as_i64().unwrap() >= before + 7200);
    emu.default_bot().user_message(1, user(1), "later");
    let u = call(&emu, "getUpdates", json!({})).await.body["result"][0].clone();
    assert!(u["message"]["date"].as_i64().unwrap() >= before + 7200);
}

/// health answers 200; unknown routes and bots are 404; a wrong verb is 405.
#[tokio::test]
async fn health_and_unknown_routes() {
    let emu = start().await;
    let a = control(&emu, Method::GET, "health", None).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.content_type, "application/json");
    assert_eq!(control(&emu, Method::GET, "nope", None).await.status, 404);
    let encoded = control(&emu, Method::GET, "bots/123456%3ATEST-TOKEN/sent", None).await;
    assert_eq!(encoded.status, 200, "a percent-encoded token works");
    assert_eq!(
        control(&emu, Method::GET, "bots/9:X/sent", None)
            .await
            .status,
        404
    );
    assert_eq!(
        control(&emu, Method::GET, &bot_path("messages"), None)
            .await
            .status,
        405
    );
    let bad = control(
        &emu,
        Method::POST,
        &bot_path("messages"),
        Some(json!({"chat_id": 1})),
    )
    .await;
    assert_error(&bad, 400);
}

/// A dropped getUpdates consumes nothing: the next call gets the update.
#[tokio::test]
async fn a_dropped_get_updates_consumes_nothing() {
    let emu = start().await;
    let bot = emu.default_bot();
    let p = bot.user_message(1, user(1), "keep me");
    bot.inject_fault(Fault::drop_connection("getUpdates"));
    let url = format!("{}/bot{TOKEN}/getUpdates", emu.api_url());
    assert!(
        guard(client().post(&url).json(&json!({})).send())
            .await
            .is_err()
    );
    let a = call(&emu, "getUpdates", json!({})).await;
    assert_eq!(a.body["result"][0]["update_id"], p.update_id.get());
}
