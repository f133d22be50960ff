//! Uploads go out as `multipart/form-data`, checked byte for byte by a real multipart parser.

use std::collections::BTreeMap;

use bytes::Bytes;
use mpbot_api::methods::{InputFile, SendDocument, SendPhoto, SendVideo};
use mpbot_api::types::{InlineKeyboardButton, InlineKeyboardMarkup};
use serde_json::json;

use crate::support::{Recorded, Reply, TestServer};

/// One part as the server parsed it.
#[derive(Debug)]
struct Part {
    file_name: Option<String>,
    content_type: Option<String>,
    bytes: Bytes,
}

async fn parse(request: &Recorded) -> BTreeMap<String, Part> {
    let boundary = multer::parse_boundary(&request.content_type).expect("a multipart request");
    let body = request.body.clone();
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut parts = BTreeMap::new();
    while let Some(field) = multipart.next_field().await.unwrap() {
        let name = field.name().unwrap().to_owned();
        let part = Part {
            file_name: field.file_name().map(str::to_owned),
            content_type: field.content_type().map(ToString::to_string),
            bytes: field.bytes().await.unwrap(),
        };
        assert!(parts.insert(name, part).is_none(), "duplicate part");
    }
    parts
}

fn sent() -> Reply {
    Reply::ok(json!({"message_id": 9, "chat": {"id": 42, "type": "private"}}))
}

/// sendPhoto with an upload sends the file as a part named `photo` with its name, type and exact
/// bytes, and every other parameter as a text part (JSON values as JSON text).
#[tokio::test]
async fn upload_is_sent_as_multipart_with_exact_bytes_and_fields() {
    let server = TestServer::start(vec![], sent()).await;
    let bot = server.bot().build().unwrap();
    // Bytes that would break a naive encoder: NUL, CR LF, a boundary-like line, non-UTF-8.
    let content: Vec<u8> = [
        b"\x89PNG\r\n\x1a\n\0\0".as_slice(),
        b"\r\n--boundary\r\n".as_slice(),
        &[0xff, 0xfe, 0x00, 0x80],
    ]
    .concat();
    let mut request = SendPhoto::new(
        -1_001_234_567_890,
        InputFile::Upload {
            file_name: "cat picture.png".into(),
            mime: Some("image/png".into()),
            bytes: content.clone(),
        },
    )
    .with_caption("a \"cat\" & ünïcode");
    let markup = InlineKeyboardMarkup::new(vec![vec![InlineKeyboardButton::web_app(
        "Open",
        "https://app.example/entry",
    )]]);
    request.reply_markup = Some(markup.clone());
    request.parse_mode = Some("HTML".into());

    let message = bot.send_photo(&request).await.unwrap();
    assert_eq!(message.message_id.get(), 9);

    let received = server.next_request().await;
    assert_eq!(received.method, "sendPhoto");
    assert!(
        received
            .content_type
            .starts_with("multipart/form-data; boundary=")
    );
    let parts = parse(&received).await;
    assert_eq!(
        parts.keys().map(String::as_str).collect::<Vec<_>>(),
        ["caption", "chat_id", "parse_mode", "photo", "reply_markup"]
    );
    let photo = &parts["photo"];
    assert_eq!(photo.file_name.as_deref(), Some("cat picture.png"));
    assert_eq!(photo.content_type.as_deref(), Some("image/png"));
    assert_eq!(photo.bytes.as_ref(), content.as_slice());
    assert_eq!(parts["chat_id"].bytes.as_ref(), b"-1001234567890");
    assert_eq!(
        parts["caption"].bytes.as_ref(),
        "a \"cat\" & ünïcode".as_bytes()
    );
    assert_eq!(parts["parse_mode"].bytes.as_ref(), b"HTML");
    assert!(parts["caption"].file_name.is_none());
    let sent_markup: InlineKeyboardMarkup =
        serde_json::from_slice(&parts["reply_markup"].bytes).unwrap();
    assert_eq!(sent_markup, markup);
}

/// Without a MIME type the file part is `application/octet-stream`; the part is named after the
/// method's parameter.
#[tokio::test]
async fn upload_part_is_named_after_the_parameter() {
    let server = TestServer::start(vec![], sent()).await;
    let bot = server.bot().build().unwrap();
    bot.send_document(&SendDocument::new(
        7,
        InputFile::upload("notes.txt", b"hello".to_vec()),
    ))
    .await
    .unwrap();
    bot.send_video(&SendVideo::new(
        7,
        InputFile::upload("clip.mp4", vec![0u8; 100_000]),
    ))
    .await
    .unwrap();
    let document = parse(&server.next_request().await).await;
    assert_eq!(document.keys().collect::<Vec<_>>(), ["chat_id", "document"]);
    assert_eq!(
        document["document"].content_type.as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(document["document"].bytes.as_ref(), b"hello");
    let video = parse(&server.next_request().await).await;
    assert_eq!(video["video"].bytes.len(), 100_000);
    assert_eq!(video["video"].file_name.as_deref(), Some("clip.mp4"));
}

/// A public URL is sent as plain JSON, not multipart.
#[tokio::test]
async fn url_media_is_sent_as_json() {
    let server = TestServer::start(vec![], sent()).await;
    let bot = server.bot().build().unwrap();
    bot.send_photo(
        &SendPhoto::new(42, InputFile::url("https://img.example/a.png")).with_caption("c"),
    )
    .await
    .unwrap();
    let received = server.next_request().await;
    assert_eq!(received.content_type, "application/json");
    assert_eq!(
        received.json(),
        json!({"chat_id": 42, "photo": "https://img.example/a.png", "caption": "c"})
    );
}

/// A retried upload sends the same bytes again.
#[tokio::test]
async fn retried_upload_resends_the_file() {
    let server = TestServer::start(vec![Reply::error(500, 500, "oops")], sent()).await;
    let bot = server.bot().build().unwrap();
    bot.send_document(&SendDocument::new(
        1,
        InputFile::upload("a.bin", vec![1, 2, 3]),
    ))
    .await
    .unwrap();
    let first = parse(&server.next_request().await).await;
    let second = parse(&server.next_request().await).await;
    assert_eq!(first["document"].bytes.as_ref(), [1, 2, 3]);
    assert_eq!(second["document"].bytes.as_ref(), [1, 2, 3]);
}

/// An unusable MIME type is refused before anything is sent.
#[tokio::test]
async fn invalid_mime_is_an_invalid_request() {
    let server = TestServer::start(vec![], sent()).await;
    let bot = server.bot().build().unwrap();
    let file = InputFile::Upload {
        file_name: "x".into(),
        mime: Some("not a mime\n".into()),
        bytes: vec![1],
    };
    let error = bot.send_photo(&SendPhoto::new(1, file)).await.unwrap_err();
    assert!(
        matches!(error, mpbot_api::Error::InvalidRequest { .. }),
        "{error:?}"
    );
    assert_eq!(server.count(), 0);
}
