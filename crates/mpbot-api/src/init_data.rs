//! MiniApp identity: verifying the signed `initData` a MiniApp sends to its backend (protocol
//! notes §7.3).
//!
//! A MiniApp's frontend reads `window.MpChat.WebApp.initData` (a URL query string signed by
//! MPChat with the bot token) and sends it to the bot's backend, which must verify it before
//! trusting any field. `initDataUnsafe` is for display only and never reaches this module.
//!
//! This module needs no HTTP client: it works without the crate's `client` feature.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use mpbot_api::BotToken;
//! use mpbot_api::init_data::{InitDataVerifier, verify_init_data};
//!
//! let token = BotToken::new("123456:test-token").unwrap();
//! // Where the frontend's `initData` would come in:
//! let init_data = "auth_date=1700000000&hash=00";
//! let err = verify_init_data(&token, init_data, Duration::from_secs(300)).unwrap_err();
//! assert_eq!(err.code(), "INIT_DATA_INVALID");
//!
//! // The same with an explicit clock and an expected MiniApp, as a server for one MiniApp does.
//! let verifier = InitDataVerifier::new(&token)
//!     .now(1_700_000_010)
//!     .expect_miniapp_id("ma_demo");
//! assert!(verifier.verify(init_data).is_err());
//! ```

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::BotToken;
use crate::types::User;

type HmacSha256 = Hmac<Sha256>;

/// MPChat's default freshness window for `auth_date`: 300 s.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

/// The error code for any failure but a MiniApp mismatch (protocol notes §7.3).
pub const INIT_DATA_INVALID: &str = "INIT_DATA_INVALID";
/// The error code for a signed `miniapp_id` other than the expected one.
pub const MINIAPP_FORBIDDEN: &str = "MINIAPP_FORBIDDEN";

/// Why `initData` was rejected. [`InitDataError::code`] gives MPChat's suggested error code.
///
/// No variant holds the `initData` or the token; a `Malformed` one names only the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InitDataError {
    /// The string is not a URL query string.
    #[error("initData is not a valid query string")]
    NotAQueryString,
    /// There is no `hash` pair.
    #[error("initData has no hash")]
    MissingHash,
    /// `hash` is not hexadecimal.
    #[error("initData hash is not hexadecimal")]
    BadHashEncoding,
    /// The signature does not match: the data was altered, or signed for another bot.
    #[error("initData signature does not match")]
    BadSignature,
    /// There is no `auth_date` pair.
    #[error("initData has no auth_date")]
    MissingAuthDate,
    /// `auth_date` is not a whole number of Unix seconds.
    #[error("initData auth_date is not numeric")]
    BadAuthDate,
    /// `auth_date` is older than the allowed age (or further in the future than that).
    #[error("initData expired: signed {age_secs} s ago, at most {max_age_secs} s allowed")]
    Expired {
        /// Seconds between `auth_date` and now (negative when `auth_date` is in the future).
        age_secs: i64,
        /// The allowed age in seconds.
        max_age_secs: u64,
    },
    /// A signed field does not hold what it should (e.g. `user` is not a JSON user object).
    #[error("initData field `{field}` is malformed")]
    Malformed {
        /// The field's key.
        field: String,
    },
    /// The signed `miniapp_id` is absent or is not the expected one.
    #[error("initData belongs to another MiniApp")]
    MiniappForbidden {
        /// The `miniapp_id` that was expected.
        expected: String,
        /// The signed one, if any.
        actual: Option<String>,
    },
}

impl InitDataError {
    /// MPChat's suggested error code: [`MINIAPP_FORBIDDEN`] for a MiniApp mismatch,
    /// [`INIT_DATA_INVALID`] for everything else.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MiniappForbidden { .. } => MINIAPP_FORBIDDEN,
            _ => INIT_DATA_INVALID,
        }
    }

    /// Whether the data was genuine but too old (the MiniApp should fetch fresh `initData`).
    pub fn is_expired(&self) -> bool {
        matches!(self, Self::Expired { .. })
    }
}

/// `initData` whose signature, age and (optionally) MiniApp were checked. Only read identity
/// from here, never from `initDataUnsafe`.
///
/// Its `Debug` shows the user id, the MiniApp and the date only, so logging it leaks no profile
/// fields.
#[derive(Clone, PartialEq)]
pub struct VerifiedInitData {
    /// Every signed pair except `hash`, URL-decoded, in the order received.
    pairs: Vec<(String, String)>,
    /// `user`, parsed.
    user: Option<User>,
    /// `chat`, parsed as JSON.
    chat: Option<serde_json::Value>,
    /// `auth_date` in Unix seconds.
    auth_date: i64,
}

impl fmt::Debug for VerifiedInitData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedInitData")
            .field("user_id", &self.user.as_ref().map(|u| u.id))
            .field("miniapp_id", &self.miniapp_id())
            .field("auth_date", &self.auth_date)
            .finish_non_exhaustive()
    }
}

impl VerifiedInitData {
    /// The user who opened the MiniApp (`user`), when sent.
    pub fn user(&self) -> Option<&User> {
        self.user.as_ref()
    }

    /// The chat the MiniApp was opened from (`chat`), as JSON: MPChat documents only "core
    /// fields" of it.
    pub fn chat(&self) -> Option<&serde_json::Value> {
        self.chat.as_ref()
    }

    /// The signed `miniapp_id` (`ma_…`), when sent.
    pub fn miniapp_id(&self) -> Option<&str> {
        self.get("miniapp_id")
    }

    /// `auth_date`: when MPChat signed the data, in Unix seconds.
    pub fn auth_date(&self) -> i64 {
        self.auth_date
    }

    /// The launch parameter (`start_param`), when sent.
    pub fn start_param(&self) -> Option<&str> {
        self.get("start_param")
    }

    /// `query_id`, when sent.
    pub fn query_id(&self) -> Option<&str> {
        self.get("query_id")
    }

    /// `chat_type`, when sent.
    pub fn chat_type(&self) -> Option<&str> {
        self.get("chat_type")
    }

    /// The value of any signed key, URL-decoded.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every signed pair but `hash`, URL-decoded, in the order received.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

/// Verifies `init_data` for the bot `token`, accepting it if it was signed at most `max_age` ago
/// (MPChat's default is [`DEFAULT_MAX_AGE`], 300 s), by the system clock.
///
/// Use [`InitDataVerifier`] to pass the current time explicitly or to require a `miniapp_id`.
///
/// # Errors
/// [`InitDataError`]: every case has [`InitDataError::code`] `INIT_DATA_INVALID`.
pub fn verify_init_data(
    token: &BotToken,
    init_data: &str,
    max_age: Duration,
) -> Result<VerifiedInitData, InitDataError> {
    InitDataVerifier::new(token)
        .max_age(max_age)
        .verify(init_data)
}

/// Verifies `initData` with explicit settings: the clock, the allowed age and the expected
/// MiniApp.
#[derive(Debug, Clone)]
pub struct InitDataVerifier<'a> {
    /// The bot's token, the signing secret.
    token: &'a BotToken,
    /// The allowed age of `auth_date`.
    max_age: Duration,
    /// "Now" in Unix seconds; the system clock when `None`.
    now: Option<i64>,
    /// The `miniapp_id` the data must carry, when set.
    miniapp_id: Option<String>,
}

impl<'a> InitDataVerifier<'a> {
    /// A verifier for `token` with the default age ([`DEFAULT_MAX_AGE`]), the system clock and
    /// any MiniApp.
    pub fn new(token: &'a BotToken) -> Self {
        Self {
            token,
            max_age: DEFAULT_MAX_AGE,
            now: None,
            miniapp_id: None,
        }
    }

    /// The allowed age of `auth_date`. Default 300 s.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Judge freshness against `unix_seconds` instead of the system clock (for tests, or a
    /// server with its own clock).
    pub fn now(mut self, unix_seconds: i64) -> Self {
        self.now = Some(unix_seconds);
        self
    }

    /// Require the signed `miniapp_id` to equal `miniapp_id`; otherwise the verification fails
    /// with [`InitDataError::MiniappForbidden`].
    pub fn expect_miniapp_id(mut self, miniapp_id: impl Into<String>) -> Self {
        self.miniapp_id = Some(miniapp_id.into());
        self
    }

    /// Runs the checks, in the order of protocol notes §7.3: signature, then freshness, then
    /// MiniApp, and only then parses `user` and `chat`.
    ///
    /// # Errors
    /// [`InitDataError`], see its variants.
    pub fn verify(&self, init_data: &str) -> Result<VerifiedInitData, InitDataError> {
        let mut pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(init_data).map_err(|_| InitDataError::NotAQueryString)?;

        let hash_at = pairs
            .iter()
            .position(|(k, _)| k == "hash")
            .ok_or(InitDataError::MissingHash)?;
        let (_, hash_hex) = pairs.remove(hash_at);
        let received = hex::decode(hash_hex.trim()).map_err(|_| InitDataError::BadHashEncoding)?;

        let expected = sign(self.token, &data_check_string(&pairs));
        // NB: `ct_eq` on slices of unequal length is false, without comparing contents.
        if received.len() != expected.len() || !bool::from(received.ct_eq(&expected)) {
            return Err(InitDataError::BadSignature);
        }

        let auth_date = pairs
            .iter()
            .find(|(k, _)| k == "auth_date")
            .ok_or(InitDataError::MissingAuthDate)?
            .1
            .parse::<i64>()
            .map_err(|_| InitDataError::BadAuthDate)?;
        let now = self.now.unwrap_or_else(system_now);
        let age = now.saturating_sub(auth_date);
        let max_age_secs = self.max_age.as_secs();
        // NB: a date in the future is accepted within the same window, for clock skew; beyond it,
        // it would extend the data's life.
        if age.unsigned_abs() > max_age_secs {
            return Err(InitDataError::Expired {
                age_secs: age,
                max_age_secs,
            });
        }

        let verified = VerifiedInitData {
            user: None,
            chat: None,
            auth_date,
            pairs,
        };
        if let Some(expected) = &self.miniapp_id
            && verified.miniapp_id() != Some(expected.as_str())
        {
            return Err(InitDataError::MiniappForbidden {
                expected: expected.clone(),
                actual: verified.miniapp_id().map(str::to_owned),
            });
        }

        let user = verified
            .get("user")
            .map(serde_json::from_str::<User>)
            .transpose()
            .map_err(|_| InitDataError::Malformed {
                field: "user".into(),
            })?;
        let chat = verified
            .get("chat")
            .map(serde_json::from_str::<serde_json::Value>)
            .transpose()
            .map_err(|_| InitDataError::Malformed {
                field: "chat".into(),
            })?;
        Ok(VerifiedInitData {
            user,
            chat,
            ..verified
        })
    }
}

/// The pairs sorted by key bytes, each `key=value`, joined with `\n`.
fn data_check_string(pairs: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `HMAC_SHA256(key = HMAC_SHA256(key = "WebAppData", msg = token), msg = data_check_string)`.
fn sign(token: &BotToken, data_check_string: &str) -> Vec<u8> {
    let mut secret = HmacSha256::new_from_slice(b"WebAppData").expect("HMAC takes any key length");
    secret.update(token.expose().as_bytes());
    let secret_key = secret.finalize().into_bytes();
    let mut mac = HmacSha256::new_from_slice(&secret_key).expect("HMAC takes any key length");
    mac.update(data_check_string.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn system_now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(secs).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "123456:AAE-test-token_for_vectors";
    const AUTH_DATE: i64 = 1_700_000_000;
    /// A realistic `initData`, URL-encoded as a browser's `URLSearchParams` would.
    const SIGNED: &str = "query_id=AAHdF6IQAAAAAN0XohDhrOrc\
&user=%7B%22id%22%3A9007199254740991%2C%22first_name%22%3A%22Ann%C3%A9%22%2C%22username%22%3A%22ann%22%2C%22language_code%22%3A%22en%22%7D\
&chat=%7B%22id%22%3A-1001234567890%2C%22type%22%3A%22group%22%2C%22title%22%3A%22Team+chat%22%7D\
&chat_type=group&auth_date=1700000000&miniapp_id=ma_demo01&start_param=promo+42\
&hash=HASH";

    fn token() -> BotToken {
        BotToken::new(TOKEN).unwrap()
    }

    /// The vector, with the hash computed independently once with Python's `hmac`/`hashlib`:
    /// ```text
    /// secret = hmac.new(b"WebAppData", TOKEN.encode(), hashlib.sha256).digest()
    /// hmac.new(secret, dcs.encode(), hashlib.sha256).hexdigest()
    /// ```
    /// where `dcs` is the decoded pairs sorted by key and joined with `\n`.
    const EXPECTED_HASH: &str = "f2c9e87319dc9d13892c6fa363c328e9f85aaec613f27aa41ebe551b33349f95";

    fn signed() -> String {
        SIGNED.replace("HASH", EXPECTED_HASH)
    }

    fn verifier(token: &BotToken) -> InitDataVerifier<'_> {
        InitDataVerifier::new(token).now(AUTH_DATE + 60)
    }

    /// A genuine `initData` verifies and exposes the decoded, typed fields.
    #[test]
    fn genuine_init_data_verifies_and_exposes_fields() {
        let token = token();
        let data = verifier(&token).verify(&signed()).unwrap();
        let user = data.user().unwrap();
        assert_eq!(user.id.get(), 9_007_199_254_740_991);
        assert_eq!(user.first_name.as_deref(), Some("Anné"));
        assert_eq!(data.chat().unwrap()["title"], "Team chat");
        assert_eq!(data.miniapp_id(), Some("ma_demo01"));
        assert_eq!(data.start_param(), Some("promo 42"));
        assert_eq!(data.auth_date(), AUTH_DATE);
        assert_eq!(data.chat_type(), Some("group"));
        assert_eq!(data.query_id(), Some("AAHdF6IQAAAAAN0XohDhrOrc"));
        assert_eq!(data.pairs().len(), 7);
        assert!(data.pairs().iter().all(|(k, _)| k != "hash"));
        // The same hash in upper case decodes to the same bytes.
        let upper = SIGNED.replace("HASH", &EXPECTED_HASH.to_uppercase());
        assert!(verifier(&token).verify(&upper).is_ok());
        // Pair order does not matter: the data-check string is sorted.
        let reordered = format!("hash={EXPECTED_HASH}&{}", SIGNED.replace("&hash=HASH", ""));
        assert!(verifier(&token).verify(&reordered).is_ok());
    }

    /// The expected MiniApp passes; another, or none, is MINIAPP_FORBIDDEN.
    #[test]
    fn miniapp_id_must_match_when_expected() {
        let token = token();
        assert!(
            verifier(&token)
                .expect_miniapp_id("ma_demo01")
                .verify(&signed())
                .is_ok()
        );
        let err = verifier(&token)
            .expect_miniapp_id("ma_other")
            .verify(&signed())
            .unwrap_err();
        assert_eq!(err.code(), MINIAPP_FORBIDDEN);
        assert_eq!(
            err,
            InitDataError::MiniappForbidden {
                expected: "ma_other".into(),
                actual: Some("ma_demo01".into())
            }
        );
    }

    /// Changing any signed byte, adding a pair, or using another token breaks the signature.
    #[test]
    fn tampering_or_wrong_token_is_rejected() {
        let token = token();
        let cases = [
            signed().replace("promo+42", "promo+43"),
            signed().replace("ma_demo01", "ma_demo02"),
            signed().replace("9007199254740991", "9007199254740990"),
            format!("{}&extra=1", signed()),
            signed().replace("&chat_type=group", ""),
        ];
        for case in cases {
            let err = verifier(&token).verify(&case).unwrap_err();
            assert_eq!(err, InitDataError::BadSignature, "{case}");
            assert_eq!(err.code(), INIT_DATA_INVALID);
        }
        let other = BotToken::new("123456:another").unwrap();
        assert_eq!(
            verifier(&other).verify(&signed()).unwrap_err(),
            InitDataError::BadSignature
        );
    }

    /// Freshness: exactly max_age old passes, one second more fails, the future is bounded too.
    #[test]
    fn auth_date_must_be_fresh() {
        let token = token();
        let at = |now: i64| InitDataVerifier::new(&token).now(now).verify(&signed());
        assert!(at(AUTH_DATE).is_ok());
        assert!(at(AUTH_DATE + 300).is_ok());
        let err = at(AUTH_DATE + 301).unwrap_err();
        assert!(err.is_expired());
        assert_eq!(err.code(), INIT_DATA_INVALID);
        assert_eq!(
            err,
            InitDataError::Expired {
                age_secs: 301,
                max_age_secs: 300
            }
        );
        assert!(at(AUTH_DATE - 301).unwrap_err().is_expired());
        let day = InitDataVerifier::new(&token)
            .now(AUTH_DATE + 3600)
            .max_age(Duration::from_secs(86_400));
        assert!(day.verify(&signed()).is_ok());
        // The system clock is far past 2023, so the vector is expired by `verify_init_data`.
        assert!(
            verify_init_data(&token, &signed(), DEFAULT_MAX_AGE)
                .unwrap_err()
                .is_expired()
        );
    }

    /// A missing or undecodable hash, or a hash of the wrong length, is INIT_DATA_INVALID.
    #[test]
    fn missing_or_bad_hash_is_rejected() {
        let token = token();
        let cases = [
            (SIGNED.replace("&hash=HASH", ""), InitDataError::MissingHash),
            (SIGNED.replace("HASH", "zz"), InitDataError::BadHashEncoding),
            (
                SIGNED.replace("HASH", "abc"),
                InitDataError::BadHashEncoding,
            ),
            (SIGNED.replace("HASH", ""), InitDataError::BadSignature),
            (
                SIGNED.replace("HASH", &EXPECTED_HASH[..62]),
                InitDataError::BadSignature,
            ),
            (
                SIGNED.replace("HASH", &format!("{EXPECTED_HASH}00")),
                InitDataError::BadSignature,
            ),
            (String::new(), InitDataError::MissingHash),
        ];
        for (case, want) in cases {
            let err = verifier(&token).verify(&case).unwrap_err();
            assert_eq!(err, want, "{case}");
            assert_eq!(err.code(), INIT_DATA_INVALID);
        }
    }

    /// Signed data without a numeric auth_date is rejected even with a valid signature.
    #[test]
    fn auth_date_must_be_present_and_numeric() {
        let token = token();
        let sign_pairs = |pairs: &[(&str, &str)]| {
            let owned: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            let hash = hex::encode(sign(&token, &data_check_string(&owned)));
            let mut query = serde_urlencoded::to_string(pairs).unwrap();
            query.push_str("&hash=");
            query.push_str(&hash);
            query
        };
        let no_date = sign_pairs(&[("user", r#"{"id":1}"#)]);
        assert_eq!(
            verifier(&token).verify(&no_date).unwrap_err(),
            InitDataError::MissingAuthDate
        );
        let bad_date = sign_pairs(&[("auth_date", "yesterday")]);
        assert_eq!(
            verifier(&token).verify(&bad_date).unwrap_err(),
            InitDataError::BadAuthDate
        );
        let bad_user = sign_pairs(&[("auth_date", "1700000000"), ("user", "not json")]);
        assert_eq!(
            verifier(&token).verify(&bad_user).unwrap_err(),
            InitDataError::Malformed {
                field: "user".into()
            }
        );
        let minimal = sign_pairs(&[("auth_date", "1700000000")]);
        let data = verifier(&token).verify(&minimal).unwrap();
        assert!(data.user().is_none() && data.miniapp_id().is_none());
    }

    /// Errors and the verified data's Debug never print the token or profile fields.
    #[test]
    fn debug_output_leaks_nothing() {
        let token = token();
        let data = verifier(&token).verify(&signed()).unwrap();
        let shown = format!("{data:?}");
        assert!(shown.contains("ma_demo01"));
        assert!(!shown.contains("Ann") && !shown.contains(TOKEN));
        let err = verifier(&token)
            .verify(&signed().replace("ann", "bob"))
            .unwrap_err();
        assert!(!format!("{err} {err:?}").contains(TOKEN));
    }
}
