//! The Bot API: `/bot/bot{TOKEN}/{method}`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use http::{Request, StatusCode, header};
use hyper::body::Incoming;
use mpbot_api::types::{BotCommand, ChatMemberStatus, InlineKeyboardMarkup, Message};
use mpbot_api::{ChatId, ChatType, MessageId, WebhookInfo};
use serde_json::{Value, json};

use crate::handle::SentMessage;
use crate::params::Params;
use crate::server::{
    ApiFail, DropConnection, HttpResponse, Shared, json_response, ok_response, read_body,
    status_description,
};
use crate::state::{BotEntry, BotState, ChatState, StoredUpdate, WebhookConfig};
use crate::webhook;

/// Methods MPChat documents as answering 501 in this phase.
const NOT_IMPLEMENTED: &[&str] = &["sendChatAction", "sendLocation", "sendPoll"];

/// Handles one Bot API request. `Err` makes hyper drop the connection (the `drop` fault).
pub(crate) async fn handle(
    shared: Arc<Shared>,
    token: &str,
    method: &str,
    req: Request<Incoming>,
) -> Result<HttpResponse, DropConnection> {
    let Some(bot) = shared.bots.get(token).cloned() else {
        return Ok(ApiFail::new(401, "Unauthorized").into_response());
    };
    if let Some(limit) = shared.config.rate_limit {
        let now = tokio::time::Instant::now();
        if let Err(secs) = bot.with_state(|st| st.rate.take(limit, now)) {
            let mut fail = ApiFail::new(429, format!("Too Many Requests: retry after {secs}"));
            fail.retry_after = Some(secs);
            return Ok(fail.into_response());
        }
    }
    if let Some(fault) = bot.with_state(|st| st.take_fault(method)) {
        tracing::debug!(method, ?fault, "applying an injected fault");
        if let Some(delay) = fault.delay {
            tokio::time::sleep(delay).await;
        }
        if fault.drop {
            return Err(DropConnection);
        }
        if let Some(status) = fault.status {
            let mut fail = ApiFail::new(status, status_description(status));
            fail.retry_after = fault.retry_after.or((status == 429).then_some(1));
            return Ok(fail.into_response());
        }
    }
    let query = req.uri().query().map(str::to_owned);
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let result = async {
        let body = read_body(req.into_body()).await?;
        let params = Params::read(query.as_deref(), content_type.as_deref(), body).await?;
        tracing::debug!(method, "bot api call");
        match method {
            "getUpdates" => get_updates(&shared, &bot, &params).await,
            "setWebhook" => set_webhook(&shared, &bot, &params)
                .await
                .map(|v| ok_response(&v)),
            m if NOT_IMPLEMENTED.contains(&m) => Err(ApiFail::new(
                501,
                format!("Not Implemented: {m} is not available in this phase"),
            )),
            _ => call(&shared, &bot, method, &params).map(|v| ok_response(&v)),
        }
    }
    .await;
    Ok(result.unwrap_or_else(ApiFail::into_response))
}

fn conflict_webhook() -> ApiFail {
    ApiFail::new(
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
    )
}

fn conflict_terminated() -> ApiFail {
    ApiFail::new(
        409,
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    )
}

fn in_range(p: &Params, name: &str, default: i64, min: i64, max: i64) -> Result<i64, ApiFail> {
    let v = p.int(name)?.unwrap_or(default);
    if (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(ApiFail::bad_request(format!(
            "parameter \"{name}\" must be between {min} and {max}"
        )))
    }
}

/// `{"ok":true,"result":[...]}` from pre-serialized updates.
fn batch_response(batch: &[StoredUpdate]) -> HttpResponse {
    let len: usize = batch.iter().map(|u| u.json.len() + 1).sum();
    let mut buf = BytesMut::with_capacity(len + 32);
    buf.put_slice(br#"{"ok":true,"result":["#);
    for (i, u) in batch.iter().enumerate() {
        if i > 0 {
            buf.put_u8(b',');
        }
        buf.put_slice(&u.json);
    }
    buf.put_slice(b"]}");
    json_response(StatusCode::OK, buf.freeze())
}

/// getUpdates: validation, offset confirmation, long poll, consumption at response time.
///
/// The batch is taken out of the queue only in the same synchronous step that builds the
/// response; while waiting, nothing is held. When the client goes away hyper drops this future
/// mid-wait, so nothing is consumed.
async fn get_updates(shared: &Shared, bot: &BotEntry, p: &Params) -> Result<HttpResponse, ApiFail> {
    let offset = p.int("offset")?;
    if offset.is_some_and(|o| o < 0) {
        return Err(ApiFail::bad_request(
            "parameter \"offset\" must not be negative",
        ));
    }
    let limit = usize::try_from(in_range(p, "limit", 100, 1, 100)?).unwrap_or(100);
    let timeout = in_range(p, "timeout", 0, 0, 50)?;
    let allowed: Option<Vec<String>> = p.json("allowed_updates")?;
    let my_gen = bot.with_state(|st| {
        if st.webhook.is_some() {
            return Err(conflict_webhook());
        }
        if let Some(list) = allowed {
            st.allowed_updates = (!list.is_empty()).then_some(list);
        }
        st.poll_gen += 1;
        // Published under the lock so generations reach waiters in order.
        bot.poll_gen.send_replace(st.poll_gen);
        Ok(st.poll_gen)
    })?;
    let mut events = bot.events.subscribe();
    let mut gens = bot.poll_gen.subscribe();
    let deadline =
        tokio::time::Instant::now() + Duration::from_secs(u64::try_from(timeout).unwrap_or(0));
    let mut waiting = None;
    loop {
        let now = shared.clock.now();
        let outcome = bot.with_state(|st| {
            if st.webhook.is_some() {
                return Some(Err(conflict_webhook()));
            }
            if st.poll_gen != my_gen {
                return Some(Err(conflict_terminated()));
            }
            if let Some(offset) = offset {
                st.drop_below(offset);
            }
            st.expire(now);
            if st.has_batch() || tokio::time::Instant::now() >= deadline {
                Some(Ok(st.take_batch(limit)))
            } else {
                None
            }
        });
        if let Some(outcome) = outcome {
            drop(waiting);
            return outcome.map(|batch| batch_response(&batch));
        }
        // Entered once: entering publishes a change, which wakes this loop once more.
        if waiting.is_none() {
            waiting = Some(WaitingPoll::enter(bot));
        }
        tokio::select! {
            _ = events.changed() => {}
            _ = gens.changed() => {}
            () = tokio::time::sleep_until(deadline) => {}
            () = shared.cancel.cancelled() => return Ok(batch_response(&[])),
        }
    }
}

/// Counts a long poll as waiting while it lives; dropped when the wait ends or the request
/// future is dropped (the client went away).
struct WaitingPoll<'a>(&'a BotEntry);

impl<'a> WaitingPoll<'a> {
    fn enter(bot: &'a BotEntry) -> Self {
        bot.with_state(|st| st.polls_waiting += 1);
        Self(bot)
    }
}

impl Drop for WaitingPoll<'_> {
    fn drop(&mut self) {
        self.0.with_state(|st| st.polls_waiting -= 1);
    }
}

fn valid_secret(secret: &str) -> bool {
    (1..=256).contains(&secret.len())
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// setWebhook: validate, probe, then save. A failure leaves the previous webhook as it was.
async fn set_webhook(
    shared: &Arc<Shared>,
    bot: &Arc<BotEntry>,
    p: &Params,
) -> Result<Value, ApiFail> {
    let url = p.str("url")?.unwrap_or_default();
    let drop_pending = p.bool("drop_pending_updates")?.unwrap_or(false);
    if url.is_empty() {
        webhook::remove(bot, drop_pending);
        return Ok(Value::Bool(true));
    }
    let parsed = reqwest::Url::parse(&url).map_err(|e| {
        ApiFail::bad_request(format!(
            "bad webhook: parameter \"url\" is not a valid URL: {e}"
        ))
    })?;
    match parsed.scheme() {
        "https" => {}
        "http" if shared.config.allow_http_webhooks => {
            tracing::warn!(
                host = parsed.host_str().unwrap_or(""),
                "accepting a plain-HTTP webhook because --allow-http-webhooks is set (development only)"
            );
        }
        _ => {
            return Err(ApiFail::bad_request(
                "bad webhook: an HTTPS URL must be provided in parameter \"url\"",
            ));
        }
    }
    let secret = p.str("secret_token")?;
    if let Some(secret) = &secret
        && !valid_secret(secret)
    {
        return Err(ApiFail::bad_request(
            "bad webhook: parameter \"secret_token\" must be 1-256 characters of A-Z, a-z, 0-9, _ and -",
        ));
    }
    let max_connections = u32::try_from(in_range(p, "max_connections", 40, 1, 100)?).unwrap_or(40);
    let allowed_updates: Option<Vec<String>> = p.json("allowed_updates")?;
    webhook::probe(shared, &url, secret.as_deref())
        .await
        .map_err(|reason| ApiFail::bad_request(format!("bad webhook: {reason}")))?;
    webhook::install(
        shared,
        bot,
        WebhookConfig {
            url,
            secret,
            max_connections,
            allowed_updates: allowed_updates.filter(|l| !l.is_empty()),
        },
        drop_pending,
    );
    Ok(Value::Bool(true))
}

/// getWebhookInfo's answer.
pub(crate) fn webhook_info(shared: &Shared, bot: &BotEntry) -> WebhookInfo {
    let now = shared.clock.now();
    bot.with_state(|st| {
        st.expire(now);
        let mut info = WebhookInfo {
            has_custom_certificate: Some(false),
            pending_update_count: Some(st.pending.len() as u64),
            ..WebhookInfo::default()
        };
        if let Some(cfg) = &st.webhook {
            info.url.clone_from(&cfg.url);
            info.max_connections = Some(cfg.max_connections);
            info.allowed_updates.clone_from(&cfg.allowed_updates);
        }
        if let Some((date, message)) = &st.last_error {
            info.last_error_date = Some(*date);
            info.last_error_message = Some(message.clone());
        }
        info
    })
}

/// The methods that need no waiting.
fn call(shared: &Shared, bot: &BotEntry, method: &str, p: &Params) -> Result<Value, ApiFail> {
    match method {
        "getMe" => Ok(serde_json::to_value(&bot.me).unwrap_or_default()),
        "getWebhookInfo" => Ok(serde_json::to_value(webhook_info(shared, bot)).unwrap_or_default()),
        "deleteWebhook" => {
            webhook::remove(bot, p.bool("drop_pending_updates")?.unwrap_or(false));
            Ok(Value::Bool(true))
        }
        "logOut" => Ok(Value::Bool(true)),
        _ => {
            let now = shared.clock.now();
            bot.with_state(|st| chat_method(st, bot, now, method, p))
        }
    }
}

fn chat_not_found() -> ApiFail {
    ApiFail::bad_request(
        "chat not found: the user must write to the bot first (bots cannot start conversations)",
    )
}

/// The chat `chat_id` if the bot has a conversation there.
fn open_chat(chats: &mut HashMap<i64, ChatState>, chat_id: i64) -> Result<&mut ChatState, ApiFail> {
    match chats.get_mut(&chat_id) {
        None => Err(chat_not_found()),
        Some(chat) if !chat.bot_present => Err(ApiFail::new(
            403,
            "Forbidden: bot is not a member of the chat",
        )),
        Some(chat) => Ok(chat),
    }
}

fn markup(p: &Params) -> Result<(Option<Value>, Option<InlineKeyboardMarkup>), ApiFail> {
    let raw = p.raw_json("reply_markup")?;
    let typed = match &raw {
        None => None,
        Some(v) => Some(serde_json::from_value(v.clone()).map_err(|e| {
            ApiFail::bad_request(format!(
                "can't parse reply keyboard markup (\"reply_markup\"): {e}"
            ))
        })?),
    };
    Ok((raw, typed))
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or_default()
}

fn is_group_like(kind: &ChatType) -> bool {
    !matches!(kind, ChatType::Private)
}

fn member_json(user: &mpbot_api::User, status: &ChatMemberStatus, until: Option<i64>) -> Value {
    let mut v = json!({ "user": user, "status": status });
    if *status == ChatMemberStatus::Restricted {
        v["until_date"] = json!(until.unwrap_or(0));
        v["can_send_messages"] = json!(false);
    }
    v
}

#[allow(clippy::too_many_lines)]
fn chat_method(
    st: &mut BotState,
    bot: &BotEntry,
    now: i64,
    method: &str,
    p: &Params,
) -> Result<Value, ApiFail> {
    let me = &bot.me;
    match method {
        "sendMessage" => {
            let chat_id = p.req_int("chat_id")?;
            let text = p.req_str("text")?;
            if text.is_empty() {
                return Err(ApiFail::bad_request("message text is empty"));
            }
            let (raw_markup, reply_markup) = markup(p)?;
            let reply_to = p.int("reply_to_message_id")?;
            let parse_mode = p.str("parse_mode")?;
            let message_id = st.next_message_id;
            let chat = open_chat(&mut st.chats, chat_id)?;
            let mut message = Message {
                message_id: MessageId(message_id),
                chat: chat.chat.clone(),
                from: Some(me.clone()),
                date: Some(now),
                text: Some(text.clone()),
                reply_to_message: reply_to
                    .and_then(|id| chat.messages.get(&id))
                    .map(|m| Box::new(m.clone())),
                reply_markup,
                ..Message::default()
            };
            if let Some(mode) = parse_mode {
                // Not a Message field on the wire; kept so a test can see what was asked.
                message
                    .extra
                    .insert("parse_mode".into(), Value::String(mode));
            }
            chat.messages.insert(message_id, message.clone());
            st.next_message_id += 1;
            st.sent.push(SentMessage {
                chat_id: ChatId(chat_id),
                message_id: MessageId(message_id),
                text: Some(text),
                reply_markup: raw_markup,
                method: method.to_owned(),
            });
            message.extra.remove("parse_mode");
            Ok(to_value(&message))
        }
        "editMessageText" => {
            let chat_id = p.req_int("chat_id")?;
            let message_id = p.req_int("message_id")?;
            let text = p.req_str("text")?;
            if text.is_empty() {
                return Err(ApiFail::bad_request("message text is empty"));
            }
            let (raw_markup, reply_markup) = markup(p)?;
            let chat = open_chat(&mut st.chats, chat_id)?;
            let message = chat
                .messages
                .get_mut(&message_id)
                .ok_or_else(|| ApiFail::bad_request("message to edit not found"))?;
            if message.from.as_ref().map(|u| u.id) != Some(me.id) {
                return Err(ApiFail::bad_request("message can't be edited"));
            }
            message.text = Some(text.clone());
            if reply_markup.is_some() {
                message.reply_markup = reply_markup;
            }
            message.extra.insert("edit_date".into(), json!(now));
            let result = to_value(message);
            st.sent.push(SentMessage {
                chat_id: ChatId(chat_id),
                message_id: MessageId(message_id),
                text: Some(text),
                reply_markup: raw_markup,
                method: method.to_owned(),
            });
            Ok(result)
        }
        "forwardMessage" | "copyMessage" => {
            let chat_id = p.req_int("chat_id")?;
            let from_chat_id = p.req_int("from_chat_id")?;
            let source_id = p.req_int("message_id")?;
            let caption = p.str("caption")?;
            let source = st
                .chats
                .get(&from_chat_id)
                .and_then(|c| c.messages.get(&source_id))
                .cloned()
                .ok_or_else(|| {
                    ApiFail::bad_request(format!(
                        "message to {} not found",
                        if method == "forwardMessage" {
                            "forward"
                        } else {
                            "copy"
                        }
                    ))
                })?;
            let message_id = st.next_message_id;
            let chat = open_chat(&mut st.chats, chat_id)?;
            let mut message = Message {
                message_id: MessageId(message_id),
                chat: chat.chat.clone(),
                from: Some(me.clone()),
                date: Some(now),
                text: source.text.clone(),
                caption: source.caption.clone(),
                extra: source.extra.clone(),
                ..Message::default()
            };
            message.extra.remove("edit_date");
            if method == "forwardMessage" {
                if let Some(original) = &source.from {
                    message
                        .extra
                        .insert("forward_from".into(), to_value(original));
                }
                message
                    .extra
                    .insert("forward_date".into(), json!(source.date.unwrap_or(now)));
            } else if caption.is_some() && message.text.is_none() {
                message.caption = caption;
            }
            chat.messages.insert(message_id, message.clone());
            st.next_message_id += 1;
            st.sent.push(SentMessage {
                chat_id: ChatId(chat_id),
                message_id: MessageId(message_id),
                text: message.text_or_caption().map(str::to_owned),
                reply_markup: None,
                method: method.to_owned(),
            });
            if method == "forwardMessage" {
                Ok(to_value(&message))
            } else {
                Ok(json!({ "message_id": message_id }))
            }
        }
        "sendPhoto" | "sendDocument" | "sendVideo" => {
            let field = match method {
                "sendPhoto" => "photo",
                "sendDocument" => "document",
                _ => "video",
            };
            let chat_id = p.req_int("chat_id")?;
            let media = p.media(field)?;
            let caption = p.str("caption")?;
            let (raw_markup, reply_markup) = markup(p)?;
            let message_id = st.next_message_id;
            let chat = open_chat(&mut st.chats, chat_id)?;
            let mut message = Message {
                message_id: MessageId(message_id),
                chat: chat.chat.clone(),
                from: Some(me.clone()),
                date: Some(now),
                caption: caption.clone(),
                reply_markup,
                ..Message::default()
            };
            message.extra.insert(field.into(), media);
            chat.messages.insert(message_id, message.clone());
            st.next_message_id += 1;
            st.sent.push(SentMessage {
                chat_id: ChatId(chat_id),
                message_id: MessageId(message_id),
                text: caption,
                reply_markup: raw_markup,
                method: method.to_owned(),
            });
            Ok(to_value(&message))
        }
        "pinChatMessage" => {
            let chat_id = p.req_int("chat_id")?;
            let message_id = p.req_int("message_id")?;
            let chat = open_chat(&mut st.chats, chat_id)?;
            if !chat.messages.contains_key(&message_id) {
                return Err(ApiFail::bad_request("message to pin not found"));
            }
            chat.pinned.retain(|&id| id != message_id);
            chat.pinned.push(message_id);
            Ok(Value::Bool(true))
        }
        "unpinChatMessage" => {
            let chat_id = p.req_int("chat_id")?;
            let message_id = p.int("message_id")?;
            let chat = open_chat(&mut st.chats, chat_id)?;
            match message_id {
                Some(id) => {
                    if !chat.pinned.contains(&id) {
                        return Err(ApiFail::bad_request("message to unpin not found"));
                    }
                    chat.pinned.retain(|&m| m != id);
                }
                None => {
                    chat.pinned.pop();
                }
            }
            Ok(Value::Bool(true))
        }
        "getChat" => {
            let chat_id = p.req_int("chat_id")?;
            let chat = open_chat(&mut st.chats, chat_id)?;
            let mut v = to_value(&chat.chat);
            if let Some(m) = chat.pinned.last().and_then(|id| chat.messages.get(id)) {
                v["pinned_message"] = to_value(m);
            }
            if chat.has_photo {
                v["photo"] = json!({ "set": true });
            }
            Ok(v)
        }
        "getChatMember" => {
            let chat_id = p.req_int("chat_id")?;
            let user_id = p.req_int("user_id")?;
            let chat = open_chat(&mut st.chats, chat_id)?;
            if user_id == me.id.get() {
                let status = if is_group_like(&chat.chat.kind) {
                    ChatMemberStatus::Administrator
                } else {
                    ChatMemberStatus::Member
                };
                return Ok(member_json(me, &status, None));
            }
            let member = chat
                .members
                .get_mut(&user_id)
                .ok_or_else(|| ApiFail::bad_request("user not found"))?;
            if member.status == ChatMemberStatus::Restricted
                && member.until_date.is_some_and(|u| u > 0 && u <= now)
            {
                member.status = ChatMemberStatus::Member;
                member.until_date = None;
            }
            Ok(member_json(&member.user, &member.status, member.until_date))
        }
        "getChatAdministrators" => {
            let chat_id = p.req_int("chat_id")?;
            let chat = open_chat(&mut st.chats, chat_id)?;
            if !is_group_like(&chat.chat.kind) {
                return Err(ApiFail::bad_request(
                    "there are no administrators in the private chat",
                ));
            }
            let mut admins = vec![member_json(me, &ChatMemberStatus::Administrator, None)];
            admins.extend(
                chat.members
                    .values()
                    .filter(|m| {
                        matches!(
                            m.status,
                            ChatMemberStatus::Creator | ChatMemberStatus::Administrator
                        )
                    })
                    .map(|m| member_json(&m.user, &m.status, None)),
            );
            Ok(Value::Array(admins))
        }
        "getChatMemberCount" => {
            let chat_id = p.req_int("chat_id")?;
            let chat = open_chat(&mut st.chats, chat_id)?;
            if !is_group_like(&chat.chat.kind) {
                return Ok(json!(2));
            }
            let present = chat
                .members
                .values()
                .filter(|m| !matches!(m.status, ChatMemberStatus::Left | ChatMemberStatus::Kicked))
                .count();
            Ok(json!(present + 1))
        }
        "setMyCommands" => {
            let commands: Vec<BotCommand> = p
                .json("commands")?
                .ok_or_else(|| ApiFail::bad_request("parameter \"commands\" is required"))?;
            if commands.len() > 100 {
                return Err(ApiFail::bad_request(
                    "parameter \"commands\" has more than 100 entries",
                ));
            }
            st.commands = commands.iter().map(to_value).collect();
            Ok(Value::Bool(true))
        }
        "getMyCommands" => Ok(Value::Array(st.commands.clone())),
        "deleteMyCommands" => {
            st.commands.clear();
            Ok(Value::Bool(true))
        }
        "banChatMember" => {
            let chat_id = p.req_int("chat_id")?;
            let user_id = p.req_int("user_id")?;
            let until = p.int("until_date")?.filter(|&u| u > 0);
            let chat = open_chat(&mut st.chats, chat_id)?;
            if !is_group_like(&chat.chat.kind) {
                return Err(ApiFail::bad_request(
                    "can't restrict members of a private chat",
                ));
            }
            // MPChat mutes instead of removing: the member stays, restricted.
            let member = chat
                .members
                .entry(user_id)
                .or_insert_with(|| crate::state::MemberState {
                    user: mpbot_api::User::new(user_id),
                    status: ChatMemberStatus::Member,
                    until_date: None,
                });
            member.status = ChatMemberStatus::Restricted;
            member.until_date = until;
            Ok(Value::Bool(true))
        }
        "unbanChatMember" => {
            let chat_id = p.req_int("chat_id")?;
            let user_id = p.req_int("user_id")?;
            let chat = open_chat(&mut st.chats, chat_id)?;
            if let Some(member) = chat.members.get_mut(&user_id)
                && member.status == ChatMemberStatus::Restricted
            {
                member.status = ChatMemberStatus::Member;
                member.until_date = None;
            }
            Ok(Value::Bool(true))
        }
        "deleteMessage" => {
            let chat_id = p.req_int("chat_id")?;
            let message_id = p.req_int("message_id")?;
            let chat = open_chat(&mut st.chats, chat_id)?;
            if chat.messages.remove(&message_id).is_none() {
                return Err(ApiFail::bad_request("message to delete not found"));
            }
            chat.pinned.retain(|&id| id != message_id);
            Ok(Value::Bool(true))
        }
        "deleteMessages" => {
            let chat_id = p.req_int("chat_id")?;
            let ids: Vec<i64> = p
                .json("message_ids")?
                .ok_or_else(|| ApiFail::bad_request("parameter \"message_ids\" is required"))?;
            let chat = open_chat(&mut st.chats, chat_id)?;
            for id in ids {
                chat.messages.remove(&id);
                chat.pinned.retain(|&m| m != id);
            }
            Ok(Value::Bool(true))
        }
        "setChatPhoto" => {
            let chat_id = p.req_int("chat_id")?;
            p.media("photo")?;
            let chat = open_chat(&mut st.chats, chat_id)?;
            chat.has_photo = true;
            Ok(Value::Bool(true))
        }
        "leaveChat" => {
            let chat_id = p.req_int("chat_id")?;
            let chat = open_chat(&mut st.chats, chat_id)?;
            chat.bot_present = false;
            Ok(Value::Bool(true))
        }
        _ => Err(ApiFail::new(404, "Not Found: method not found")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_charset_and_length() {
        assert!(valid_secret("abc_DEF-123"));
        assert!(valid_secret(&"a".repeat(256)));
        assert!(!valid_secret(""));
        assert!(!valid_secret(&"a".repeat(257)));
        assert!(!valid_secret("has space"));
        assert!(!valid_secret("semi;colon"));
    }
}
