//! The emulator's state: one [`BotEntry`] per token, each with its own [`BotState`] behind a
//! `std::sync::Mutex` that is never held across an `.await`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use mpbot_api::types::{ChatMemberStatus, Message};
use mpbot_api::{Chat, ChatType, User};
use serde_json::{Map, Value};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::handle::{DeliveryAttempt, Fault, SentMessage};

/// Pending updates older than this (on the emulator clock) are dropped, as MPChat does.
pub(crate) const RETENTION_SECS: i64 = 24 * 60 * 60;

/// The emulator's one clock: system time plus an offset that `clock/advance` moves.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    offset_secs: AtomicI64,
}

impl Clock {
    /// Unix seconds on the emulator clock.
    pub(crate) fn now(&self) -> i64 {
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs();
        i64::try_from(system).unwrap_or(i64::MAX) + self.offset_secs.load(Ordering::Relaxed)
    }

    /// Moves the clock forward by `secs`.
    pub(crate) fn advance(&self, secs: i64) {
        self.offset_secs.fetch_add(secs, Ordering::Relaxed);
    }
}

/// What waiters (long polls, `wait_for_*`) watch: counts that only grow, plus the pending count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    /// Updates ever queued.
    pub(crate) pushed: u64,
    /// Entries in the sent log.
    pub(crate) sent: usize,
    /// Entries in the deliveries log.
    pub(crate) deliveries: usize,
    /// Updates waiting (for getUpdates or the webhook).
    pub(crate) pending: usize,
    /// getUpdates calls currently waiting in a long poll.
    pub(crate) polls_waiting: usize,
}

/// One bot: its identity, its state and the signals around it.
#[derive(Debug)]
pub(crate) struct BotEntry {
    pub(crate) token: String,
    pub(crate) me: User,
    pub(crate) state: Mutex<BotState>,
    /// Published after every state change; long polls and `wait_for_*` wait on it.
    pub(crate) events: watch::Sender<Counters>,
    /// Bumped by every getUpdates and every webhook change: a long poll whose generation is no
    /// longer current ends with 409.
    pub(crate) poll_gen: watch::Sender<u64>,
    /// Wakes the webhook scheduler (a new update, a finished delivery). `notify_one` keeps a
    /// permit, so a wake-up between the scheduler's check and its wait is not lost.
    pub(crate) wake: Notify,
}

impl BotEntry {
    pub(crate) fn new(token: &str, username: &str) -> Self {
        let me = User {
            id: bot_id_for(token).into(),
            is_bot: Some(true),
            first_name: Some(username.to_owned()),
            username: Some(username.to_owned()),
            ..User::default()
        };
        Self {
            token: token.to_owned(),
            me,
            state: Mutex::new(BotState::default()),
            events: watch::Sender::new(Counters::default()),
            poll_gen: watch::Sender::new(0),
            wake: Notify::new(),
        }
    }

    /// Runs `f` on the state under the lock, then publishes the counters if they changed and
    /// wakes the webhook scheduler if an update was queued. Never call it from inside `f`.
    pub(crate) fn with_state<R>(&self, f: impl FnOnce(&mut BotState) -> R) -> R {
        let (result, counters) = {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let result = f(&mut st);
            (result, st.counters())
        };
        let mut queued = false;
        self.events.send_if_modified(|c| {
            if *c == counters {
                return false;
            }
            queued = counters.pushed != c.pushed;
            *c = counters;
            true
        });
        if queued {
            self.wake.notify_one();
        }
        result
    }
}

/// A bot's id: the numeric part of its token before `:`, or a stable id derived from the token.
pub(crate) fn bot_id_for(token: &str) -> i64 {
    if let Some((id, _)) = token.split_once(':')
        && let Ok(id) = id.parse::<i64>()
    {
        return id;
    }
    // FNV-1a: stable across runs and platforms, unlike std's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in token.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    // Keep it positive and JavaScript-safe.
    i64::try_from(hash % (1 << 52)).unwrap_or(1) + 1
}

/// An update waiting for getUpdates or the webhook, serialized once when queued.
#[derive(Debug, Clone)]
pub(crate) struct StoredUpdate {
    pub(crate) id: i64,
    pub(crate) json: Bytes,
    /// The payload field's name (`message`, ...), matched against `allowed_updates`.
    pub(crate) kind: String,
    /// The chat it belongs to, for per-chat delivery order.
    pub(crate) chat: Option<i64>,
    pub(crate) created_at: i64,
}

/// A saved webhook.
#[derive(Debug, Clone)]
pub(crate) struct WebhookConfig {
    pub(crate) url: String,
    pub(crate) secret: Option<String>,
    pub(crate) max_connections: u32,
    pub(crate) allowed_updates: Option<Vec<String>>,
}

/// A member of a chat as the emulator knows them.
#[derive(Debug, Clone)]
pub(crate) struct MemberState {
    pub(crate) user: User,
    pub(crate) status: ChatMemberStatus,
    pub(crate) until_date: Option<i64>,
}

/// A chat the bot has a conversation in.
#[derive(Debug, Clone)]
pub(crate) struct ChatState {
    pub(crate) chat: Chat,
    /// False after `leaveChat`; a user writing again re-opens the conversation.
    pub(crate) bot_present: bool,
    pub(crate) members: BTreeMap<i64, MemberState>,
    pub(crate) messages: BTreeMap<i64, Message>,
    /// Pinned message ids, most recent last.
    pub(crate) pinned: Vec<i64>,
    pub(crate) has_photo: bool,
}

/// A per-token token bucket: `limit` requests a second, bursts up to `limit`.
#[derive(Debug, Default)]
pub(crate) struct RateBucket {
    tokens: f64,
    last: Option<tokio::time::Instant>,
}

impl RateBucket {
    /// Takes one request's token, or answers how many whole seconds (≥ 1) to wait.
    pub(crate) fn take(&mut self, limit: u32, now: tokio::time::Instant) -> Result<(), u64> {
        let limit = f64::from(limit.max(1));
        let elapsed = self.last.map_or(limit, |last| {
            now.saturating_duration_since(last).as_secs_f64() * limit
        });
        self.tokens = (self.tokens + elapsed).min(limit);
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(retry_after_secs((1.0 - self.tokens) / limit))
        }
    }
}

/// Whole seconds, at least 1, covering `secs`.
pub(crate) fn retry_after_secs(secs: f64) -> u64 {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "clamped to a small positive range first"
    )]
    let whole = secs.clamp(0.0, 3600.0).ceil() as u64;
    whole.max(1)
}

/// Everything one bot has: its update queue, webhook, chats and logs.
#[derive(Debug)]
pub(crate) struct BotState {
    pub(crate) next_update_id: i64,
    pub(crate) pending: BTreeMap<i64, StoredUpdate>,
    /// A lower bound of the oldest `created_at` in `pending`, so retention is O(1) when nothing
    /// expired.
    oldest_created: i64,
    pub(crate) pushed: u64,
    /// getUpdates' `allowed_updates`, kept until changed.
    pub(crate) allowed_updates: Option<Vec<String>>,
    pub(crate) poll_gen: u64,
    pub(crate) polls_waiting: usize,
    pub(crate) webhook: Option<WebhookConfig>,
    pub(crate) webhook_epoch: u64,
    pub(crate) webhook_cancel: Option<CancellationToken>,
    pub(crate) last_error: Option<(i64, String)>,
    pub(crate) in_flight: HashSet<i64>,
    pub(crate) busy_chats: HashSet<i64>,
    pub(crate) chats: HashMap<i64, ChatState>,
    pub(crate) next_message_id: i64,
    pub(crate) sent: Vec<SentMessage>,
    pub(crate) deliveries: Vec<DeliveryAttempt>,
    pub(crate) faults: Vec<Fault>,
    pub(crate) commands: Vec<Value>,
    pub(crate) rate: RateBucket,
}

impl Default for BotState {
    fn default() -> Self {
        Self {
            next_update_id: 1,
            pending: BTreeMap::new(),
            oldest_created: i64::MAX,
            pushed: 0,
            allowed_updates: None,
            poll_gen: 0,
            polls_waiting: 0,
            webhook: None,
            webhook_epoch: 0,
            webhook_cancel: None,
            last_error: None,
            in_flight: HashSet::new(),
            busy_chats: HashSet::new(),
            chats: HashMap::new(),
            next_message_id: 1,
            sent: Vec::new(),
            deliveries: Vec::new(),
            faults: Vec::new(),
            commands: Vec::new(),
            rate: RateBucket::default(),
        }
    }
}

/// The name of an update's payload field: the first key other than `update_id`.
fn payload_kind(update: &Map<String, Value>) -> String {
    update
        .keys()
        .find(|k| k.as_str() != "update_id")
        .cloned()
        .unwrap_or_default()
}

/// The chat an update belongs to: `payload.chat.id` or `payload.message.chat.id`.
fn payload_chat(update: &Map<String, Value>) -> Option<i64> {
    update.iter().find_map(|(k, payload)| {
        if k == "update_id" {
            return None;
        }
        let chat = payload
            .get("chat")
            .or_else(|| payload.get("message")?.get("chat"))?;
        let id = chat.get("id")?;
        id.as_i64().or_else(|| id.as_str()?.trim().parse().ok())
    })
}

/// Whether an update of `kind` passes an `allowed_updates` list (none or empty: everything).
pub(crate) fn allowed(allowed: Option<&[String]>, kind: &str) -> bool {
    match allowed {
        None | Some([]) => true,
        Some(list) => list.iter().any(|k| k == kind),
    }
}

impl BotState {
    pub(crate) fn counters(&self) -> Counters {
        Counters {
            pushed: self.pushed,
            sent: self.sent.len(),
            deliveries: self.deliveries.len(),
            pending: self.pending.len(),
            polls_waiting: self.polls_waiting,
        }
    }

    /// Queues `{"update_id": .., kind: payload}` and returns its id.
    pub(crate) fn enqueue(&mut self, now: i64, kind: &str, payload: Value) -> i64 {
        let mut update = Map::new();
        update.insert("update_id".into(), Value::from(self.next_update_id));
        update.insert(kind.into(), payload);
        self.enqueue_object(now, update)
    }

    /// Queues a raw update, assigning `update_id` when it is missing.
    pub(crate) fn enqueue_raw(&mut self, now: i64, update: Value) -> Result<i64, Error> {
        let Value::Object(mut update) = update else {
            return Err(Error::InvalidUpdate(
                "an update must be a JSON object".into(),
            ));
        };
        match update.get("update_id") {
            None | Some(Value::Null) => {
                update.insert("update_id".into(), Value::from(self.next_update_id));
            }
            Some(id) => {
                let id = id
                    .as_i64()
                    .or_else(|| id.as_str()?.trim().parse().ok())
                    .ok_or_else(|| Error::InvalidUpdate("update_id must be an integer".into()))?;
                update.insert("update_id".into(), Value::from(id));
            }
        }
        Ok(self.enqueue_object(now, update))
    }

    fn enqueue_object(&mut self, now: i64, update: Map<String, Value>) -> i64 {
        let id = update
            .get("update_id")
            .and_then(Value::as_i64)
            .unwrap_or(self.next_update_id);
        self.next_update_id = self.next_update_id.max(id + 1);
        let stored = StoredUpdate {
            id,
            kind: payload_kind(&update),
            chat: payload_chat(&update),
            json: Bytes::from(serde_json::to_vec(&Value::Object(update)).unwrap_or_default()),
            created_at: now,
        };
        self.oldest_created = self.oldest_created.min(now);
        self.pending.insert(id, stored);
        self.pushed += 1;
        id
    }

    /// Drops pending updates older than the retention period.
    pub(crate) fn expire(&mut self, now: i64) {
        let cutoff = now - RETENTION_SECS;
        if self.oldest_created > cutoff {
            return;
        }
        self.pending.retain(|_, u| u.created_at > cutoff);
        self.oldest_created = self
            .pending
            .values()
            .map(|u| u.created_at)
            .min()
            .unwrap_or(i64::MAX);
    }

    /// Drops pending updates below `offset` (getUpdates' confirmation).
    pub(crate) fn drop_below(&mut self, offset: i64) {
        if self
            .pending
            .first_key_value()
            .is_some_and(|(&id, _)| id < offset)
        {
            self.pending = self.pending.split_off(&offset);
        }
    }

    /// Removes the updates `allowed_updates` filters out from the front of the queue, so the
    /// first pending update is one getUpdates would return.
    fn skip_disallowed(&mut self) {
        let allowed_list = self.allowed_updates.clone();
        while let Some((&id, u)) = self.pending.first_key_value() {
            if allowed(allowed_list.as_deref(), &u.kind) {
                break;
            }
            self.pending.remove(&id);
        }
    }

    /// Whether getUpdates has something to return.
    pub(crate) fn has_batch(&mut self) -> bool {
        self.skip_disallowed();
        !self.pending.is_empty()
    }

    /// Removes and returns up to `limit` updates for getUpdates (consumption).
    pub(crate) fn take_batch(&mut self, limit: usize) -> Vec<StoredUpdate> {
        let allowed_list = self.allowed_updates.clone();
        let mut batch = Vec::with_capacity(limit.min(self.pending.len()));
        while batch.len() < limit {
            let Some((_, u)) = self.pending.pop_first() else {
                break;
            };
            if allowed(allowed_list.as_deref(), &u.kind) {
                batch.push(u);
            }
        }
        batch
    }

    /// Takes one occurrence of a fault set for `method`.
    pub(crate) fn take_fault(&mut self, method: &str) -> Option<Fault> {
        let idx = self
            .faults
            .iter()
            .position(|f| f.method == method && f.times > 0)?;
        let fault = self.faults[idx].clone();
        self.faults[idx].times -= 1;
        if self.faults[idx].times == 0 {
            self.faults.remove(idx);
        }
        Some(fault)
    }

    /// The next message id of this bot (ids are unique per bot, across chats).
    pub(crate) fn new_message_id(&mut self) -> i64 {
        let id = self.next_message_id;
        self.next_message_id += 1;
        id
    }

    /// The chat `chat_id`, created (with the bot in it) when new. A user writing into a chat the
    /// bot left re-opens the conversation.
    pub(crate) fn ensure_chat(
        &mut self,
        chat_id: i64,
        kind: Option<ChatType>,
        user: Option<&User>,
        default_kind: ChatType,
    ) -> &mut ChatState {
        let chat = self.chats.entry(chat_id).or_insert_with(|| {
            let kind = kind.unwrap_or(default_kind);
            let mut chat = Chat::new(chat_id, kind.clone());
            if kind == ChatType::Private {
                if let Some(user) = user {
                    chat.first_name.clone_from(&user.first_name);
                    chat.username.clone_from(&user.username);
                }
            } else {
                chat.title = Some(format!("Chat {chat_id}"));
            }
            ChatState {
                chat,
                bot_present: true,
                members: BTreeMap::new(),
                messages: BTreeMap::new(),
                pinned: Vec::new(),
                has_photo: false,
            }
        });
        chat.bot_present = true;
        if let Some(user) = user {
            chat.add_member(user.clone());
        }
        chat
    }
}

impl ChatState {
    /// Records `user` as a member (again) unless they are restricted, which they stay.
    pub(crate) fn add_member(&mut self, user: User) {
        let id = user.id.get();
        match self.members.get_mut(&id) {
            Some(m) if m.status == ChatMemberStatus::Restricted => m.user = user,
            Some(m) => {
                m.user = user;
                m.status = ChatMemberStatus::Member;
            }
            None => {
                self.members.insert(
                    id,
                    MemberState {
                        user,
                        status: ChatMemberStatus::Member,
                        until_date: None,
                    },
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bot_id_is_the_numeric_prefix_or_a_stable_hash() {
        assert_eq!(bot_id_for("123456:TEST-TOKEN"), 123_456);
        let opaque = bot_id_for("opaque-token");
        assert_eq!(opaque, bot_id_for("opaque-token"));
        assert!(opaque > 0 && opaque < (1 << 53));
        assert_ne!(opaque, bot_id_for("other-token"));
    }

    #[test]
    fn retry_after_is_whole_seconds_at_least_one() {
        for (secs, want) in [(0.0, 1), (0.01, 1), (1.0, 1), (1.2, 2), (-3.0, 1)] {
            assert_eq!(retry_after_secs(secs), want, "{secs}");
        }
    }

    #[test]
    fn rate_bucket_allows_a_burst_then_answers_retry_after() {
        let mut bucket = RateBucket::default();
        let now = tokio::time::Instant::now();
        for _ in 0..3 {
            assert!(bucket.take(3, now).is_ok());
        }
        assert_eq!(bucket.take(3, now), Err(1));
        assert!(bucket.take(3, now + Duration::from_secs(1)).is_ok());
    }

    #[test]
    fn raw_updates_get_ids_kinds_and_chats() {
        let mut st = BotState::default();
        let id = st
            .enqueue_raw(
                0,
                serde_json::json!({"callback_query": {"id": "q", "message": {"chat": {"id": "-5"}}}}),
            )
            .unwrap();
        assert_eq!(id, 1);
        let u = &st.pending[&1];
        assert_eq!(u.kind, "callback_query");
        assert_eq!(u.chat, Some(-5));
        let id = st
            .enqueue_raw(0, serde_json::json!({"update_id": 40, "message": {}}))
            .unwrap();
        assert_eq!(id, 40);
        assert_eq!(st.next_update_id, 41);
        assert!(st.enqueue_raw(0, serde_json::json!([1])).is_err());
    }

    #[test]
    fn retention_drops_only_updates_older_than_a_day() {
        let mut st = BotState::default();
        st.enqueue(0, "message", Value::Null);
        st.enqueue(100, "message", Value::Null);
        st.expire(RETENTION_SECS);
        assert_eq!(st.pending.len(), 1);
        st.expire(RETENTION_SECS + 100);
        assert!(st.pending.is_empty());
    }
}
