//! Graceful shutdown: in-flight requests are answered per policy, new ones are not taken.

use std::time::Duration;

use http::StatusCode;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::support::{
    Mode, SECRET, Server, client, guard, options, post_head, read_head, update_json,
};

/// Waits until the listener reports it stopped serving (shutdown began).
async fn wait_not_serving(server: &Server) {
    guard(async {
        while server.health.is_serving() {
            tokio::task::yield_now().await;
        }
    })
    .await;
}

async fn post_status(url: String, id: i64) -> Result<StatusCode, reqwest::Error> {
    client()
        .post(url)
        .header(mpbot_api::SECRET_HEADER, SECRET)
        .body(update_json(id, 5, "x"))
        .send()
        .await
        .map(|r| r.status())
}

/// Pins shutdown: the in-flight request is answered 200 once the sink accepted it, a new
/// request is not taken (connection refused or 503), idle keep-alive connections are closed,
/// and the listener returns.
#[tokio::test]
async fn shutdown_answers_in_flight_and_takes_nothing_new() {
    let server = Server::start(options(), Mode::Hold).await;
    // An idle keep-alive connection, opened before shutdown.
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    let probe = post_head("Content-Length: 0\r\n");
    idle.write_all(probe.as_bytes()).await.unwrap();
    assert_eq!(read_head(&mut idle).await.0, Some(200));
    assert!(server.health.is_serving());

    let in_flight = tokio::spawn(post_status(server.url(), 1));
    server.sink.assert_next_is(1).await;
    server.trigger();
    wait_not_serving(&server).await;

    match post_status(server.url(), 2).await {
        Ok(status) => assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE),
        Err(error) => assert!(error.is_connect() || error.is_request(), "{error}"),
    }
    // The idle connection is closed by the server.
    assert_eq!(read_head(&mut idle).await, (None, String::new()));

    server.sink.release(1);
    assert_eq!(guard(in_flight).await.unwrap().unwrap(), StatusCode::OK);
    let accepted: Vec<_> = server
        .sink
        .accepted()
        .iter()
        .map(|u| u.update_id.get())
        .collect();
    assert_eq!(accepted, [1]);
    server.stop().await.unwrap();
}

/// Pins the grace period: a request still in flight when it runs out is dropped without an
/// answer (so MPChat redelivers it), and the listener returns.
#[tokio::test]
async fn grace_expiry_drops_unanswered_requests_without_acknowledging() {
    let options = options().with_shutdown_grace(Duration::from_millis(100));
    let server = Server::start(options, Mode::Hold).await;
    let in_flight = tokio::spawn(post_status(server.url(), 1));
    server.sink.assert_next_is(1).await;
    let sink = server.sink.clone();
    server.stop().await.unwrap();
    let outcome = guard(in_flight).await.unwrap();
    assert!(outcome.is_err(), "expected no answer, got {outcome:?}");
    assert_eq!(sink.finished(), 0);
}
