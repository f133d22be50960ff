//! Which failures the client retries, counted by the requests the server saw.

use std::time::Duration;

use mpbot_api::methods::GetUpdates;
use mpbot_api::{Bot, BotToken, RetryPolicy};
use serde_json::json;

use crate::support::{Capture, Reply, TOKEN, TestServer, refused_url};

fn me() -> Reply {
    Reply::ok(json!({"id": 1, "is_bot": true, "username": "b"}))
}

fn sent() -> Reply {
    Reply::ok(json!({"message_id": 5, "chat": {"id": 42, "type": "private"}}))
}

/// An idempotent call is retried through 429 and 5xx (envelope or not) until it succeeds.
#[tokio::test]
async fn idempotent_call_is_retried_through_429_and_5xx() {
    let server = TestServer::start(
        vec![
            Reply::error(429, 429, "slow down"),
            Reply::error(500, 500, "oops"),
            Reply::error(503, 503, "later"),
            Reply::raw(502, "text/html", "<html>bad gateway</html>"),
        ],
        me(),
    )
    .await;
    let bot = server.bot().build().unwrap();
    let user = bot.get_me().await.unwrap();
    assert_eq!(user.username.as_deref(), Some("b"));
    assert_eq!(server.count(), 5);
}

/// 400, 401, 403, 409, 501 and 50001 are never retried, even for an idempotent call.
#[tokio::test]
async fn final_codes_are_never_retried() {
    for (status, code) in [
        (400, 400),
        (401, 401),
        (403, 403),
        (409, 409),
        (501, 501),
        (200, 50001),
        (404, 404),
    ] {
        let server = TestServer::start(vec![Reply::error(status, code, "no")], me()).await;
        let bot = server.bot().build().unwrap();
        let error = bot.get_me().await.unwrap_err();
        assert_eq!(error.api_code(), Some(code));
        assert_eq!(server.count(), 1, "code {code} was retried");
    }
}

/// A persistent 5xx gives up after the policy's attempts and returns the last error.
#[tokio::test]
async fn retries_stop_at_max_attempts() {
    let server = TestServer::start(vec![], Reply::error(500, 500, "down")).await;
    let bot = server.bot().build().unwrap();
    let error = bot.get_me().await.unwrap_err();
    assert_eq!(error.api_code(), Some(500));
    assert_eq!(server.count(), 5);

    let three = bot.with_retry_policy(
        RetryPolicy::default()
            .with_max_attempts(3)
            .with_base_delay(Duration::from_millis(1)),
    );
    three.get_me().await.unwrap_err();
    assert_eq!(server.count(), 8);
}

/// A clone with `RetryPolicy::none()` makes one attempt; the original keeps retrying.
#[tokio::test]
async fn with_retry_policy_none_makes_one_attempt() {
    let server = TestServer::start(vec![], Reply::error(500, 500, "down")).await;
    let bot = server.bot().build().unwrap();
    let once = bot.with_retry_policy(RetryPolicy::none());
    assert_eq!(once.retry_policy(), RetryPolicy::none());
    once.get_me().await.unwrap_err();
    assert_eq!(server.count(), 1);
    bot.get_me().await.unwrap_err();
    assert_eq!(server.count(), 6);
}

/// sendMessage (not idempotent) is retried after an error envelope, which proves it was not
/// done.
#[tokio::test]
async fn send_is_retried_after_an_error_envelope() {
    let server = TestServer::start(
        vec![
            Reply::error(429, 429, "slow"),
            Reply::error(500, 500, "oops"),
        ],
        sent(),
    )
    .await;
    let bot = server.bot().build().unwrap();
    let message = bot.send_message(42, "hi").await.unwrap();
    assert_eq!(message.message_id.get(), 5);
    assert_eq!(server.count(), 3);
    assert!(server.requests().iter().all(|r| r.json()["text"] == "hi"));
}

/// sendMessage is not retried after a proxy's 5xx page: the message may have been sent.
#[tokio::test]
async fn send_is_not_retried_after_a_non_envelope_5xx() {
    let server = TestServer::start(vec![Reply::raw(502, "text/html", "<html/>")], sent()).await;
    let bot = server.bot().build().unwrap();
    let error = bot.send_message(42, "hi").await.unwrap_err();
    assert_eq!(error.api_code(), Some(502));
    assert_eq!(server.count(), 1);
}

/// sendMessage is not retried after a timeout (ambiguous); getMe is.
#[tokio::test]
async fn send_is_not_retried_after_a_timeout_but_get_me_is() {
    let server = TestServer::start(vec![], Reply::hang()).await;
    let bot = server
        .bot()
        .request_timeout(Duration::from_millis(200))
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(2)
                .with_base_delay(Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    let error = bot.send_message(42, "hi").await.unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    assert!(!error.is_definitely_not_done());
    server.next_request().await;
    assert_eq!(server.count(), 1, "a timed-out send was repeated");

    let error = bot.get_me().await.unwrap_err();
    assert!(error.is_timeout());
    assert_eq!(
        server.count(),
        3,
        "an idempotent call is retried after a timeout"
    );
}

/// getUpdates (not idempotent: a lost answer consumed its batch) is retried on an envelope, not
/// after a timeout.
#[tokio::test]
async fn get_updates_is_retried_only_when_nothing_was_consumed() {
    let server = TestServer::start(
        vec![Reply::error(500, 500, "oops"), Reply::hang()],
        Reply::ok(json!([])),
    )
    .await;
    let bot = server
        .bot()
        .request_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let error = bot.get_updates(&GetUpdates::new()).await.unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    server.next_request().await;
    server.next_request().await;
    assert_eq!(
        server.count(),
        2,
        "retried after the 500, not after the timeout"
    );
    assert!(
        bot.get_updates(&GetUpdates::new())
            .await
            .unwrap()
            .is_empty()
    );
}

/// A refused connection proves nothing was sent, so even a send is retried.
#[tokio::test]
async fn send_is_retried_when_the_connection_was_refused() {
    let capture = Capture::start();
    let bot = Bot::builder(BotToken::new(TOKEN).unwrap())
        .api_url(refused_url().await)
        .rate_limit(None)
        .retry_policy(crate::support::fast_retries().with_max_attempts(3))
        .build()
        .unwrap();
    let error = bot.send_message(1, "x").await.unwrap_err();
    assert!(error.is_definitely_not_done());
    let retries = capture.output().matches("retrying").count();
    assert_eq!(retries, 2, "{}", capture.output());
}

/// The loop waits what the server asked (capped by the policy), not its own backoff.
#[tokio::test]
async fn retry_after_hint_sets_the_wait() {
    let capture = Capture::start();
    let limited = Reply::json(
        429,
        &json!({"ok": false, "error_code": 429, "description": "slow",
                "parameters": {"retry_after": 1}}),
    );
    let server = TestServer::start(vec![limited], me()).await;
    let bot = server
        .bot()
        .retry_policy(
            RetryPolicy::default()
                .with_base_delay(Duration::from_millis(1))
                .with_max_delay(Duration::from_millis(40)),
        )
        .build()
        .unwrap();
    bot.get_me().await.unwrap();
    assert_eq!(server.count(), 2);
    // Own backoff would wait at most 1 ms; the hint (1 s) capped at 40 ms wins.
    assert!(
        capture.output().contains("delay_ms=40"),
        "{}",
        capture.output()
    );
}
