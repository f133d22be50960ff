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
