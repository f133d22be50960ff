//! The HTTP server: accept loop, routing between the Bot API and the control API, responses.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use mpbot_api::Envelope;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::state::{BotEntry, Clock};

/// Request bodies above this are refused (media uploads included).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// Settings fixed at start.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) allow_http_webhooks: bool,
    pub(crate) rate_limit: Option<u32>,
    pub(crate) retry_backoff: Duration,
}

/// Everything the request handlers and background tasks share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) bots: HashMap<String, Arc<BotEntry>>,
    pub(crate) clock: Clock,
    pub(crate) config: Config,
    /// Calls webhooks (probe and delivery); trusts the configured test CAs.
    pub(crate) http: reqwest::Client,
    pub(crate) cancel: CancellationToken,
    pub(crate) tasks: TaskTracker,
}

/// Returned by the service to make hyper close the connection without a response (the
/// `drop` fault).
#[derive(Debug)]
pub(crate) struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DropConnection {}

pub(crate) type HttpResponse = Response<Full<Bytes>>;

/// A JSON response with `status`.
pub(crate) fn json_response(status: StatusCode, body: Bytes) -> HttpResponse {
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// A Bot API error: status = `error_code`, an envelope with `description` and no `result`.
#[derive(Debug, Clone)]
pub(crate) struct ApiFail {
    pub(crate) code: u16,
    pub(crate) description: String,
    pub(crate) retry_after: Option<u64>,
}

impl ApiFail {
    pub(crate) fn new(code: u16, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            retry_after: None,
        }
    }

    pub(crate) fn bad_request(reason: impl std::fmt::Display) -> Self {
        Self::new(400, format!("Bad Request: {reason}"))
    }

    pub(crate) fn into_response(self) -> HttpResponse {
        let mut envelope = Envelope::<()>::failure(i64::from(self.code), self.description);
        if let Some(secs) = self.retry_after {
            envelope = envelope.with_retry_after(secs.max(1));
        }
        let status = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = json_response(
            status,
            Bytes::from(serde_json::to_vec(&envelope).unwrap_or_default()),
        );
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

/// The standard description for a status, Telegram-style.
pub(crate) fn status_description(code: u16) -> String {
    let reason = StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    match code {
        429 => "Too Many Requests: retry later".to_owned(),
        409 => "Conflict: injected fault".to_owned(),
        50001 => "Business error".to_owned(),
        _ => reason.to_owned(),
    }
}

/// A successful envelope around `result`.
pub(crate) fn ok_response(result: &serde_json::Value) -> HttpResponse {
    json_response(
        StatusCode::OK,
        Bytes::from(serde_json::to_vec(&Envelope::success(result)).unwrap_or_default()),
    )
}

/// Reads the whole body, refusing more than [`MAX_BODY`].
pub(crate) async fn read_body(body: Incoming) -> Result<Bytes, ApiFail> {
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(_) => Err(ApiFail::new(413, "Request Entity Too Large")),
    }
}

/// Serves until `shared.cancel` fires. Every connection task is tracked by `shared.tasks`.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shared.cancel.cancelled() => break,
        };
        let (stream, _) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                // Usually EMFILE: back off briefly instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let conn_shared = shared.clone();
        shared.tasks.spawn(async move {
            let svc_shared = conn_shared.clone();
            let service = service_fn(move |req| route(svc_shared.clone(), req));
            let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                result = conn => {
                    if let Err(error) = result {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                }
                () = conn_shared.cancel.cancelled() => {}
            }
        });
    }
    tracing::info!("emulator stopped accepting connections");
}

async fn route(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<HttpResponse, DropConnection> {
    let path = req.uri().path().to_owned();
    if let Some(rest) = path.strip_prefix("/bot/bot") {
        let (token, method) = rest.split_once('/').unwrap_or((rest, ""));
        let token = percent_decode(token);
        return crate::api::handle(shared.clone(), &token, method, req).await;
    }
    if let Some(rest) = path.strip_prefix("/_emulator/") {
        return Ok(crate::control::handle(&shared, rest, req).await);
    }
    Ok(ApiFail::new(404, "Not Found").into_response())
}

/// Decodes `%XX` escapes in a path segment (a client may write a token's `:` as `%3A`).
/// Invalid escapes are kept as they are.
pub(crate) fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = segment.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| segment.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decode_handles_escapes_and_keeps_bad_ones() {
        assert_eq!(percent_decode("123%3AABC"), "123:ABC");
        assert_eq!(percent_decode("plain:token"), "plain:token");
        assert_eq!(percent_decode("bad%zz%4"), "bad%zz%4");
    }
}
