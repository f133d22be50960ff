//! The wire types against sample JSON in `tests/data/`: every group event, string ids, a
//! message without `from`, unknown update kinds and fields, ids beyond 32 bits; each one
//! decodes and survives a serialize round trip.

use mpbot_api::types::{ChatType, WebhookInfo};
use mpbot_api::{ChatId, Envelope, MessageId, Update, UpdateId, User, UserId};
use serde_json::{Value, json};

fn sample(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Decodes a sample update, checks it re-encodes to exactly the same JSON, and that the
/// re-encoded JSON decodes to the same value.
fn round_trip(name: &str) -> Update {
    let original = sample(name);
    let update: Update = serde_json::from_value(original.clone()).unwrap();
    let encoded = serde_json::to_value(&update).unwrap();
    assert_eq!(encoded, original, "{name} did not survive the round trip");
    let again: Update = serde_json::from_value(encoded).unwrap();
    assert_eq!(again, update);
    update
}

/// A plain private text message.
#[test]
fn text_message_round_trips() {
    let update = round_trip("text_message.json");
    let message = update.message.as_ref().unwrap();
    assert_eq!(message.text.as_deref(), Some("/start promo"));
    assert_eq!(message.chat.kind, ChatType::Private);
    assert_eq!(update.payload_name(), Some("message"));
    assert_eq!(update.chat_id(), Some(ChatId(123_456_789)));
}

/// The join event: `new_chat_members` on a message, including a bot with a 33-bit id.
#[test]
fn new_chat_members_round_trips() {
    let update = round_trip("new_chat_members.json");
    let message = update.message.unwrap();
    let joined = message.new_chat_members.unwrap();
    assert_eq!(joined.len(), 2);
    assert_eq!(joined[1].id, UserId(7_000_000_001));
    assert_eq!(joined[1].is_bot, Some(true));
    assert!(message.text.is_none());
    assert_eq!(message.chat.kind, ChatType::Supergroup);
}

/// The leave event: `left_chat_member` on a message.
#[test]
fn left_chat_member_round_trips() {
    let update = round_trip("left_chat_member.json");
    let left = update.message.unwrap().left_chat_member.unwrap();
    assert_eq!(left.id, UserId(222));
    assert_eq!(left.display_name(), "Bo");
}

/// The pin event: `pinned_message` carries the whole pinned message.
#[test]
fn pinned_message_round_trips() {
    let update = round_trip("pinned_message.json");
    let pinned = update.message.unwrap().pinned_message.unwrap();
    assert_eq!(pinned.message_id, MessageId(19));
    assert_eq!(pinned.text.as_deref(), Some("Meeting at 10"));
}

/// Ids sent as decimal strings decode to the same numbers and are written back as numbers.
#[test]
fn string_ids_decode_and_encode_as_numbers() {
    let original = sample("string_ids.json");
    let update: Update = serde_json::from_value(original).unwrap();
    assert_eq!(update.update_id, UpdateId(10_005));
    let message = update.message.as_ref().unwrap();
    assert_eq!(message.message_id, MessageId(23));
    assert_eq!(message.chat.id, ChatId(-1_001_234_567_890));
    assert_eq!(message.from.as_ref().unwrap().id, UserId(123_456_789));
    let encoded = serde_json::to_value(&update).unwrap();
    assert_eq!(encoded["update_id"], json!(10_005));
    assert_eq!(encoded["message"]["message_id"], json!(23));
    assert_eq!(
        encoded["message"]["chat"]["id"],
        json!(-1_001_234_567_890_i64)
    );
    assert_eq!(encoded["message"]["from"]["id"], json!(123_456_789));
    let again: Update = serde_json::from_value(encoded).unwrap();
    assert_eq!(again, update);
}

/// MPChat's minimal example: a message with only `message_id`, `chat` and text, no `from`.
#[test]
fn message_without_from_round_trips() {
    let update = round_trip("missing_from.json");
    let message = update.message.unwrap();
    assert!(message.from.is_none() && message.date.is_none());
    assert_eq!(message.text_or_caption(), Some("hi"));
}

/// An update kind this version does not know is kept whole, still yields its chat id, and is
/// written back unchanged.
#[test]
fn unknown_update_kind_is_kept() {
    let update = round_trip("unknown_kind.json");
    assert!(update.message.is_none());
    assert_eq!(update.payload_name(), Some("message_reaction"));
    assert_eq!(
        update.extra["message_reaction"]["new_reaction"][0]["emoji"],
        "👍"
    );
    assert_eq!(update.chat_id(), Some(ChatId(-1_001_234_567_890)));
}

/// Ids beyond 32 bits, up to ±(2^53 − 1), round-trip exactly.
#[test]
fn ids_up_to_two_to_the_53_round_trip() {
    let update = round_trip("big_ids.json");
    assert_eq!(update.update_id, UpdateId(9_007_199_254_740_991));
    let message = update.message.unwrap();
    assert_eq!(message.message_id, MessageId(4_294_967_296));
    assert_eq!(message.chat.id, ChatId(-9_007_199_254_740_991));
    assert_eq!(message.from.unwrap().id, UserId(9_007_199_254_740_991));
    assert_eq!(
        message.reply_to_message.unwrap().message_id,
        MessageId(4_294_967_295)
    );
    assert_eq!(message.chat.kind, ChatType::Channel);
}

/// Unknown fields at every level (update, message, user, chat, button) and an unknown chat type
/// survive a round trip.
#[test]
fn unknown_fields_survive_a_round_trip() {
    let update = round_trip("unknown_fields.json");
    assert_eq!(
        update.extra["future_update_field"],
        json!({"nested": [1, 2, 3]})
    );
    let message = update.message.unwrap();
    assert_eq!(message.chat.kind, ChatType::Other("secret_chat".into()));
    assert_eq!(message.chat.extra["mp_region"], "hk");
    assert_eq!(message.from.unwrap().extra["mp_level"], 3);
    assert_eq!(message.extra["mp_extension"]["b"], 1.5);
    assert!(message.extra.contains_key("entities") && message.extra.contains_key("photo"));
    let button = &message.reply_markup.unwrap().inline_keyboard[0][0];
    assert_eq!(
        button.web_app.as_ref().unwrap().url,
        "https://app.example/entry"
    );
    assert_eq!(button.extra["mp_style"], "primary");
}

/// getMe as MPChat shows it (no `first_name`) decodes, and the envelope round-trips.
#[test]
fn minimal_get_me_decodes() {
    let original = sample("get_me_minimal.json");
    let envelope: Envelope<User> = serde_json::from_value(original.clone()).unwrap();
    let me = envelope.result.as_ref().unwrap();
    assert_eq!(me.id, UserId(7_000_000_001));
    assert_eq!(me.username.as_deref(), Some("mp_demo_bot"));
    assert!(me.first_name.is_none());
    assert_eq!(serde_json::to_value(&envelope).unwrap(), original);
}

/// A getUpdates batch mixing known and unknown kinds and a string id decodes whole.
#[test]
fn mixed_batch_decodes() {
    let envelope: Envelope<Vec<Update>> =
        serde_json::from_value(sample("get_updates_batch.json")).unwrap();
    let updates = envelope.result.unwrap();
    let kinds: Vec<_> = updates.iter().map(|u| u.payload_name().unwrap()).collect();
    assert_eq!(kinds, ["message", "message_reaction", "edited_message"]);
    assert_eq!(updates[1].update_id, UpdateId(2));
    assert_eq!(updates[2].any_message().unwrap().text.as_deref(), Some("b"));
}

/// getWebhookInfo decodes Telegram's fields and keeps MPChat's extra ones.
#[test]
fn webhook_info_round_trips() {
    let original = sample("webhook_info.json");
    let envelope: Envelope<WebhookInfo> = serde_json::from_value(original.clone()).unwrap();
    let info = envelope.result.as_ref().unwrap();
    assert!(info.is_set());
    assert_eq!(info.pending_update_count, Some(3));
    assert_eq!(info.extra["mp_probe_status"], "ok");
    assert_eq!(serde_json::to_value(&envelope).unwrap(), original);
}

/// An error envelope keeps its code, description and retry_after.
#[test]
fn error_envelope_round_trips() {
    let original = sample("error_rate_limited.json");
    let envelope: Envelope<Value> = serde_json::from_value(original.clone()).unwrap();
    assert!(!envelope.ok);
    assert_eq!(envelope.error_code, Some(429));
    assert_eq!(envelope.parameters.as_ref().unwrap().retry_after, Some(3));
    assert_eq!(serde_json::to_value(&envelope).unwrap(), original);
}

proptest::proptest! {
    /// Any id in the JavaScript-safe range reads from a number or a decimal string and is
    /// written back as the same number.
    #[test]
    fn any_safe_id_round_trips(id in -9_007_199_254_740_991_i64..=9_007_199_254_740_991) {
        let from_number: ChatId = serde_json::from_value(json!(id)).unwrap();
        let from_string: ChatId = serde_json::from_value(json!(id.to_string())).unwrap();
        proptest::prop_assert_eq!(from_number, ChatId(id));
        proptest::prop_assert_eq!(from_string, ChatId(id));
        proptest::prop_assert_eq!(serde_json::to_value(from_string).unwrap(), json!(id));
    }
}
