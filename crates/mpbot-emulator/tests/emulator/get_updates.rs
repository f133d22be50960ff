//! getUpdates: ranges, consumption, offsets, allowed_updates, long polling, 409s, retention.

use std::time::Duration;

use serde_json::json;

use super::support::{
    Receiver, ReceiverOptions, TOKEN, answer, assert_error, call, client, control, guard, start,
    user,
};

fn ids(body: &serde_json::Value) -> Vec<i64> {
    body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["update_id"].as_i64().unwrap())
        .collect()
}

/// A successful getUpdates consumes its batch: the same call again returns `[]`.
#[tokio::test]
async fn a_successful_get_updates_consumes_its_batch() {
    let emu = start().await;
    let bot = emu.default_bot();
    let p1 = bot.user_message(1, user(1), "a");
    let p2 = bot.user_message(2, user(2), "b");
    let a = call(&emu, "getUpdates", json!({})).await;
    assert_eq!(a.status, 200);
    assert_eq!(ids(&a.body), vec![p1.update_id.get(), p2.update_id.get()]);
    assert_eq!(a.body["result"][0]["message"]["text"], "a");
    assert_eq!(
        call(&emu, "getUpdates", json!({})).await.body["result"],
        json!([])
    );
    assert_eq!(bot.pending_count(), 0);
}

/// `limit` caps the batch; the rest stays pending.
#[tokio::test]
async fn limit_caps_the_batch() {
    let emu = start().await;
    let bot = emu.default_bot();
    for i in 0..5 {
        bot.user_message(i, user(i), "x");
    }
    let a = call(&emu, "getUpdates", json!({"limit": 2})).await;
    assert_eq!(ids(&a.body).len(), 2);
    assert_eq!(bot.pending_count(), 3);
}

/// Updates below `offset` are dropped.
#[tokio::test]
async fn offset_drops_older_updates() {
    let emu = start().await;
    let bot = emu.default_bot();
    let _p1 = bot.user_message(1, user(1), "a");
    let p2 = bot.user_message(1, user(1), "b");
    let p3 = bot.user_message(1, user(1), "c");
    let a = call(
        &emu,
        "getUpdates",
        json!({"offset": p2.update_id.get(), "limit": 1}),
    )
    .await;
    assert_eq!(ids(&a.body), vec![p2.update_id.get()]);
    let a = call(&emu, "getUpdates", json!({})).await;
    assert_eq!(ids(&a.body), vec![p3.update_id.get()]);
}

/// Out-of-range or malformed parameters get 400 naming the parameter.
#[tokio::test]
async fn out_of_range_parameters_get_400_naming_them() {
    let emu = start().await;
    let cases = [
        (json!({"limit": 0}), "limit"),
        (json!({"limit": 101}), "limit"),
        (json!({"timeout": 51}), "timeout"),
        (json!({"timeout": -1}), "timeout"),
        (json!({"offset": -5}), "offset"),
        (json!({"offset": "abc"}), "offset"),
        (json!({"allowed_updates": "not json"}), "allowed_updates"),
    ];
    for (params, name) in cases {
        let a = call(&emu, "getUpdates", params.clone()).await;
        assert_error(&a, 400);
        let description = a.body["description"].as_str().unwrap();
        assert!(description.contains(name), "{params}: {description}");
    }
}

/// `allowed_updates` persists between calls until changed.
#[tokio::test]
async fn allowed_updates_persists_between_calls() {
    let emu = start().await;
    let bot = emu.default_bot();
    bot.user_message(1, user(1), "msg");
    let cb = bot
        .push_update(json!({"callback_query": {"id": "q1", "data": "x"}}))
        .unwrap();
    let a = call(
        &emu,
        "getUpdates",
        json!({"allowed_updates": ["callback_query"]}),
    )
    .await;
    assert_eq!(ids(&a.body), vec![cb.get()]);
    bot.user_message(1, user(1), "msg2");
    let cb2 = bot
        .push_update(json!({"callback_query": {"id": "q2", "data": "y"}}))
        .unwrap();
    // No allowed_updates this time: the previous list still applies.
    let a = call(&emu, "getUpdates", json!({})).await;
    assert_eq!(ids(&a.body), vec![cb2.get()]);
    // An empty list means every kind again.
    let m = bot.user_message(1, user(1), "msg3");
    let a = call(&emu, "getUpdates", json!({"allowed_updates": []})).await;
    assert_eq!(ids(&a.body), vec![m.update_id.get()]);
}

/// A long poll returns as soon as an update arrives (woken by the event, not its timeout).
#[tokio::test]
async fn long_poll_wakes_on_a_new_update() {
    let emu = start().await;
    let bot = emu.default_bot();
    let url = format!("{}/bot{TOKEN}/getUpdates", emu.api_url());
    let poll = tokio::spawn(client().post(url).json(&json!({"timeout": 50})).send());
    guard(bot.wait_for_long_poll()).await;
    let p = bot.user_message(1, user(1), "wake up");
    // The hang guard (10 s) is far below the 50 s timeout: only a wake-up can pass.
    let a = answer(guard(poll).await.unwrap().unwrap()).await;
    assert_eq!(ids(&a.body), vec![p.update_id.get()]);
}

/// A long poll with nothing to return answers `[]` at its timeout.
#[tokio::test]
async fn long_poll_returns_empty_at_timeout() {
    let emu = start().await;
    let a = call(&emu, "getUpdates", json!({"timeout": 1})).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["result"], json!([]));
}

/// If the client goes away during a long poll, nothing is consumed.
#[tokio::test]
async fn client_gone_during_long_poll_consumes_nothing() {
    let emu = start().await;
    let bot = emu.default_bot();
    let url = format!("{}/bot{TOKEN}/getUpdates", emu.api_url());
    let poll = tokio::spawn(client().post(url).json(&json!({"timeout": 50})).send());
    guard(bot.wait_for_long_poll()).await;
    poll.abort();
    // The server notices the closed connection and drops the waiting request.
    guard(bot.wait_for_no_long_poll()).await;
    let p = bot.user_message(1, user(1), "after the client left");
    assert_eq!(bot.pending_count(), 1);
    let a = call(&emu, "getUpdates", json!({})).await;
    assert_eq!(ids(&a.body), vec![p.update_id.get()]);
}

/// A second concurrent getUpdates ends the first with 409.
#[tokio::test]
async fn second_concurrent_get_updates_ends_the_first_with_409() {
    let emu = start().await;
    let bot = emu.default_bot();
    let url = format!("{}/bot{TOKEN}/getUpdates", emu.api_url());
    let first = tokio::spawn(client().post(url).json(&json!({"timeout": 50})).send());
    guard(bot.wait_for_long_poll()).await;
    let second = call(&emu, "getUpdates", json!({"timeout": 0})).await;
    assert_eq!(second.status, 200);
    let a = answer(guard(first).await.unwrap().unwrap()).await;
    assert_error(&a, 409);
    assert!(
        a.body["description"]
            .as_str()
            .unwrap()
            .contains("terminated by other getUpdates")
    );
}

/// While a webhook is set, getUpdates gets 409 (and a waiting long poll ends with 409).
#[tokio::test]
async fn get_updates_is_409_while_a_webhook_is_set() {
    let emu = mpbot_emulator::Emulator::builder()
        .allow_http_webhooks(true)
        .start()
        .await
        .unwrap();
    let bot = emu.default_bot();
    let receiver = Receiver::start(ReceiverOptions::default()).await;
    let url = format!("{}/bot{TOKEN}/getUpdates", emu.api_url());
    let waiting = tokio::spawn(client().post(url).json(&json!({"timeout": 50})).send());
    guard(bot.wait_for_long_poll()).await;
    let set = call(
        &emu,
        "setWebhook",
        json!({"url": receiver.url("http", "127.0.0.1")}),
    )
    .await;
    assert_eq!(set.body["result"], true, "{:?}", set.body);
    assert_error(&answer(guard(waiting).await.unwrap().unwrap()).await, 409);
    let a = call(&emu, "getUpdates", json!({})).await;
    assert_error(&a, 409);
    assert!(a.body["description"].as_str().unwrap().contains("webhook"));
}

/// Pending updates older than 24 hours on the emulator clock are dropped.
#[tokio::test]
async fn updates_older_than_a_day_are_dropped() {
    let emu = start().await;
    let bot = emu.default_bot();
    bot.user_message(1, user(1), "old");
    let a = control(
        &emu,
        reqwest::Method::POST,
        "clock/advance",
        Some(json!({"seconds": 23 * 3600})),
    )
    .await;
    assert_eq!(a.status, 200);
    let recent = bot.user_message(1, user(1), "recent");
    assert_eq!(bot.pending_count(), 2);
    emu.advance_clock(Duration::from_secs(3600 + 1));
    let info = call(&emu, "getWebhookInfo", json!({})).await;
    assert_eq!(info.body["result"]["pending_update_count"], 1);
    let a = call(&emu, "getUpdates", json!({})).await;
    assert_eq!(ids(&a.body), vec![recent.update_id.get()]);
}

/// getWebhookInfo without a webhook has `url: ""` and counts updates waiting for getUpdates.
#[tokio::test]
async fn webhook_info_without_webhook_counts_pending() {
    let emu = start().await;
    let bot = emu.default_bot();
    bot.user_message(1, user(1), "a");
    bot.user_message(1, user(1), "b");
    let info = call(&emu, "getWebhookInfo", json!({})).await;
    assert_eq!(info.body["result"]["url"], "");
    assert_eq!(info.body["result"]["pending_update_count"], 2);
    assert_eq!(bot.webhook_info().pending_update_count, Some(2));
}

/// getUpdates reads its parameters from a query string too, JSON-valued ones as JSON strings.
#[tokio::test]
async fn get_updates_reads_query_string_parameters() {
    let emu = start().await;
    let bot = emu.default_bot();
    bot.user_message(1, user(1), "skipped");
    let cb = bot
        .push_update(json!({"callback_query": {"id": "q"}}))
        .unwrap();
    let url = format!(
        "{}/bot{TOKEN}/getUpdates?limit=5&timeout=0&allowed_updates=%5B%22callback_query%22%5D",
        emu.api_url()
    );
    let a = answer(guard(client().get(url).send()).await.unwrap()).await;
    assert_eq!(ids(&a.body), vec![cb.get()]);
}
