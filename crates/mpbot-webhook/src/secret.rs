//! The webhook secret and its constant-time check.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The value MPChat sends in `X-MpChat-Bot-Api-Secret-Token` with every delivery
/// (`secret_token` of `setWebhook`).
///
/// `Debug` and `Display` print `WebhookSecret(***)` / `***`, so a stray `?options` in a log line
/// cannot leak it; [`WebhookSecret::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// Wraps a secret. MPChat does not document the allowed characters or length; Telegram's
    /// rule (1 to 256 characters from `A-Z a-z 0-9 _ -`) is checked when the listener starts.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret in clear, for `setWebhook`. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Why this secret breaks Telegram's rule, if it does.
    pub(crate) fn problem(&self) -> Option<&'static str> {
        if self.0.is_empty() || self.0.len() > 256 {
            return Some("must be 1 to 256 characters long");
        }
        if !self
            .0
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Some("may only contain A-Z, a-z, 0-9, '_' and '-'");
        }
        None
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

impl fmt::Display for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The configured secret, kept only as its SHA-256 digest.
///
/// Comparing fixed-size digests with [`subtle`] takes the same time whatever the presented
/// value, and not even its length leaks: a plain `==` on the strings would stop at the first
/// differing byte, and a constant-time compare of unequal-length strings returns early on the
/// length.
pub(crate) struct SecretCheck {
    digest: [u8; 32],
}

impl SecretCheck {
    pub(crate) fn new(secret: &WebhookSecret) -> Self {
        Self {
            digest: Sha256::digest(secret.0.as_bytes()).into(),
        }
    }

    /// Whether `presented` (the raw header value) is the secret.
    pub(crate) fn matches(&self, presented: &[u8]) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented).into();
        digest.ct_eq(&self.digest).into()
    }
}

impl fmt::Debug for SecretCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretCheck(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins that neither Debug nor Display prints the secret.
    #[test]
    fn secret_is_masked_when_printed() {
        let secret = WebhookSecret::new("s3cr3t-value");
        assert_eq!(format!("{secret:?}"), "WebhookSecret(***)");
        assert_eq!(format!("{secret}"), "***");
        assert_eq!(secret.expose(), "s3cr3t-value");
        assert!(!format!("{:?}", SecretCheck::new(&secret)).contains("s3cr3t"));
    }

    /// Pins the digest comparison: only the exact value matches (prefix, suffix, case, empty).
    #[test]
    fn check_matches_only_the_exact_secret() {
        let check = SecretCheck::new(&WebhookSecret::new("abc_DEF-123"));
        let cases: &[(&[u8], bool)] = &[
            (b"abc_DEF-123", true),
            (b"abc_DEF-12", false),
            (b"abc_DEF-1234", false),
            (b"ABC_DEF-123", false),
            (b"", false),
        ];
        for (presented, expected) in cases {
            assert_eq!(check.matches(presented), *expected, "{presented:?}");
        }
    }

    /// Pins Telegram's charset and length rule for secrets.
    #[test]
    fn problem_reports_bad_charset_and_length() {
        assert_eq!(WebhookSecret::new("ok_Secret-9").problem(), None);
        assert!(WebhookSecret::new("").problem().is_some());
        assert!(WebhookSecret::new("a".repeat(257)).problem().is_some());
        assert!(WebhookSecret::new("has space").problem().is_some());
        assert!(WebhookSecret::new("ümlaut").problem().is_some());
    }
}
