//! Timeouts and limits of the connection layer.

use std::time::Duration;

use http::StatusCode;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::support::{
    Mode, PATH, Server, client, guard, options, post, post_head, read_head, update_json,
};

/// Pins the slowloris guard: a client that never finishes its headers gets its connection
/// closed (hyper closes without an answer, or 408), and nothing is delivered.
#[tokio::test]
async fn slow_headers_are_cut_off_by_the_header_timeout() {
    let options = options().with_header_read_timeout(Duration::from_millis(100));
    let server = Server::start(options, Mode::Accept).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(format!("POST {PATH} HTTP/1.1\r\nHost: h\r\nX-Slow: ").as_bytes())
        .await
        .unwrap();
    // Never finish the headers; the server must end the exchange on its own.
    let (status, _) = read_head(&mut stream).await;
    assert!(
        matches!(status, None | Some(408)),
        "expected a close or 408, got {status:?}"
    );
    post(&server, update_json(2, 5, "ok")).await;
    server.sink.assert_next_is(2).await;
    server.stop().await.unwrap();
}

/// Pins the body timeout: a body that stops arriving is answered 408 and not delivered.
#[tokio::test]
async fn slow_body_gets_408() {
    let options = options().with_body_read_timeout(Duration::from_millis(100));
    let server = Server::start(options, Mode::Accept).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let request = format!("{}{{\"update_id\":1,", post_head("Content-Length: 500\r\n"));
    stream.write_all(request.as_bytes()).await.unwrap();
    let (status, _) = read_head(&mut stream).await;
    assert_eq!(status, Some(408));
    post(&server, update_json(2, 5, "ok")).await;
    server.sink.assert_next_is(2).await;
    server.stop().await.unwrap();
}

/// Pins the keep-alive idle timeout: a connection with no request in flight is closed.
#[tokio::test]
async fn idle_keep_alive_connection_is_closed() {
    let options = options().with_idle_timeout(Duration::from_millis(100));
    let server = Server::start(options, Mode::Accept).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let body = update_json(1, 5, "x");
    let request = format!(
        "{}{body}",
        post_head(&format!("Content-Length: {}\r\n", body.len()))
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let (status, head) = read_head(&mut stream).await;
    assert_eq!(status, Some(200));
    assert!(!head.to_ascii_lowercase().contains("connection: close"));
    // The connection was kept alive; with nothing more sent, the server closes it.
    let (after, rest) = read_head(&mut stream).await;
    assert_eq!((after, rest.as_str()), (None, ""));
    server.stop().await.unwrap();
}

/// Pins the connection cap: with a limit of 1, a second client is served only after the
/// first connection closed.
///
/// The absence check waits a short window for something that must not happen; it orders
/// nothing and cannot fail on a correct implementation.
#[tokio::test]
async fn connection_limit_holds_extra_clients_until_a_slot_frees() {
    let server = Server::start(options().with_connection_limit(1), Mode::Accept).await;
    let mut first = TcpStream::connect(server.addr).await.unwrap();
    let body = update_json(1, 5, "x");
    let request = format!(
        "{}{body}",
        post_head(&format!("Content-Length: {}\r\n", body.len()))
    );
    first.write_all(request.as_bytes()).await.unwrap();
    assert_eq!(read_head(&mut first).await.0, Some(200));
    // `first` is kept alive and holds the only slot.
    let second = tokio::spawn({
        let url = server.url();
        async move {
            client()
                .post(url)
                .header(mpbot_api::SECRET_HEADER, crate::support::SECRET)
                .body(update_json(2, 5, "y"))
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    server.sink.assert_next_is(1).await;
    let blocked =
        tokio::time::timeout(Duration::from_millis(300), server.sink.next_started()).await;
    assert!(
        blocked.is_err(),
        "second client served while the slot was taken"
    );
    drop(first);
    assert_eq!(guard(second).await.unwrap(), StatusCode::OK);
    server.sink.assert_next_is(2).await;
    server.stop().await.unwrap();
}

/// Pins that a listener explicitly allowed to run without a secret accepts updates without
/// the header.
#[tokio::test]
async fn missing_secret_allowed_accepts_without_header() {
    let mut options = options().with_allow_missing_secret(true);
    options.secret = None;
    let server = Server::start(options, Mode::Accept).await;
    let response = guard(
        client()
            .post(server.url())
            .body(update_json(1, 5, "x"))
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    server.sink.assert_next_is(1).await;
    server.stop().await.unwrap();
}

/// Pins `bind`: it binds `listen`, reports the real port of a port-0 address, serves there, and
/// the source describes itself as a redelivering "webhook".
#[tokio::test]
async fn bind_reports_the_bound_port_and_serves_there() {
    use mpbot_core::UpdateSource;

    let options = options().with_listen("127.0.0.1:0".parse().unwrap());
    let webhook = mpbot_webhook::Webhook::bind(options).await.unwrap();
    let addr = webhook.local_addr();
    assert_ne!(addr.port(), 0);
    let info = webhook.describe();
    assert_eq!((info.name, info.redelivers), ("webhook", true));
    let sink = crate::support::SinkState::new(Mode::Accept);
    let (trigger, shutdown) = mpbot_core::Shutdown::new();
    let task = tokio::spawn(Box::new(webhook).run(
        mpbot_core::UpdateSink::new(crate::support::TestSink(sink.clone())),
        shutdown,
    ));
    let response = guard(
        client()
            .post(format!("http://{addr}{PATH}"))
            .header(mpbot_api::SECRET_HEADER, crate::support::SECRET)
            .body(update_json(1, 5, "x"))
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    sink.assert_next_is(1).await;
    trigger.trigger();
    guard(task).await.unwrap().unwrap();
}

/// Pins that invalid options are refused before anything is bound.
#[tokio::test]
async fn bind_refuses_invalid_options() {
    let mut no_secret = options().with_listen("127.0.0.1:0".parse().unwrap());
    no_secret.secret = None;
    let error = mpbot_webhook::Webhook::bind(no_secret).await.unwrap_err();
    assert!(error.is_config(), "{error}");
}
