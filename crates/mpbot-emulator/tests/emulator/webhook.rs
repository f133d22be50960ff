//! setWebhook validation and probe, HTTPS through a generated CA, and delivery rules.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mpbot_api::{ChatType, SECRET_HEADER};
use mpbot_emulator::Emulator;
use mpbot_emulator::tls::TestCa;
use serde_json::json;

use super::support::{Hit, Receiver, ReceiverOptions, assert_error, call, control, guard, user};

async fn dev_emulator() -> Emulator {
    Emulator::builder()
        .allow_http_webhooks(true)
        .webhook_retry_backoff(Duration::from_millis(5))
        .start()
        .await
        .unwrap()
}

fn description(a: &super::support::Answer) -> String {
    a.body["description"].as_str().unwrap_or("").to_owned()
}

/// setWebhook refuses http (without the dev flag), bad secrets and max_connections out of
/// 1-100, each with a 400 naming the parameter.
#[tokio::test]
async fn set_webhook_validates_its_parameters() {
    let emu = Emulator::builder().start().await.unwrap();
    let cases = [
        (json!({"url": "http://127.0.0.1:9/hook"}), "url"),
        (json!({"url": "ftp://example.test/"}), "url"),
        (json!({"url": "not a url"}), "url"),
        (
            json!({"url": "https://127.0.0.1:9/h", "secret_token": "bad secret!"}),
            "secret_token",
        ),
        (
            json!({"url": "https://127.0.0.1:9/h", "secret_token": ""}),
            "secret_token",
        ),
        (
            json!({"url": "https://127.0.0.1:9/h", "secret_token": "a".repeat(257)}),
            "secret_token",
        ),
        (
            json!({"url": "https://127.0.0.1:9/h", "max_connections": 0}),
            "max_connections",
        ),
        (
            json!({"url": "https://127.0.0.1:9/h", "max_connections": 101}),
            "max_connections",
        ),
    ];
    for (params, name) in cases {
        let a = call(&emu, "setWebhook", params.clone()).await;
        assert_error(&a, 400);
        assert!(
            description(&a).contains(name),
            "{params}: {}",
            description(&a)
        );
    }
    assert_eq!(emu.default_bot().webhook_info().url, "");
}

/// The probe is a POST with an empty body; the secret header is present only when a secret
/// is set; getWebhookInfo then shows the webhook.
#[tokio::test]
async fn probe_is_an_empty_post_with_the_secret_only_when_set() {
    let emu = dev_emulator().await;
    let mut receiver = Receiver::start(ReceiverOptions::default()).await;
    let url = receiver.url("http", "127.0.0.1");
    let a = call(&emu, "setWebhook", json!({"url": url})).await;
    assert_eq!(a.body["result"], true, "{:?}", a.body);
    let probe = receiver.next().await;
    assert!(probe.body.is_empty());
    assert_eq!(probe.secret(), None);

    let a = call(&emu, "setWebhook", json!({"url": url, "secret_token": "s3cr3t_-X", "max_connections": 7, "allowed_updates": ["message"]})).await;
    assert_eq!(a.body["result"], true);
    let probe = receiver.next().await;
    assert!(probe.body.is_empty());
    assert_eq!(probe.secret().as_deref(), Some("s3cr3t_-X"));

    let info = call(&emu, "getWebhookInfo", json!({})).await.body["result"].clone();
    assert_eq!(info["url"], url);
    assert_eq!(info["max_connections"], 7);
    assert_eq!(info["allowed_updates"], json!(["message"]));
    assert_eq!(info["has_custom_certificate"], false);
    assert_eq!(info["pending_update_count"], 0);
}

/// A failed probe answers 400 with the status or the connect error, and leaves the previous
/// webhook as it was.
#[tokio::test]
async fn failed_probe_names_the_reason_and_keeps_the_previous_webhook() {
    let emu = dev_emulator().await;
    let good = Receiver::start(ReceiverOptions::default()).await;
    let good_url = good.url("http", "127.0.0.1");
    assert_eq!(
        call(&emu, "setWebhook", json!({"url": good_url}))
            .await
            .body["result"],
        true
    );

    let failing = Receiver::start(ReceiverOptions {
        responder: Some(Arc::new(|_: &Hit| 503)),
        ..ReceiverOptions::default()
    })
    .await;
    let a = call(
        &emu,
        "setWebhook",
        json!({"url": failing.url("http", "127.0.0.1")}),
    )
    .await;
    assert_error(&a, 400);
    assert!(description(&a).contains("503"), "{}", description(&a));
    assert_eq!(emu.default_bot().webhook_info().url, good_url);

    let mut closed = Receiver::start(ReceiverOptions::default()).await;
    let closed_url = closed.url("http", "127.0.0.1");
    closed.stop().await;
    let a = call(&emu, "setWebhook", json!({"url": closed_url})).await;
    assert_error(&a, 400);
    assert!(description(&a).contains("connect"), "{}", description(&a));
    assert_eq!(emu.default_bot().webhook_info().url, good_url);
}

/// Over HTTPS with a CA generated at test time: the probe and deliveries succeed, each
/// delivery is one JSON Update with the secret header, and a 2xx consumes it.
#[tokio::test]
async fn https_probe_and_delivery_through_a_generated_ca() {
    let ca = TestCa::generate(&[]).unwrap();
    let emu = Emulator::builder()
        .trust_ca_pem(ca.ca_cert_pem().as_bytes())
        .start()
        .await
        .unwrap();
    let bot = emu.default_bot();
    let mut receiver = Receiver::start(ReceiverOptions {
        tls: Some(ca.clone()),
        ..ReceiverOptions::default()
    })
    .await;
    for host in ["localhost", "127.0.0.1"] {
        let url = receiver.url("https", host);
        let a = call(
            &emu,
            "setWebhook",
            json!({"url": url, "secret_token": "tok_1"}),
        )
        .await;
        assert_eq!(a.body["result"], true, "{host}: {:?}", a.body);
        assert!(receiver.next().await.body.is_empty(), "the probe");
    }
    let posted = bot.user_message(42, user(42), "over tls");
    let hit = receiver.next().await;
    assert_eq!(hit.update_id(), posted.update_id.get());
    assert_eq!(hit.json()["message"]["text"], "over tls");
    assert_eq!(hit.headers["content-type"], "application/json");
    assert_eq!(hit.headers[SECRET_HEADER], "tok_1");
    let deliveries = guard(bot.wait_for_deliveries(1)).await;
    assert_eq!(deliveries[0].status, Some(200));
    guard(bot.wait_until_drained()).await;
    assert_eq!(bot.pending_count(), 0);
}

/// Without trusting the CA, the HTTPS probe fails with a TLS error.
#[tokio::test]
async fn https_probe_without_the_ca_is_a_tls_error() {
    let ca = TestCa::generate(&[]).unwrap();
    let emu = Emulator::builder().start().await.unwrap();
    let receiver = Receiver::start(ReceiverOptions {
        tls: Some(ca),
        ..ReceiverOptions::default()
    })
    .await;
    let a = call(
        &emu,
        "setWebhook",
        json!({"url": receiver.url("https", "localhost")}),
    )
    .await;
    assert_error(&a, 400);
    assert!(description(&a).contains("TLS"), "{}", description(&a));
}

/// Deliveries never exceed max_connections in flight, and do reach it under load.
#[tokio::test]
async fn max_connections_is_honoured_under_load() {
    let emu = dev_emulator().await;
    let bot = emu.default_bot();
    let receiver = Receiver::start(ReceiverOptions {
        open_at: Some(3),
        ..ReceiverOptions::default()
    })
    .await;
    for chat in 0..20 {
        bot.user_message(chat, user(chat), "load");
    }
    let a = call(
        &emu,
        "setWebhook",
        json!({"url": receiver.url("http", "127.0.0.1"), "max_connections": 3}),
    )
    .await;
    assert_eq!(a.body["result"], true);
    let deliveries = guard(bot.wait_for_deliveries(20)).await;
    assert!(deliveries.iter().all(|d| d.status == Some(200)));
    assert_eq!(receiver.stats.max_in_flight.load(Ordering::SeqCst), 3);
}

/// A chat's next update waits for the previous one's 2xx, even across retries; other chats
/// are not held up.
#[tokio::test]
async fn per_chat_order_waits_for_the_previous_2xx() {
    let emu = dev_emulator().await;
    let bot = emu.default_bot();
    // The first attempt of every update fails once, forcing a retry each time.
    let seen: Arc<Mutex<HashMap<i64, usize>>> = Arc::default();
    let responder_seen = seen.clone();
    let mut receiver = Receiver::start(ReceiverOptions {
        responder: Some(Arc::new(move |hit: &Hit| {
            if hit.body.is_empty() {
                return 200; // the probe
            }
            let mut seen = responder_seen.lock().unwrap();
            let n = seen.entry(hit.update_id()).or_default();
            *n += 1;
            if *n == 1 { 500 } else { 200 }
        })),
        ..ReceiverOptions::default()
    })
    .await;
    let a = call(
        &emu,
        "setWebhook",
        json!({"url": receiver.url("http", "127.0.0.1"), "max_connections": 10}),
    )
    .await;
    assert_eq!(a.body["result"], true);
    receiver.next().await; // the probe
    let mut expected: HashMap<i64, Vec<i64>> = HashMap::new();
    for i in 0..6 {
        let chat = if i % 2 == 0 { -1 } else { -2 };
        let p = bot.user_message_in(chat, ChatType::Group, user(i), "ordered");
        expected.entry(chat).or_default().push(p.update_id.get());
    }
    let mut order: HashMap<i64, Vec<i64>> = HashMap::new();
    for _ in 0..12 {
        let hit = receiver.next().await;
        assert_eq!(hit.secret(), None, "no secret set, no secret header");
        order
            .entry(hit.chat_id())
            .or_default()
            .push(hit.update_id());
    }
    for (chat, ids) in &expected {
        let want: Vec<i64> = ids.iter().flat_map(|&id| [id, id]).collect();
        assert_eq!(
            order[chat], want,
            "chat {chat}: each update twice, in order"
        );
    }
    let per_chat = receiver.stats.per_chat.lock().unwrap().clone();
    assert!(per_chat.values().all(|&(_, max)| max == 1), "{per_chat:?}");
}

/// Non-2xx answers are retried with backoff and recorded as last_error; the deliveries log
/// (library and control API) lists each attempt.
#[tokio::test]
async fn failed_deliveries_are_retried_and_recorded() {
    let emu = dev_emulator().await;
    let bot = emu.default_bot();
    let calls = Arc::new(AtomicUsize::new(0));
    let responder_calls = calls.clone();
    let receiver = Receiver::start(ReceiverOptions {
        responder: Some(Arc::new(move |hit: &Hit| {
            if hit.body.is_empty() {
                return 200;
            }
            if responder_calls.fetch_add(1, Ordering::SeqCst) < 2 {
                503
            } else {
                200
            }
        })),
        ..ReceiverOptions::default()
    })
    .await;
    assert_eq!(
        call(
            &emu,
            "setWebhook",
            json!({"url": receiver.url("http", "127.0.0.1")})
        )
        .await
        .body["result"],
        true
    );
    let posted = bot.user_message(1, user(1), "retry me");
    let deliveries = guard(bot.wait_for_deliveries(3)).await;
    let statuses: Vec<_> = deliveries.iter().map(|d| d.status).collect();
    assert_eq!(statuses, vec![Some(503), Some(503), Some(200)]);
    assert!(deliveries.iter().all(|d| d.update_id == posted.update_id));
    let info = bot.webhook_info();
    assert!(
        info.last_error_message.as_deref().unwrap().contains("503"),
        "{info:?}"
    );
    assert!(info.last_error_date.unwrap() > 0);
    let log = control(
        &emu,
        reqwest::Method::GET,
        "bots/123456:TEST-TOKEN/webhook/deliveries",
        None,
    )
    .await;
    assert_eq!(log.body[0]["update_id"], posted.update_id.get());
    assert_eq!(log.body[0]["status"], 503);
    assert!(log.body[0]["duration_ms"].is_u64());
    assert!(log.body[0].get("error").is_none());
    guard(bot.wait_until_drained()).await;
}

/// A delivery to a receiver that went away is a connection error, recorded and retried.
#[tokio::test]
async fn connection_errors_are_recorded_as_last_error() {
    let emu = dev_emulator().await;
    let bot = emu.default_bot();
    let mut receiver = Receiver::start(ReceiverOptions::default()).await;
    assert_eq!(
        call(
            &emu,
            "setWebhook",
            json!({"url": receiver.url("http", "127.0.0.1")})
        )
        .await
        .body["result"],
        true
    );
    receiver.next().await;
    receiver.stop().await;
    bot.user_message(1, user(1), "nobody home");
    let deliveries = guard(bot.wait_for_deliveries(2)).await;
    assert!(
        deliveries
            .iter()
            .all(|d| d.status.is_none() && d.error.is_some()),
        "{deliveries:?}"
    );
    // The first attempt may find the probe's pooled connection closed; a retry must connect.
    assert!(
        deliveries[1].error.as_deref().unwrap().contains("connect"),
        "{deliveries:?}"
    );
    assert!(bot.webhook_info().last_error_message.is_some());
    assert_eq!(bot.pending_count(), 1, "not consumed");
    let log = control(
        &emu,
        reqwest::Method::GET,
        "bots/123456:TEST-TOKEN/webhook/deliveries",
        None,
    )
    .await;
    assert!(log.body[0]["error"].is_string());
    assert!(log.body[0].get("status").is_none());
}

/// A delivery that takes longer than the webhook timeout counts as failed and is retried.
#[tokio::test]
async fn a_delivery_timeout_is_retried() {
    let emu = Emulator::builder()
        .allow_http_webhooks(true)
        .webhook_retry_backoff(Duration::from_millis(5))
        .webhook_timeout(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let bot = emu.default_bot();
    // The gate never opens before the first request times out: it opens at 2 in flight,
    // which only the retry (while the first still hangs on the receiver) can reach.
    let receiver = Receiver::start(ReceiverOptions {
        open_at: Some(2),
        ..ReceiverOptions::default()
    })
    .await;
    assert_eq!(
        call(
            &emu,
            "setWebhook",
            json!({"url": receiver.url("http", "127.0.0.1")})
        )
        .await
        .body["result"],
        true
    );
    bot.user_message(1, user(1), "slow");
    let deliveries = guard(bot.wait_for_deliveries(2)).await;
    assert!(
        deliveries[0].error.as_deref().unwrap().contains("timeout"),
        "{deliveries:?}"
    );
    assert_eq!(deliveries[1].status, Some(200));
}

/// deleteWebhook (and setWebhook with an empty url) removes the webhook; drop_pending_updates
/// drops what was waiting.
#[tokio::test]
async fn delete_webhook_removes_it_and_can_drop_pending() {
    let emu = dev_emulator().await;
    let bot = emu.default_bot();
    let receiver = Receiver::start(ReceiverOptions::default()).await;
    let url = receiver.url("http", "127.0.0.1");
    assert_eq!(
        call(&emu, "setWebhook", json!({"url": url})).await.body["result"],
        true
    );
    assert_eq!(
        call(&emu, "setWebhook", json!({"url": ""})).await.body["result"],
        true
    );
    assert_eq!(bot.webhook_info().url, "");
    bot.user_message(1, user(1), "kept");
    assert_eq!(
        call(&emu, "deleteWebhook", json!({})).await.body["result"],
        true
    );
    assert_eq!(bot.pending_count(), 1);
    assert_eq!(
        call(&emu, "deleteWebhook", json!({"drop_pending_updates": true}))
            .await
            .body["result"],
        true
    );
    assert_eq!(bot.pending_count(), 0);
}

/// The webhook's allowed_updates filters what is delivered; filtered updates are dropped.
#[tokio::test]
async fn webhook_allowed_updates_filters_deliveries() {
    let emu = dev_emulator().await;
    let bot = emu.default_bot();
    let mut receiver = Receiver::start(ReceiverOptions::default()).await;
    let a = call(
        &emu,
        "setWebhook",
        json!({"url": receiver.url("http", "127.0.0.1"), "allowed_updates": ["callback_query"]}),
    )
    .await;
    assert_eq!(a.body["result"], true);
    receiver.next().await; // the probe
    bot.user_message(1, user(1), "filtered out");
    let cb = bot
        .push_update(json!({"callback_query": {"id": "q", "data": "d"}}))
        .unwrap();
    let hit = receiver.next().await;
    assert_eq!(hit.update_id(), cb.get());
    guard(bot.wait_until_drained()).await;
    assert_eq!(bot.deliveries().len(), 1);
}

/// Shutting the emulator down ends long polls and webhook deliveries and closes the port.
#[tokio::test]
async fn shutdown_stops_everything_it_started() {
    let emu = dev_emulator().await;
    let bot = emu.default_bot();
    let api = emu.api_url();
    let url = format!("{api}/bot123456:TEST-TOKEN/getUpdates");
    let poll = tokio::spawn(
        super::support::client()
            .post(url)
            .json(&json!({"timeout": 50}))
            .send(),
    );
    guard(bot.wait_for_long_poll()).await;
    guard(emu.shutdown()).await;
    // The waiting long poll was answered or cut, not left hanging.
    let _ = guard(poll).await;
    let after = super::support::client()
        .get(format!("{api}/bot123456:TEST-TOKEN/getMe"))
        .send()
        .await;
    assert!(after.is_err(), "the port is closed after shutdown");
}
