//! Identifier newtypes.
//!
//! MPChat documents every id (`chat_id`, `user_id`, `message_id`) as "a JavaScript safe integer,
//! or the same number as a decimal string" (protocol notes §5.1). Each newtype here reads either
//! form and always writes a JSON number, so values up to 2^53 − 1 (and beyond 32 bits) round-trip.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

macro_rules! id_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub i64);

        impl $name {
            /// The raw integer value.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl From<i64> for $name {
            fn from(value: i64) -> Self {
                Self(value)
            }
        }

        impl From<$name> for i64 {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim().parse::<i64>().map(Self)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_i64(self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_any(IntOrDecimalString).map(Self)
            }
        }
    };
}

id_newtype!(
    /// The id of an update, ascending per bot. Read from a number or a decimal string.
    UpdateId
);
id_newtype!(
    /// The id of a conversation: private, group or channel. Group ids may be negative.
    ChatId
);
id_newtype!(
    /// The id of a user (or a bot).
    UserId
);
id_newtype!(
    /// The id of a message within its chat.
    MessageId
);

impl UpdateId {
    /// The id that follows this one: what `getUpdates` wants as `offset` after this update.
    pub const fn next(self) -> Self {
        Self(self.0 + 1)
    }
}

/// Reads a JSON integer, or a string holding a decimal integer, into an `i64`.
struct IntOrDecimalString;

impl Visitor<'_> for IntOrDecimalString {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer or a decimal string")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::custom(format!("id {v} does not fit in 64 bits")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
        // NB: some JSON encoders write large integers as `1e15`; accept them only when exact.
        if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 {
            #[expect(
                clippy::cast_possible_truncation,
                reason = "checked integral and in range"
            )]
            Ok(v as i64)
        } else {
            Err(E::custom(format!("id {v} is not an integer")))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
        v.trim()
            .parse::<i64>()
            .map_err(|_| E::custom(format!("id {v:?} is not a decimal integer")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_numbers_and_decimal_strings_and_write_numbers() {
        let cases = [
            ("42", 42),
            ("\"42\"", 42),
            ("-1001234567890", -1_001_234_567_890),
            ("\"-1001234567890\"", -1_001_234_567_890),
            ("9007199254740991", 9_007_199_254_740_991),
            ("\"9007199254740991\"", 9_007_199_254_740_991),
            ("4294967296", 4_294_967_296),
        ];
        for (json, want) in cases {
            let id: ChatId = serde_json::from_str(json).unwrap();
            assert_eq!(id, ChatId(want), "{json}");
            assert_eq!(serde_json::to_string(&id).unwrap(), want.to_string());
        }
    }

    #[test]
    fn ids_reject_non_integers() {
        for json in [
            "\"abc\"",
            "1.5",
            "true",
            "null",
            "\"\"",
            "18446744073709551615",
        ] {
            assert!(serde_json::from_str::<UserId>(json).is_err(), "{json}");
        }
    }

    #[test]
    fn update_id_next_is_offset() {
        assert_eq!(UpdateId(10001).next(), UpdateId(10002));
    }
}
