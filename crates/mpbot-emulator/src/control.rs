//! The control API under `/_emulator/`: act as users, read what bots sent, inject faults,
//! move the clock, list webhook deliveries.

use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, StatusCode};
use hyper::body::Incoming;
use mpbot_api::{ChatId, MessageId, User};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::events;
use crate::handle::Fault;
use crate::server::{ApiFail, HttpResponse, Shared, json_response, read_body};

#[derive(Deserialize)]
struct MessageReq {
    chat_id: ChatId,
    #[serde(default)]
    chat_type: Option<String>,
    from: User,
    text: String,
}

#[derive(Deserialize)]
struct JoinReq {
    chat_id: ChatId,
    #[serde(default)]
    chat_type: Option<String>,
    members: Vec<User>,
    #[serde(default)]
    from: Option<User>,
}

#[derive(Deserialize)]
struct LeaveReq {
    chat_id: ChatId,
    member: User,
    #[serde(default)]
    from: Option<User>,
}

#[derive(Deserialize)]
struct PinReq {
    chat_id: ChatId,
    message_id: MessageId,
    from: User,
}

#[derive(Deserialize)]
struct FaultReq {
    method: String,
    #[serde(default = "one")]
    times: u32,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    retry_after: Option<u64>,
    #[serde(default)]
    drop: bool,
    #[serde(default)]
    delay_ms: Option<u64>,
}

fn one() -> u32 {
    1
}

#[derive(Deserialize)]
struct AdvanceReq {
    seconds: i64,
}

fn ok_json(value: &Value) -> HttpResponse {
    json_response(
        StatusCode::OK,
        serde_json::to_vec(value).unwrap_or_default().into(),
    )
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiFail> {
    serde_json::from_slice(body)
        .map_err(|e| ApiFail::bad_request(format!("invalid JSON body: {e}")))
}

/// Handles `/_emulator/{rest}`.
pub(crate) async fn handle(
    shared: &Arc<Shared>,
    rest: &str,
    req: Request<Incoming>,
) -> HttpResponse {
    let method = req.method().clone();
    let segments: Vec<String> = rest
        .trim_end_matches('/')
        .split('/')
        .map(crate::server::percent_decode)
        .collect();
    let body = match read_body(req.into_body()).await {
        Ok(body) => body,
        Err(fail) => return fail.into_response(),
    };
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    route(shared, &method, &segs, &body).unwrap_or_else(ApiFail::into_response)
}

fn route(
    shared: &Arc<Shared>,
    method: &Method,
    segs: &[&str],
    body: &[u8],
) -> Result<HttpResponse, ApiFail> {
    match (method, segs) {
        (&Method::GET, ["health"]) => Ok(ok_json(&json!({ "ok": true }))),
        (&Method::POST, ["clock", "advance"]) => {
            let req: AdvanceReq = parse(body)?;
            shared.clock.advance(req.seconds);
            Ok(ok_json(&json!({ "now": shared.clock.now() })))
        }
        (_, ["bots", token, rest @ ..]) => {
            let bot = shared
                .bots
                .get(*token)
                .ok_or_else(|| ApiFail::new(404, "Not Found: unknown bot token"))?;
            let now = shared.clock.now();
            match (method, rest) {
                (&Method::POST, ["messages"]) => {
                    let req: MessageReq = parse(body)?;
                    let posted = events::post_message(
                        bot,
                        now,
                        req.chat_id.get(),
                        events::chat_type_from(req.chat_type.as_deref()),
                        req.from,
                        req.text,
                    );
                    Ok(ok_json(&serde_json::to_value(posted).unwrap_or_default()))
                }
                (&Method::POST, ["joins"]) => {
                    let req: JoinReq = parse(body)?;
                    if req.members.is_empty() {
                        return Err(ApiFail::bad_request("\"members\" must not be empty"));
                    }
                    let id = events::join(
                        bot,
                        now,
                        req.chat_id.get(),
                        events::chat_type_from(req.chat_type.as_deref()),
                        req.members,
                        req.from,
                    );
                    Ok(ok_json(&json!({ "update_id": id })))
                }
                (&Method::POST, ["leaves"]) => {
                    let req: LeaveReq = parse(body)?;
                    let id = events::leave(bot, now, req.chat_id.get(), req.member, req.from);
                    Ok(ok_json(&json!({ "update_id": id })))
                }
                (&Method::POST, ["pins"]) => {
                    let req: PinReq = parse(body)?;
                    let id =
                        events::pin(bot, now, req.chat_id.get(), req.message_id.get(), req.from);
                    Ok(ok_json(&json!({ "update_id": id })))
                }
                (&Method::POST, ["updates"]) => {
                    let update: Value = parse(body)?;
                    let id = bot
                        .with_state(|st| st.enqueue_raw(now, update))
                        .map_err(|e| ApiFail::bad_request(e.to_string()))?;
                    Ok(ok_json(&json!({ "update_id": id })))
                }
                (&Method::GET, ["sent"]) => {
                    let sent = bot.with_state(|st| serde_json::to_value(&st.sent));
                    Ok(ok_json(&sent.unwrap_or_default()))
                }
                (&Method::POST, ["faults"]) => {
                    let req: FaultReq = parse(body)?;
                    if req.times == 0 {
                        return Err(ApiFail::bad_request("\"times\" must be at least 1"));
                    }
                    if req.status.is_some_and(|s| !(400..=599).contains(&s)) {
                        return Err(ApiFail::bad_request(
                            "\"status\" must be between 400 and 599",
                        ));
                    }
                    let fault = Fault {
                        method: req.method,
                        times: req.times,
                        status: req.status,
                        retry_after: req.retry_after.map(|s| s.max(1)),
                        drop: req.drop,
                        delay: req.delay_ms.map(Duration::from_millis),
                    };
                    bot.with_state(|st| st.faults.push(fault));
                    Ok(ok_json(&json!({ "ok": true })))
                }
                (&Method::DELETE, ["faults"]) => {
                    bot.with_state(|st| st.faults.clear());
                    Ok(ok_json(&json!({ "ok": true })))
                }
                (&Method::GET, ["webhook", "deliveries"]) => {
                    let list = bot.with_state(|st| serde_json::to_value(&st.deliveries));
                    Ok(ok_json(&list.unwrap_or_default()))
                }
                (_, ["messages" | "joins" | "leaves" | "pins" | "updates" | "sent" | "faults"])
                | (_, ["webhook", "deliveries"]) => Err(ApiFail::new(405, "Method Not Allowed")),
                _ => Err(ApiFail::new(404, "Not Found: no such control route")),
            }
        }
        (_, ["health"] | ["clock", "advance"]) => Err(ApiFail::new(405, "Method Not Allowed")),
        _ => Err(ApiFail::new(404, "Not Found: no such control route")),
    }
}
