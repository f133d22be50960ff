//! Every error class the client can return, as the caller sees it.

use std::time::Duration;

use mpbot_api::{ApiErrorKind, Error, RetryPolicy};
use serde_json::json;

use crate::support::{Reply, TestServer};

/// One request against a server that always gives `reply`, with no retries.
async fn get_me_error(reply: Reply) -> Error {
    let server = TestServer::start(vec![], reply).await;
    let bot = server
        .bot()
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let error = bot.get_me().await.unwrap_err();
    assert_eq!(server.count(), 1);
    error
}

/// Each documented code maps to its kind, with the queries answering accordingly.
#[tokio::test]
async fn error_envelopes_map_to_their_kinds() {
    let cases = [
        (400, 400, ApiErrorKind::BadRequest, false),
        (401, 401, ApiErrorKind::Unauthorized, false),
        (403, 403, ApiErrorKind::Forbidden, false),
        (409, 409, ApiErrorKind::Conflict, false),
        (429, 429, ApiErrorKind::RateLimited, true),
        (500, 500, ApiErrorKind::Server, true),
        (502, 502, ApiErrorKind::Server, true),
        (501, 501, ApiErrorKind::NotImplemented, false),
        (200, 50001, ApiErrorKind::Business, false),
    ];
    for (status, code, kind, retryable) in cases {
        let error = get_me_error(Reply::error(status, code, "nope")).await;
        assert!(matches!(error, Error::Api { .. }), "{error:?}");
        assert_eq!(error.api_code(), Some(code));
        assert_eq!(error.api_kind(), Some(kind));
        assert_eq!(error.is_retryable(), retryable, "{code}");
        assert_eq!(error.http_status(), Some(status));
        assert_eq!(error.description(), Some("nope"));
        assert_eq!(error.method(), "getMe");
        assert!(error.is_definitely_not_done());
    }
    assert!(
        get_me_error(Reply::error(401, 401, "x"))
            .await
            .is_unauthorized()
    );
    assert!(
        get_me_error(Reply::error(409, 409, "x"))
            .await
            .is_conflict()
    );
    assert!(
        get_me_error(Reply::error(200, 50001, "x"))
            .await
            .is_business()
    );
}

/// A 429's wait comes from `parameters.retry_after`, or else from the `Retry-After` header.
#[tokio::test]
async fn rate_limit_carries_retry_after() {
    let with_parameters = Reply::json(
        429,
        &json!({"ok": false, "error_code": 429, "description": "Too Many Requests",
                "parameters": {"retry_after": 3}}),
    );
    let error = get_me_error(with_parameters).await;
    assert!(error.is_rate_limited());
    assert_eq!(error.retry_after(), Some(Duration::from_secs(3)));

    let with_header = Reply::error(429, 429, "Too Many Requests").header("retry-after", "5");
    let error = get_me_error(with_header).await;
    assert_eq!(error.retry_after(), Some(Duration::from_secs(5)));

    assert_eq!(
        get_me_error(Reply::error(500, 500, "x"))
            .await
            .retry_after(),
        None
    );
}

/// A 501 says the method is not available and names it.
#[tokio::test]
async fn not_implemented_names_the_method() {
    let server = TestServer::start(vec![], Reply::error(501, 501, "Not Implemented")).await;
    let bot = server.bot().build().unwrap();
    let error = bot
        .call::<_, bool>("sendChatAction", &json!({"chat_id": 1, "action": "typing"}))
        .await
        .unwrap_err();
    assert!(error.is_not_implemented());
    assert_eq!(error.method(), "sendChatAction");
    assert!(error.to_string().contains("sendChatAction"), "{error}");
    assert_eq!(server.count(), 1, "501 is never retried");
}

/// An HTML error page from a proxy falls back to the HTTP status and keeps the body.
#[tokio::test]
async fn non_envelope_error_page_falls_back_to_status() {
    let page = "<html><body>502 Bad Gateway</body></html>";
    let error = get_me_error(Reply::raw(502, "text/html", page).header("retry-after", "2")).await;
    match &error {
        Error::Http {
            http_status, body, ..
        } => {
            assert_eq!(*http_status, 502);
            assert_eq!(body, page);
        }
        other => panic!("expected Http, got {other:?}"),
    }
    assert_eq!(error.api_code(), Some(502));
    assert_eq!(error.api_kind(), Some(ApiErrorKind::Server));
    assert!(error.is_retryable());
    assert!(
        !error.is_definitely_not_done(),
        "a proxy's 502 is ambiguous"
    );
    assert_eq!(error.retry_after(), Some(Duration::from_secs(2)));
}

/// A 200 that is not JSON, or whose result has the wrong shape, is a decode error with the raw
/// body kept.
#[tokio::test]
async fn undecodable_success_is_a_decode_error_with_the_body() {
    let error = get_me_error(Reply::raw(200, "text/plain", "definitely not json")).await;
    match &error {
        Error::Decode {
            raw, http_status, ..
        } => {
            assert_eq!(raw, "definitely not json");
            assert_eq!(*http_status, 200);
        }
        other => panic!("expected Decode, got {other:?}"),
    }
    assert!(!error.is_retryable());
    assert_eq!(error.api_code(), None);

    let wrong_shape = get_me_error(Reply::ok(json!({"is_bot": true}))).await;
    assert!(
        matches!(wrong_shape, Error::Decode { .. }),
        "{wrong_shape:?}"
    );
}

/// A refused connection is a transport error that certainly did nothing.
#[tokio::test]
async fn refused_connection_is_a_connect_error() {
    let bot = mpbot_api::Bot::builder(mpbot_api::BotToken::new(crate::support::TOKEN).unwrap())
        .api_url(crate::support::refused_url().await)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let error = bot.get_me().await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Transport {
                kind: mpbot_api::TransportKind::Connect,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.is_retryable() && error.is_definitely_not_done());
    assert_eq!(error.api_code(), None);
}
