//! What an update is about: [`UpdateKind`] and its classification.

use std::fmt;

use mpbot_api::{Message, Update};

/// The kind of an update, which decides the handlers that see it.
///
/// Group events arrive as fields of a `message` (protocol notes §5.2), so a `message` update is
/// a [`Join`](UpdateKind::Join), [`Leave`](UpdateKind::Leave), [`Pin`](UpdateKind::Pin) or plain
/// [`Message`](UpdateKind::Message); every other update field is [`Other`](UpdateKind::Other)
/// with the field's name. Unknown fields are kept as `Other`, never an error.
///
/// The classification is one table in this module: adding a kind means adding a variant and a
/// row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UpdateKind {
    /// A `message` that is not a group event.
    Message,
    /// A `message` with `new_chat_members`: members joined or were added.
    Join,
    /// A `message` with `left_chat_member`: a member left or was removed.
    Leave,
    /// A `message` with `pinned_message`.
    Pin,
    /// Any other update field (`edited_message`, `callback_query`, or one this version does not
    /// know), by its field name. An update with no payload field at all is `Other("")`.
    Other(String),
}

/// One row of the classification table: a kind carried by a message field of the update.
struct Row {
    /// The kind this row yields.
    kind: UpdateKind,
    /// The update field the message comes from (what `allowed_updates` names).
    field: &'static str,
    /// Whether the message is of this kind. Rows are tried in order; the first match wins.
    test: fn(&Message) -> bool,
}

/// The classification table. The last row for a field is its catch-all.
static TABLE: [Row; 4] = [
    Row {
        kind: UpdateKind::Join,
        field: "message",
        test: |m| m.new_chat_members.as_ref().is_some_and(|v| !v.is_empty()),
    },
    Row {
        kind: UpdateKind::Leave,
        field: "message",
        test: |m| m.left_chat_member.is_some(),
    },
    Row {
        kind: UpdateKind::Pin,
        field: "message",
        test: |m| m.pinned_message.is_some(),
    },
    Row {
        kind: UpdateKind::Message,
        field: "message",
        test: |_| true,
    },
];

impl UpdateKind {
    /// Classifies an update.
    pub fn of(update: &Update) -> UpdateKind {
        let Some(field) = update.payload_name() else {
            return UpdateKind::Other(String::new());
        };
        let message = match field {
            "message" => update.message.as_ref(),
            _ => None,
        };
        if let Some(message) = message {
            for row in &TABLE {
                if row.field == field && (row.test)(message) {
                    return row.kind.clone();
                }
            }
        }
        UpdateKind::Other(field.to_owned())
    }

    /// The update field this kind comes from: the name `allowed_updates` uses (`"message"` for
    /// the four message kinds, the field name for `Other`).
    pub fn field_name(&self) -> &str {
        match self {
            UpdateKind::Other(name) => name,
            kind => TABLE
                .iter()
                .find(|row| row.kind == *kind)
                .map_or("message", |row| row.field),
        }
    }

    /// A short name for logs: `message`, `join`, `leave`, `pin`, or the field name of `Other`.
    pub fn as_str(&self) -> &str {
        match self {
            UpdateKind::Message => "message",
            UpdateKind::Join => "join",
            UpdateKind::Leave => "leave",
            UpdateKind::Pin => "pin",
            UpdateKind::Other(name) => name,
        }
    }
}

impl fmt::Display for UpdateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(json: &str) -> Update {
        serde_json::from_str(json).unwrap()
    }

    /// Pins the classification table: each update shape maps to one kind and one field name.
    #[test]
    fn classification_table() {
        let chat = r#""chat":{"id":1,"type":"group"}"#;
        let cases: Vec<(String, UpdateKind, &str)> = vec![
            (
                format!(r#"{{"update_id":1,"message":{{"message_id":1,{chat},"text":"hi"}}}}"#),
                UpdateKind::Message,
                "message",
            ),
            (
                format!(
                    r#"{{"update_id":1,"message":{{"message_id":1,{chat},"new_chat_members":[{{"id":5}}]}}}}"#
                ),
                UpdateKind::Join,
                "message",
            ),
            (
                // An empty member list is not a join.
                format!(
                    r#"{{"update_id":1,"message":{{"message_id":1,{chat},"new_chat_members":[]}}}}"#
                ),
                UpdateKind::Message,
                "message",
            ),
            (
                format!(
                    r#"{{"update_id":1,"message":{{"message_id":1,{chat},"left_chat_member":{{"id":5}}}}}}"#
                ),
                UpdateKind::Leave,
                "message",
            ),
            (
                format!(
                    r#"{{"update_id":1,"message":{{"message_id":2,{chat},"pinned_message":{{"message_id":1,{chat}}}}}}}"#
                ),
                UpdateKind::Pin,
                "message",
            ),
            (
                format!(r#"{{"update_id":1,"edited_message":{{"message_id":1,{chat}}}}}"#),
                UpdateKind::Other("edited_message".into()),
                "edited_message",
            ),
            (
                r#"{"update_id":1,"callback_query":{"id":"q"}}"#.to_owned(),
                UpdateKind::Other("callback_query".into()),
                "callback_query",
            ),
            (
                r#"{"update_id":1,"poll_answer":{"poll_id":"p"}}"#.to_owned(),
                UpdateKind::Other("poll_answer".into()),
                "poll_answer",
            ),
            (
                r#"{"update_id":1}"#.to_owned(),
                UpdateKind::Other(String::new()),
                "",
            ),
        ];
        for (json, kind, field) in cases {
            let got = UpdateKind::of(&update(&json));
            assert_eq!(got, kind, "{json}");
            assert_eq!(got.field_name(), field, "{json}");
        }
    }

    /// Pins the log names and that every typed kind comes from `message`.
    #[test]
    fn names_of_typed_kinds() {
        let kinds = [
            (UpdateKind::Message, "message"),
            (UpdateKind::Join, "join"),
            (UpdateKind::Leave, "leave"),
            (UpdateKind::Pin, "pin"),
        ];
        for (kind, name) in kinds {
            assert_eq!(kind.to_string(), name);
            assert_eq!(kind.field_name(), "message");
        }
    }
}
