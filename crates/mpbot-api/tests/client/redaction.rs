//! The token never shows: not in an error's Display or Debug, its source chain, nor the logs.

use std::time::Duration;

use mpbot_api::{Bot, BotToken, Error, RetryPolicy};
use serde_json::json;

use crate::support::{Capture, Reply, TOKEN, TestServer, refused_url};

/// Every rendering of `error` and of each error in its source chain.
fn renderings(error: &Error) -> Vec<String> {
    let mut out = vec![
        format!("{error}"),
        format!("{error:?}"),
        format!("{error:#?}"),
    ];
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        out.push(format!("{inner}"));
        out.push(format!("{inner:?}"));
        source = inner.source();
    }
    out
}

fn assert_clean(error: &Error, case: &str) {
    for text in renderings(error) {
        assert!(!text.contains(TOKEN), "{case}: token leaked in {text:?}");
        // The secret half alone must not leak either.
        assert!(
            !text.contains("REDACT-ME"),
            "{case}: secret leaked in {text:?}"
        );
    }
}

/// Connection refused, timeout, 401, 5xx (retried), non-envelope pages and undecodable bodies
/// that echo the request path: the token is absent from every error rendering and from the
/// TRACE-level log.
#[tokio::test]
async fn token_never_appears_in_errors_or_logs() {
    let capture = Capture::start();
    let token = || BotToken::new(TOKEN).unwrap();
    let mut errors = Vec::new();

    let refused = Bot::builder(token())
        .api_url(refused_url().await)
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(2)
                .with_base_delay(Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    errors.push(("refused", refused.get_me().await.unwrap_err()));

    let hang = TestServer::start(vec![], Reply::hang()).await;
    let slow = hang
        .bot()
        .request_timeout(Duration::from_millis(150))
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(2)
                .with_base_delay(Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    let timeout = slow.get_me().await.unwrap_err();
    assert!(timeout.is_timeout());
    errors.push(("timeout", timeout));

    // Each server below echoes the request path, which holds the token, back in its body.
    let echo_cases = [
        ("401", Reply::error(401, 401, "Unauthorized: {path}")),
        ("500", Reply::error(500, 500, "Internal error at {path}")),
        (
            "html 502",
            Reply::raw(502, "text/html", "<html>upstream {path} failed</html>"),
        ),
        (
            "undecodable 200",
            Reply::raw(200, "text/plain", "garbage for {path}"),
        ),
        ("bad result", Reply::ok(json!({"weird": "{path}"}))),
    ];
    for (case, reply) in echo_cases {
        let server = TestServer::start(vec![], reply).await;
        let bot = server.bot().build().unwrap();
        let error = bot.get_me().await.unwrap_err();
        let echoed = server.next_request().await;
        assert!(
            echoed.path.contains(TOKEN),
            "the request path holds the token"
        );
        errors.push((case, error));
    }

    // A high-risk call logs its warning without the token.
    let server = TestServer::start(vec![], Reply::ok(json!(true))).await;
    let bot = server.bot().build().unwrap();
    assert!(bot.high_risk().log_out().await.unwrap());

    for (case, error) in &errors {
        assert_clean(error, case);
    }
    // A panic on one of these errors (`unwrap`) prints no token either.
    let (_, error) = errors.pop().unwrap();
    let failed: Result<(), Error> = std::hint::black_box(Err(error));
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        failed.expect("the call succeeds");
    }))
    .unwrap_err();
    let message = payload
        .downcast_ref::<String>()
        .expect("a formatted panic message");
    assert!(message.contains("getMe"), "{message}");
    assert!(
        !message.contains("REDACT-ME"),
        "token in panic message: {message}"
    );
    // Panics print the Debug rendering, checked above; a sanity check that masking happened
    // where the token would have been:
    let shown: String = errors.iter().map(|(_, e)| format!("{e:?}")).collect();
    assert!(shown.contains("987654:***"), "{shown}");

    let log = capture.output();
    assert!(
        log.contains("calling the Bot API"),
        "the capture works: {log}"
    );
    assert!(log.contains("retrying"), "retries were logged: {log}");
    assert!(log.contains("high-risk"), "{log}");
    assert!(
        !log.contains(TOKEN) && !log.contains("REDACT-ME"),
        "token in log: {log}"
    );
}

/// The client's own Debug masks the token.
#[test]
fn client_debug_masks_the_token() {
    let bot = Bot::builder(BotToken::new(TOKEN).unwrap()).build().unwrap();
    let shown = format!("{bot:?} {:?}", bot.high_risk());
    assert!(shown.contains("987654:***"));
    assert!(!shown.contains("REDACT-ME"));
}
