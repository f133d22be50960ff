//! Webhook side: the reachability probe, and delivery (one scheduler task per bot, at most
//! `max_connections` requests in flight, per-chat order, retries with backoff).

use std::sync::Arc;
use std::time::Duration;

use http::header;
use mpbot_api::{SECRET_HEADER, UpdateId};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::handle::DeliveryAttempt;
use crate::server::Shared;
use crate::state::{BotEntry, BotState, StoredUpdate, WebhookConfig, allowed};

/// The delay before retry number `attempt` (1-based): `base`, doubling, capped at 32 × `base`.
pub(crate) fn retry_delay(base: Duration, attempt: u32) -> Duration {
    let exp = attempt.saturating_sub(1).min(5);
    base.saturating_mul(1 << exp)
}

/// Whether a rustls error is somewhere in `err`'s source chain.
fn is_tls_error(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if e.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
        {
            return true;
        }
        current = e.source();
    }
    false
}

/// The source chain of an error, joined with `: `, without the request URL.
fn chain_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut current = err.source();
    while let Some(e) = current {
        let text = e.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

/// A short reason for a failed webhook request: "TLS error: ...", "timeout: ...",
/// "connect error: ..." or "request failed: ...".
pub(crate) fn describe(err: reqwest::Error) -> String {
    let tls = is_tls_error(&err);
    let timeout = err.is_timeout();
    let connect = err.is_connect();
    let text = chain_text(&err.without_url());
    // The TLS error may sit behind a boxed error of another crate; its text still says so.
    let lower = text.to_ascii_lowercase();
    let tls = tls
        || ["certificate", "tls", "handshake"]
            .iter()
            .any(|w| lower.contains(w));
    if tls {
        format!("TLS error: {text}")
    } else if timeout {
        format!("timeout: {text}")
    } else if connect {
        format!("connect error: {text}")
    } else {
        format!("request failed: {text}")
    }
}

/// POSTs an empty body to `url` (with the secret header when a secret is given) and wants a 2xx.
pub(crate) async fn probe(shared: &Shared, url: &str, secret: Option<&str>) -> Result<(), String> {
    let mut req = shared
        .http
        .post(url)
        .header(header::CONTENT_LENGTH, "0")
        .body(Vec::<u8>::new());
    if let Some(secret) = secret {
        req = req.header(SECRET_HEADER, secret);
    }
    match req.send().await {
        Ok(resp) if resp.status().is_success() => Ok(()),
        Ok(resp) => Err(format!(
            "webhook probe failed: HTTP status {}",
            resp.status().as_u16()
        )),
        Err(err) => Err(format!("webhook probe failed: {}", describe(err))),
    }
}

/// Ends the current webhook (if any): its delivery tasks stop; in-flight updates stay pending.
fn end_current(st: &mut BotState) {
    if let Some(cancel) = st.webhook_cancel.take() {
        cancel.cancel();
    }
    st.webhook_epoch += 1;
    st.in_flight.clear();
    st.busy_chats.clear();
}

/// deleteWebhook (or setWebhook with an empty url).
pub(crate) fn remove(bot: &BotEntry, drop_pending: bool) {
    bot.with_state(|st| {
        end_current(st);
        st.webhook = None;
        if drop_pending {
            st.pending.clear();
        }
    });
}

/// Saves a probed webhook and starts its delivery task.
pub(crate) fn install(
    shared: &Arc<Shared>,
    bot: &Arc<BotEntry>,
    cfg: WebhookConfig,
    drop_pending: bool,
) {
    let cancel = shared.cancel.child_token();
    let cfg = Arc::new(cfg);
    let epoch = bot.with_state(|st| {
        end_current(st);
        st.webhook = Some((*cfg).clone());
        st.webhook_cancel = Some(cancel.clone());
        st.last_error = None;
        if drop_pending {
            st.pending.clear();
        }
        // A waiting long poll ends with 409 now that a webhook is set.
        st.poll_gen += 1;
        bot.poll_gen.send_replace(st.poll_gen);
        st.webhook_epoch
    });
    tracing::info!(bot_id = %bot.me.id, max_connections = cfg.max_connections, "webhook set");
    shared
        .tasks
        .spawn(schedule(shared.clone(), bot.clone(), cfg, epoch, cancel));
}

/// The next update to deliver: the first pending one that is not in flight and whose chat has
/// nothing in flight. Updates the webhook's `allowed_updates` excludes are dropped.
fn pick_next(
    st: &mut BotState,
    epoch: u64,
    now: i64,
    allowed_updates: Option<&[String]>,
) -> Option<StoredUpdate> {
    if st.webhook_epoch != epoch {
        return None;
    }
    st.expire(now);
    let mut excluded = Vec::new();
    let mut picked = None;
    for (id, u) in &st.pending {
        if st.in_flight.contains(id) {
            continue;
        }
        if !allowed(allowed_updates, &u.kind) {
            excluded.push(*id);
            continue;
        }
        if u.chat.is_some_and(|c| st.busy_chats.contains(&c)) {
            continue;
        }
        picked = Some(u.clone());
        break;
    }
    for id in excluded {
        st.pending.remove(&id);
    }
    let picked = picked?;
    st.in_flight.insert(picked.id);
    if let Some(chat) = picked.chat {
        st.busy_chats.insert(chat);
    }
    Some(picked)
}

/// One bot's scheduler: takes a connection slot, then the next deliverable update, and hands
/// both to a delivery task.
async fn schedule(
    shared: Arc<Shared>,
    bot: Arc<BotEntry>,
    cfg: Arc<WebhookConfig>,
    epoch: u64,
    cancel: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(cfg.max_connections as usize));
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
            () = cancel.cancelled() => return,
        };
        let update = loop {
            // Registered before the check: a wake-up in between is kept as a permit.
            let woken = bot.wake.notified();
            let now = shared.clock.now();
            let allowed_updates = cfg.allowed_updates.as_deref();
            if let Some(update) = bot.with_state(|st| pick_next(st, epoch, now, allowed_updates)) {
                break update;
            }
            tokio::select! {
                () = woken => {}
                () = cancel.cancelled() => return,
            }
        };
        shared.tasks.spawn(deliver(
            shared.clone(),
            bot.clone(),
            cfg.clone(),
            epoch,
            cancel.clone(),
            update,
            permit,
        ));
    }
}

async fn post(
    shared: &Shared,
    cfg: &WebhookConfig,
    update: &StoredUpdate,
) -> Result<u16, reqwest::Error> {
    let mut req = shared
        .http
        .post(&cfg.url)
        .header(header::CONTENT_TYPE, "application/json")
        .body(update.json.clone());
    if let Some(secret) = &cfg.secret {
        req = req.header(SECRET_HEADER, secret);
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    // Read the body so the connection can be reused; its content does not matter.
    let _ = resp.bytes().await;
    Ok(status)
}

/// Delivers one update until a 2xx, retrying with backoff. Holds its connection slot (and its
/// chat) for the whole time, so a chat's next update waits for this one's 2xx.
async fn deliver(
    shared: Arc<Shared>,
    bot: Arc<BotEntry>,
    cfg: Arc<WebhookConfig>,
    epoch: u64,
    cancel: CancellationToken,
    update: StoredUpdate,
    permit: OwnedSemaphorePermit,
) {
    let _permit = permit;
    let mut attempt: u32 = 0;
    loop {
        let started = tokio::time::Instant::now();
        let result = tokio::select! {
            result = post(&shared, &cfg, &update) => result,
            () = cancel.cancelled() => return,
        };
        let duration = started.elapsed();
        let (status, error) = match result {
            Ok(status) => (Some(status), None),
            Err(err) => (None, Some(describe(err))),
        };
        let success = status.is_some_and(|s| (200..300).contains(&s));
        if !success {
            tracing::debug!(
                update_id = update.id,
                ?status,
                error = error.as_deref(),
                "webhook delivery failed"
            );
        }
        let now = shared.clock.now();
        let retry = bot.with_state(|st| {
            if st.webhook_epoch != epoch {
                return false;
            }
            st.deliveries.push(DeliveryAttempt {
                update_id: UpdateId(update.id),
                status,
                error: error.clone(),
                duration,
            });
            let still_pending = st.pending.contains_key(&update.id);
            if success || !still_pending {
                st.pending.remove(&update.id);
                st.in_flight.remove(&update.id);
                if let Some(chat) = update.chat {
                    st.busy_chats.remove(&chat);
                }
                return false;
            }
            let message = match (status, &error) {
                (Some(code), _) => format!(
                    "Wrong response from the webhook: {code} {}",
                    http::StatusCode::from_u16(code)
                        .ok()
                        .and_then(|s| s.canonical_reason())
                        .unwrap_or("")
                )
                .trim_end()
                .to_owned(),
                (None, Some(error)) => error.clone(),
                (None, None) => "unknown error".to_owned(),
            };
            st.last_error = Some((now, message));
            true
        });
        if !retry {
            bot.wake.notify_one();
            return;
        }
        attempt += 1;
        tokio::select! {
            () = tokio::time::sleep(retry_delay(shared.config.retry_backoff, attempt)) => {}
            () = cancel.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_and_caps() {
        let base = Duration::from_millis(10);
        let table = [
            (1, 10),
            (2, 20),
            (3, 40),
            (4, 80),
            (6, 320),
            (7, 320),
            (100, 320),
        ];
        for (attempt, ms) in table {
            assert_eq!(
                retry_delay(base, attempt),
                Duration::from_millis(ms),
                "{attempt}"
            );
        }
    }
}
