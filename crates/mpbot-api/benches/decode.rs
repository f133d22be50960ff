//! Cost of decoding one getUpdates response body of 100 text-message updates (the emulator's
//! shape: `message_id`, `from`, `chat`, `date`, `text`), each case in the same run:
//! - `value_floor`: `serde_json::from_slice::<Value>`, a floor no typed decode beats by much;
//! - `old_two_pass_flatten`: the client before this change: envelope into `Envelope<Value>`,
//!   then `from_value` into `Vec<Update>` with the old derived `#[serde(flatten)] extra` types
//!   (copied below as `old`);
//! - `two_pass_new_types`: the same two passes with today's types;
//! - `one_pass_flatten`: straight into `Envelope<Vec<old::Update>>` (typed envelope alone);
//! - `one_pass_new`: straight into `Envelope<Vec<Update>>`, what the client does today.
//!
//! The same five run on a body whose every object also carries unknown fields (`extras`), the
//! path that fills `extra`.
//!
//! Run with `cargo bench -p mpbot-api --bench decode`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mpbot_api::{Envelope, Update};
use serde_json::{Value, json};

/// The wire types as they were before the generated `Deserialize` impls: derived, with
/// `#[serde(flatten)] extra`, same fields (but `reply_markup` and `callback_query`, which the body
/// never has).
#[allow(
    dead_code,
    reason = "the fields are decoded to measure decoding, not read"
)]
mod old {
    use mpbot_api::types::{ChatType, Extra};
    use mpbot_api::{ChatId, MessageId, UpdateId, UserId};
    use serde::Deserialize;

    #[derive(Deserialize)]
    pub(crate) struct Update {
        pub(crate) update_id: UpdateId,
        #[serde(default)]
        pub(crate) message: Option<Message>,
        #[serde(default)]
        pub(crate) edited_message: Option<Message>,
        #[serde(default)]
        pub(crate) channel_post: Option<Message>,
        #[serde(default)]
        pub(crate) edited_channel_post: Option<Message>,
        #[serde(flatten)]
        pub(crate) extra: Extra,
    }

    #[derive(Deserialize)]
    pub(crate) struct Message {
        pub(crate) message_id: MessageId,
        pub(crate) chat: Chat,
        #[serde(default)]
        pub(crate) from: Option<User>,
        #[serde(default)]
        pub(crate) date: Option<i64>,
        #[serde(default)]
        pub(crate) text: Option<String>,
        #[serde(default)]
        pub(crate) caption: Option<String>,
        #[serde(default)]
        pub(crate) new_chat_members: Option<Vec<User>>,
        #[serde(default)]
        pub(crate) left_chat_member: Option<User>,
        #[serde(default)]
        pub(crate) pinned_message: Option<Box<Message>>,
        #[serde(default)]
        pub(crate) reply_to_message: Option<Box<Message>>,
        #[serde(flatten)]
        pub(crate) extra: Extra,
    }

    #[derive(Deserialize)]
    pub(crate) struct Chat {
        pub(crate) id: ChatId,
        #[serde(rename = "type")]
        pub(crate) kind: ChatType,
        #[serde(default)]
        pub(crate) title: Option<String>,
        #[serde(default)]
        pub(crate) username: Option<String>,
        #[serde(default)]
        pub(crate) first_name: Option<String>,
        #[serde(default)]
        pub(crate) last_name: Option<String>,
        #[serde(flatten)]
        pub(crate) extra: Extra,
    }

    #[derive(Deserialize)]
    pub(crate) struct User {
        pub(crate) id: UserId,
        #[serde(default)]
        pub(crate) is_bot: Option<bool>,
        #[serde(default)]
        pub(crate) first_name: Option<String>,
        #[serde(default)]
        pub(crate) last_name: Option<String>,
        #[serde(default)]
        pub(crate) username: Option<String>,
        #[serde(default)]
        pub(crate) language_code: Option<String>,
        #[serde(flatten)]
        pub(crate) extra: Extra,
    }
}

/// A getUpdates body of 100 text messages in 100 chats; with `extras`, every object also has
/// two fields no type models.
fn body(extras: bool) -> Vec<u8> {
    let updates: Vec<Value> = (0..100_i64)
        .map(|i| {
            let mut from = json!({"id": 1});
            let mut chat = json!({"id": 1 + i, "type": "private"});
            let mut message = json!({
                "message_id": 1 + i,
                "date": 1_700_000_000 + i,
                "text": "x",
            });
            let mut update = json!({"update_id": 10_000 + i});
            if extras {
                from["mp_level"] = json!(3);
                from["is_premium"] = json!(true);
                chat["mp_region"] = json!("hk");
                chat["mp_flags"] = json!([1, 2]);
                message["entities"] = json!([{"type": "bold", "offset": 0, "length": 1}]);
                message["mp_extension"] = json!({"a": null, "b": 1.5});
                update["mp_trace"] = json!("abc");
                update["mp_shard"] = json!(7);
            }
            message["from"] = from;
            message["chat"] = chat;
            update["message"] = message;
            update
        })
        .collect();
    serde_json::to_vec(&json!({"ok": true, "result": updates})).expect("serializes")
}

fn old_two_pass_flatten(body: &[u8]) -> usize {
    let envelope: Envelope<Value> = serde_json::from_slice(body).expect("envelope");
    let updates: Vec<old::Update> =
        serde_json::from_value(envelope.result.expect("result")).expect("updates");
    updates.len()
}

fn two_pass_new_types(body: &[u8]) -> usize {
    let envelope: Envelope<Value> = serde_json::from_slice(body).expect("envelope");
    let updates: Vec<Update> =
        serde_json::from_value(envelope.result.expect("result")).expect("updates");
    updates.len()
}

fn one_pass_flatten(body: &[u8]) -> usize {
    let envelope: Envelope<Vec<old::Update>> = serde_json::from_slice(body).expect("envelope");
    envelope.result.expect("result").len()
}

fn one_pass_new(body: &[u8]) -> usize {
    let envelope: Envelope<Vec<Update>> = serde_json::from_slice(body).expect("envelope");
    envelope.result.expect("result").len()
}

fn value_floor(body: &[u8]) -> usize {
    let value: Value = serde_json::from_slice(body).expect("json");
    value["result"].as_array().map_or(0, Vec::len)
}

/// One way of decoding a body, returning the number of updates.
type Decode = fn(&[u8]) -> usize;

fn decode(c: &mut Criterion) {
    for (name, extras) in [("plain", false), ("extras", true)] {
        let body = body(extras);
        // NB: both type sets must see the same data, or the comparison means nothing.
        let old: Envelope<Vec<old::Update>> = serde_json::from_slice(&body).expect("old");
        let new: Envelope<Vec<Update>> = serde_json::from_slice(&body).expect("new");
        for (o, n) in old.result.iter().flatten().zip(new.result.iter().flatten()) {
            let (om, nm) = (
                o.message.as_ref().expect("old"),
                n.message.as_ref().expect("new"),
            );
            assert_eq!(o.update_id, n.update_id);
            assert_eq!(o.extra, n.extra);
            assert_eq!(om.extra, nm.extra);
            assert_eq!(om.chat.extra, nm.chat.extra);
            assert_eq!(om.text, nm.text);
        }
        let mut group = c.benchmark_group(format!("decode_100_updates/{name}"));
        group.throughput(Throughput::Elements(100));
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(3));
        let cases: [(&str, Decode); 5] = [
            ("value_floor", value_floor),
            ("old_two_pass_flatten", old_two_pass_flatten),
            ("two_pass_new_types", two_pass_new_types),
            ("one_pass_flatten", one_pass_flatten),
            ("one_pass_new", one_pass_new),
        ];
        for (case, decode) in cases {
            group.bench_function(case, |b| {
                b.iter(|| assert_eq!(decode(black_box(&body)), 100));
            });
        }
        group.finish();
    }
}

criterion_group!(benches, decode);
criterion_main!(benches);
