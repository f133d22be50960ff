//! The throttle over real HTTP: shared by clones, on by default.

use std::num::NonZeroU32;
use std::time::Duration;

use mpbot_api::DEFAULT_REQUESTS_PER_SECOND;
use serde_json::json;
use tokio::time::Instant;

use crate::support::{Reply, TestServer};

/// Clones share one throttle: 11 concurrent calls from two clones at 20/s cannot all be done
/// before 10 intervals have passed. (A lower bound the throttle guarantees; no upper bound is
/// asserted.)
#[tokio::test]
async fn clones_share_one_throttle() {
    let server = TestServer::start(vec![], Reply::ok(json!(true))).await;
    let bot = server
        .bot()
        .rate_limit(NonZeroU32::new(20))
        .build()
        .unwrap();
    let other = bot.clone();
    let interval = bot.throttle().unwrap().interval();
    assert_eq!(interval, Duration::from_millis(50));
    assert!(std::ptr::eq(
        bot.throttle().unwrap(),
        other
            .with_retry_policy(mpbot_api::RetryPolicy::none())
            .throttle()
            .unwrap()
    ));

    let start = Instant::now();
    let calls = (0..11).map(|i| {
        let bot = if i % 2 == 0 {
            bot.clone()
        } else {
            other.clone()
        };
        async move { bot.delete_my_commands().await }
    });
    let results =
        tokio::time::timeout(crate::support::GUARD, futures_util::future::join_all(calls))
            .await
            .unwrap();
    assert!(results.iter().all(|r| matches!(r, Ok(true))));
    assert_eq!(server.count(), 11);
    assert!(start.elapsed() >= interval * 10, "{:?}", start.elapsed());
}

/// A client is throttled at MPChat's 30/s unless told otherwise, and `None` turns it off.
#[tokio::test]
async fn throttle_defaults_to_thirty_per_second() {
    let token = mpbot_api::BotToken::new("1:x").unwrap();
    let bot = mpbot_api::Bot::builder(token.clone()).build().unwrap();
    assert_eq!(DEFAULT_REQUESTS_PER_SECOND, 30);
    let interval = bot.throttle().unwrap().interval();
    assert!(interval * 30 >= Duration::from_secs(1) && interval * 29 < Duration::from_secs(1));
    let off = mpbot_api::Bot::builder(token)
        .rate_limit(None)
        .build()
        .unwrap();
    assert!(off.throttle().is_none());
}
