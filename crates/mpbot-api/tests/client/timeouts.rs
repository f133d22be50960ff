//! HTTP timeouts: explicit, and long enough for a long poll.

use std::time::Duration;

use mpbot_api::RetryPolicy;
use mpbot_api::methods::GetUpdates;
use serde_json::json;

use crate::support::{Reply, TestServer};

/// A getUpdates whose server holds the answer longer than the client's request timeout (but
/// within its long poll) succeeds, while getMe against the same hold times out.
#[tokio::test]
async fn get_updates_waits_out_its_long_poll() {
    let hold = Duration::from_millis(600);
    let server = TestServer::start(
        vec![],
        Reply::ok(json!([{"update_id": 1, "message": {"message_id": 1, "chat": {"id": 2, "type": "private"}}}]))
            .delayed(hold),
    )
    .await;
    let bot = server
        .bot()
        .request_timeout(Duration::from_millis(200))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let mut request = GetUpdates::new();
    request.timeout = Some(1);
    let updates = bot.get_updates(&request).await.unwrap();
    assert_eq!(updates.len(), 1);

    let error = bot.get_me().await.unwrap_err();
    assert!(error.is_timeout(), "{error:?}");

    // The untyped path reads the long poll from the parameters too.
    let raw: Vec<mpbot_api::Update> = bot
        .call("getUpdates", &json!({"timeout": 1}))
        .await
        .unwrap();
    assert_eq!(raw.len(), 1);
}
