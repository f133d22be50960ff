//! The objects MPChat sends and receives.
//!
//! Deserialization is lenient on purpose (protocol notes §9): only the fields MPChat's own
//! examples always carry are required, everything else is an `Option`, and every object keeps the
//! fields it does not know in `extra`, so nothing MPChat adds later is lost or becomes an error,
//! and a value survives a serialize round trip unchanged.

mod chat;
mod keyboard;
mod member;
mod message;
mod update;
mod user;
mod webhook;

pub use chat::{Chat, ChatType};
pub use keyboard::{InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo};
pub use member::{BotCommand, ChatMember, ChatMemberStatus};
pub use message::{Message, MessageIdObject};
pub use update::{CallbackQuery, Update};
pub use user::User;
pub use webhook::WebhookInfo;

/// Unknown fields of an object, kept verbatim.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// Declares a string-valued enum with known values plus an `Other(String)` arm that keeps any
/// value MPChat may add, so a new value is never a decoding error.
macro_rules! open_string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $wire:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version does not know, kept as sent.
            Other(String),
        }

        impl $name {
            /// The value as it appears on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )+
                    Self::Other(s) => s,
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $( $wire => Self::$variant, )+
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Ok(Self::from(s.as_ref()))
            }
        }
    };
}
pub(crate) use open_string_enum;

/// Declares a wire object: a struct with required fields, optional fields (`Option`s, absent or
/// `null` meaning `None`) and an `extra` map that keeps every other field, plus its serde impls.
///
/// Serialization is derived (it is not a hot path: the emulator writes each update once). The
/// `Deserialize` impl is generated: one pass over the map, known keys matched to a field enum
/// without allocating, every other key and value pushed into `extra`. The derived alternative,
/// `#[serde(flatten)] extra`, makes serde buffer the whole object into its internal `Content`
/// tree first and costs several times more per update.
///
/// Behaviour matches the derived `#[serde(default)]` + `#[serde(flatten)]` impl it replaced: a
/// missing required field or a repeated known field is an error, an unknown field repeated keeps
/// the last value, and a known field is never copied into `extra`.
macro_rules! wire_object {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            required {
                $( $(#[$rmeta:meta])* $req:ident : $rty:ty = $rwire:literal ),* $(,)?
            }
            optional {
                $( $(#[$ometa:meta])* $opt:ident : $oty:ty = $owire:literal ),* $(,)?
            }
            $(#[$emeta:meta])*
            extra $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(serde::Serialize)]
        pub struct $name {
            $(
                $(#[$rmeta])*
                #[serde(rename = $rwire)]
                pub $req: $rty,
            )*
            $(
                $(#[$ometa])*
                #[serde(rename = $owire, skip_serializing_if = "Option::is_none")]
                pub $opt: Option<$oty>,
            )*
            $(#[$emeta])*
            #[serde(flatten)]
            pub extra: $crate::types::Extra,
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                /// A key of the object: one of the known fields, or any other name.
                #[allow(non_camel_case_types)]
                enum Field {
                    $( $req, )*
                    $( $opt, )*
                    __Other(String),
                }

                struct FieldVisitor;

                impl serde::de::Visitor<'_> for FieldVisitor {
                    type Value = Field;

                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("a field name")
                    }

                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Field, E> {
                        Ok(match v {
                            $( $rwire => Field::$req, )*
                            $( $owire => Field::$opt, )*
                            other => Field::__Other(other.to_owned()),
                        })
                    }

                    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Field, E> {
                        Ok(match v.as_str() {
                            $( $rwire => Field::$req, )*
                            $( $owire => Field::$opt, )*
                            _ => Field::__Other(v),
                        })
                    }
                }

                impl<'de> serde::Deserialize<'de> for Field {
                    fn deserialize<D: serde::Deserializer<'de>>(
                        deserializer: D,
                    ) -> Result<Self, D::Error> {
                        deserializer.deserialize_identifier(FieldVisitor)
                    }
                }

                struct ObjectVisitor;

                impl<'de> serde::de::Visitor<'de> for ObjectVisitor {
                    type Value = $name;

                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " object"))
                    }

                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<$name, A::Error> {
                        use serde::de::Error as _;
                        $( let mut $req: Option<$rty> = None; )*
                        // NB: the outer `Option` says "seen", so a repeated key is caught even
                        // when its first value was `null`.
                        $( let mut $opt: Option<Option<$oty>> = None; )*
                        let mut extra = $crate::types::Extra::new();
                        while let Some(field) = map.next_key::<Field>()? {
                            match field {
                                $(
                                    Field::$req => {
                                        if $req.is_some() {
                                            return Err(A::Error::duplicate_field($rwire));
                                        }
                                        $req = Some(map.next_value()?);
                                    }
                                )*
                                $(
                                    Field::$opt => {
                                        if $opt.is_some() {
                                            return Err(A::Error::duplicate_field($owire));
                                        }
                                        $opt = Some(map.next_value()?);
                                    }
                                )*
                                Field::__Other(key) => {
                                    let value = map.next_value::<serde_json::Value>()?;
                                    extra.insert(key, value);
                                }
                            }
                        }
                        Ok($name {
                            $( $req: $req.ok_or_else(|| A::Error::missing_field($rwire))?, )*
                            $( $opt: $opt.flatten(), )*
                            extra,
                        })
                    }
                }

                deserializer.deserialize_map(ObjectVisitor)
            }
        }
    };
}
pub(crate) use wire_object;

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLES: &[&str] = &[
        "big_ids.json",
        "left_chat_member.json",
        "missing_from.json",
        "new_chat_members.json",
        "pinned_message.json",
        "string_ids.json",
        "text_message.json",
        "unknown_fields.json",
        "unknown_kind.json",
    ];

    fn sample(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Decoding straight from bytes (the client's path) and from a `Value` give the same update,
    /// which serializes back to the sample.
    #[test]
    fn bytes_and_value_decode_the_same() {
        for name in SAMPLES {
            let bytes = sample(name);
            let from_bytes: Update = serde_json::from_slice(&bytes).unwrap();
            let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            let from_value: Update = serde_json::from_value(value.clone()).unwrap();
            assert_eq!(from_bytes, from_value, "{name}");
            // NB: string ids are written back as numbers, so that sample does not round-trip.
            if *name != "string_ids.json" {
                assert_eq!(serde_json::to_value(&from_bytes).unwrap(), value, "{name}");
            }
        }
    }

    /// A missing required field is an error that names the field.
    #[test]
    fn missing_required_field_is_named() {
        let e = serde_json::from_str::<Message>(r#"{"message_id": 1}"#).unwrap_err();
        assert!(e.to_string().contains("missing field `chat`"), "{e}");
        let e = serde_json::from_str::<Chat>(r#"{"id": 1}"#).unwrap_err();
        assert!(e.to_string().contains("missing field `type`"), "{e}");
    }

    /// A known field given twice is an error, as with serde's derived impls.
    #[test]
    fn repeated_known_field_is_an_error() {
        let e = serde_json::from_str::<User>(r#"{"id": 1, "username": null, "username": "a"}"#)
            .unwrap_err();
        assert!(e.to_string().contains("duplicate field `username`"), "{e}");
        assert!(serde_json::from_str::<User>(r#"{"id": 1, "id": 2}"#).is_err());
    }

    /// `null` for an optional field is `None` and is not kept in `extra`.
    #[test]
    fn null_optional_is_none_not_extra() {
        let user: User = serde_json::from_str(r#"{"id": 1, "first_name": null}"#).unwrap();
        assert_eq!(user, User::new(1));
        assert!(user.extra.is_empty());
    }

    /// A field of the wrong type is an error, not silently dropped or moved to `extra`.
    #[test]
    fn wrong_type_is_an_error() {
        assert!(serde_json::from_str::<User>(r#"{"id": 1, "is_bot": "yes"}"#).is_err());
        assert!(serde_json::from_str::<User>(r#"[1]"#).is_err());
    }

    /// A key written with escapes still matches its known field; unknown ones keep their value.
    #[test]
    fn escaped_keys_match_and_unknown_keys_are_kept() {
        let user: User = serde_json::from_str(
            r#"{"\u0069d": "7", "user\u006eame": "a", "mp_x": {"y": [1]}, "mp_x": 2}"#,
        )
        .unwrap();
        assert_eq!(user.id, crate::UserId(7));
        assert_eq!(user.username.as_deref(), Some("a"));
        assert_eq!(user.extra.len(), 1);
        assert_eq!(
            user.extra["mp_x"], 2,
            "the last of a repeated unknown key wins"
        );
    }

    /// A batch with ids as strings, an unknown kind and an edit decodes in one pass.
    #[test]
    fn get_updates_batch_decodes_in_one_pass() {
        let bytes = sample("get_updates_batch.json");
        let envelope: crate::Envelope<Vec<Update>> = serde_json::from_slice(&bytes).unwrap();
        let updates = envelope.result.unwrap();
        assert_eq!(updates.len(), 3);
        assert_eq!(updates[1].update_id, crate::UpdateId(2));
        assert_eq!(updates[1].payload_name(), Some("message_reaction"));
        assert_eq!(updates[2].payload_name(), Some("edited_message"));
    }
}
