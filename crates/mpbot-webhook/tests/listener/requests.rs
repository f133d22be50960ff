//! What each kind of request gets, and what reaches the sink.

use http::StatusCode;

use crate::support::{
    Mode, PATH, SECRET, Server, client, guard, options, post, post_head, raw, update_json,
};

/// Pins the happy path: a valid update with the secret is delivered once and answered 200.
#[tokio::test]
async fn valid_update_is_delivered_once_and_answered_200() {
    let server = Server::start(options(), Mode::Accept).await;
    let response = post(&server, update_json(7, 5, "hi")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let update = server.sink.next_started().await;
    assert_eq!(update.update_id.get(), 7);
    assert_eq!(update.message.unwrap().text.as_deref(), Some("hi"));
    assert_eq!(server.sink.accepted().len(), 1);
    assert_eq!(server.health.updates_accepted(), 1);
    assert!(server.health.last_update_at().is_some());
    server.stop().await.unwrap();
}

/// Pins 401 for a missing or wrong secret (including a prefix of the right one), with nothing
/// delivered.
#[tokio::test]
async fn missing_or_wrong_secret_gets_401_and_reaches_no_sink() {
    let server = Server::start(options(), Mode::Accept).await;
    let body = update_json(1, 5, "x");
    let missing = guard(client().post(server.url()).body(body.clone()).send())
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    for wrong in ["nope", &SECRET[..SECRET.len() - 1], &format!("{SECRET}x")] {
        let response = guard(
            client()
                .post(server.url())
                .header(mpbot_api::SECRET_HEADER, wrong)
                .body(body.clone())
                .send(),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{wrong}");
    }
    post(&server, update_json(2, 5, "ok")).await;
    server.sink.assert_next_is(2).await;
    server.stop().await.unwrap();
}

/// Pins that the secret header name is matched case-insensitively (MPChat's sample reads it
/// in lowercase).
#[tokio::test]
async fn secret_header_name_is_case_insensitive() {
    let server = Server::start(options(), Mode::Accept).await;
    let body = update_json(3, 5, "x");
    let request = format!(
        "POST {PATH} HTTP/1.1\r\nHost: h\r\nx-mpchat-bot-api-secret-token: {SECRET}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let (status, _) = raw(server.addr, request.as_bytes()).await;
    assert_eq!(status, Some(200));
    server.sink.assert_next_is(3).await;
    server.stop().await.unwrap();
}

/// Pins 405 with `Allow: POST` for other methods, and 404 for other paths, with nothing
/// delivered.
#[tokio::test]
async fn other_methods_get_405_and_other_paths_404() {
    let server = Server::start(options(), Mode::Accept).await;
    let get = guard(
        client()
            .get(server.url())
            .header(mpbot_api::SECRET_HEADER, SECRET)
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(get.headers()["allow"], "POST");
    let put = guard(
        client()
            .put(server.url())
            .header(mpbot_api::SECRET_HEADER, SECRET)
            .body(update_json(1, 5, "x"))
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(put.status(), StatusCode::METHOD_NOT_ALLOWED);
    for path in ["/", "/hook/", "/hooks", "/other"] {
        let response = guard(
            client()
                .post(format!("http://{}{path}", server.addr))
                .header(mpbot_api::SECRET_HEADER, SECRET)
                .body(update_json(1, 5, "x"))
                .send(),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    post(&server, update_json(2, 5, "ok")).await;
    server.sink.assert_next_is(2).await;
    server.stop().await.unwrap();
}

/// Pins the probe rule: an empty POST is answered 200 without the secret (or with a wrong
/// one) and delivers nothing.
#[tokio::test]
async fn empty_probe_gets_200_without_secret_and_delivers_nothing() {
    let server = Server::start(options(), Mode::Accept).await;
    let bare = guard(client().post(server.url()).send()).await.unwrap();
    assert_eq!(bare.status(), StatusCode::OK);
    let wrong = guard(
        client()
            .post(server.url())
            .header(mpbot_api::SECRET_HEADER, "wrong")
            .header("content-length", "0")
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(wrong.status(), StatusCode::OK);
    // No Content-Length and no chunking: HTTP/1.1 says there is no body.
    let (status, _) = raw(
        server.addr,
        format!("POST {PATH} HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes(),
    )
    .await;
    assert_eq!(status, Some(200));
    // A chunked body with zero chunks, with the secret: read, found empty, 200.
    let (status, _) = raw(
        server.addr,
        format!("{}0\r\n\r\n", post_head("Transfer-Encoding: chunked\r\n")).as_bytes(),
    )
    .await;
    assert_eq!(status, Some(200));
    post(&server, update_json(9, 5, "ok")).await;
    server.sink.assert_next_is(9).await;
    assert_eq!(server.health.updates_accepted(), 1);
    server.stop().await.unwrap();
}

/// Pins 400 for malformed JSON and for JSON that is not an update, with nothing delivered.
#[tokio::test]
async fn bad_json_and_non_updates_get_400() {
    let server = Server::start(options(), Mode::Accept).await;
    let bodies = [
        "{",
        "not json",
        r#"{"update_id":1,"message":"#,
        "[1,2,3]",
        r#""a string""#,
        r#"{"message":{"message_id":1,"chat":{"id":1,"type":"private"}}}"#,
        r#"{"update_id":"twelve"}"#,
    ];
    for body in bodies {
        let response = post(&server, body).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    post(&server, update_json(4, 5, "ok")).await;
    server.sink.assert_next_is(4).await;
    server.stop().await.unwrap();
}

/// Pins leniency: unknown fields and unknown update kinds are delivered, kept in `extra`.
#[tokio::test]
async fn unknown_fields_and_kinds_are_delivered() {
    let server = Server::start(options(), Mode::Accept).await;
    let body = r#"{"update_id":11,"brand_new_kind":{"chat":{"id":3}},"another":[1]}"#;
    assert_eq!(post(&server, body).await.status(), StatusCode::OK);
    let update = server.sink.next_started().await;
    assert_eq!(update.update_id.get(), 11);
    assert!(update.extra.contains_key("brand_new_kind"));
    server.stop().await.unwrap();
}

/// Pins 413 for a body above the limit, judged by Content-Length, with nothing delivered.
#[tokio::test]
async fn oversize_by_content_length_gets_413() {
    let server = Server::start(options().with_max_body_bytes(200), Mode::Accept).await;
    let response = post(&server, update_json(1, 5, &"x".repeat(300))).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // A declared size above the limit is refused before any body byte is sent.
    let (status, _) = raw(
        server.addr,
        post_head("Content-Length: 1000000000\r\n").as_bytes(),
    )
    .await;
    assert_eq!(status, Some(413));
    post(&server, update_json(2, 5, "ok")).await;
    server.sink.assert_next_is(2).await;
    server.stop().await.unwrap();
}

/// Pins 413 for a chunked body that grows past the limit while streaming.
#[tokio::test]
async fn oversize_by_stream_gets_413() {
    let server = Server::start(options().with_max_body_bytes(200), Mode::Accept).await;
    let body = update_json(1, 5, &"y".repeat(400));
    let mut request = post_head("Transfer-Encoding: chunked\r\n");
    for piece in body.as_bytes().chunks(32) {
        request.push_str(&format!(
            "{:x}\r\n{}\r\n",
            piece.len(),
            String::from_utf8_lossy(piece)
        ));
    }
    request.push_str("0\r\n\r\n");
    let (status, _) = raw(server.addr, request.as_bytes()).await;
    assert_eq!(status, Some(413));
    post(&server, update_json(2, 5, "ok")).await;
    server.sink.assert_next_is(2).await;
    server.stop().await.unwrap();
}

/// Pins 503 with Retry-After when the sink refuses, and that nothing counts as accepted.
#[tokio::test]
async fn refused_update_gets_503_with_retry_after() {
    let server = Server::start(
        options().with_retry_after(std::time::Duration::from_secs(3)),
        Mode::Refuse,
    )
    .await;
    let response = post(&server, update_json(1, 5, "x")).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "3");
    assert_eq!(server.health.updates_accepted(), 0);
    assert_eq!(server.health.last_update_at(), None);
    // The redelivery succeeds once the sink takes updates again.
    server.sink.set_mode(Mode::Accept);
    assert_eq!(
        post(&server, update_json(1, 5, "x")).await.status(),
        StatusCode::OK
    );
    assert_eq!(server.sink.accepted().len(), 1);
    server.stop().await.unwrap();
}

/// Pins that a duplicate verdict (a redelivery the dispatcher already saw) is answered 200.
#[tokio::test]
async fn duplicate_update_is_answered_200() {
    let server = Server::start(options(), Mode::Duplicate).await;
    let response = post(&server, update_json(1, 5, "x")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(server.sink.accepted().is_empty());
    server.stop().await.unwrap();
}

/// Pins `handled`: the answer waits for the sink's verdict.
#[tokio::test]
async fn answer_waits_for_the_sink() {
    let server = Server::start(options(), Mode::Hold).await;
    let request = tokio::spawn(post_owned(server.url(), update_json(1, 5, "x")));
    server.sink.assert_next_is(1).await;
    // The sink holds the update: the request cannot have been answered.
    assert!(!request.is_finished());
    server.sink.release(1);
    let status = guard(request).await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server.sink.finished(), 1);
    server.stop().await.unwrap();
}

/// Pins the ack deadline: the listener answers 200 while the sink still holds the update,
/// and the delivery finishes afterwards.
#[tokio::test]
async fn ack_deadline_answers_200_and_lets_the_handler_finish() {
    let options = options().with_ack_deadline(Some(std::time::Duration::from_millis(50)));
    let server = Server::start(options, Mode::Hold).await;
    let status = post(&server, update_json(1, 5, "x")).await.status();
    assert_eq!(status, StatusCode::OK);
    // Answered although the sink still holds it.
    assert_eq!(server.sink.finished(), 0);
    assert_eq!(server.health.updates_accepted(), 1);
    server.sink.release(1);
    server.sink.wait_finished(1).await;
    assert_eq!(server.sink.accepted().len(), 1);
    server.stop().await.unwrap();
}

async fn post_owned(url: String, body: String) -> StatusCode {
    client()
        .post(url)
        .header(mpbot_api::SECRET_HEADER, SECRET)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
}
