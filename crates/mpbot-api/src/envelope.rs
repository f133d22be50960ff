//! The response envelope every method shares (protocol notes §1.3).

use serde::{Deserialize, Serialize};

/// `{"ok": true, "result": ...}` or `{"ok": false, "error_code": ..., "description": ...}`.
///
/// Read `ok` first; `result` only means something when it is true. The emulator uses the same
/// type to write responses, so both sides agree on the shape by construction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// Whether the call succeeded.
    pub ok: bool,
    /// The method's result, present when `ok`.
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub result: Option<T>,
    /// MPChat's error code when not `ok`: an HTTP-like status or a business code such as 50001.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i64>,
    /// Human-readable reason when not `ok`. Never branch on its text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Extra hints on an error (Telegram's `parameters`; undocumented on MPChat, honoured if sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<ResponseParameters>,
}

// NB: `#[serde(default)]` on an `Option<T>` field would require `T: Default`.
fn none<T>() -> Option<T> {
    None
}

impl<T> Envelope<T> {
    /// A successful envelope.
    pub fn success(result: T) -> Self {
        Self {
            ok: true,
            result: Some(result),
            error_code: None,
            description: None,
            parameters: None,
        }
    }

    /// A failed envelope.
    pub fn failure(error_code: i64, description: impl Into<String>) -> Self {
        Self {
            ok: false,
            result: None,
            error_code: Some(error_code),
            description: Some(description.into()),
            parameters: None,
        }
    }

    /// Adds `parameters.retry_after` (whole seconds) to a failed envelope.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.parameters
            .get_or_insert_with(ResponseParameters::default)
            .retry_after = Some(seconds);
        self
    }
}

/// Hints attached to an error envelope.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ResponseParameters {
    /// Seconds to wait before retrying (after a 429).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// The group was migrated to a supergroup with this id (Telegram's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrate_to_chat_id: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_reads_success_and_failure() {
        let ok: Envelope<bool> = serde_json::from_str(r#"{"ok":true,"result":true}"#).unwrap();
        assert_eq!(ok, Envelope::success(true));

        let err: Envelope<bool> = serde_json::from_str(
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests","parameters":{"retry_after":3}}"#,
        )
        .unwrap();
        assert_eq!(
            err,
            Envelope::failure(429, "Too Many Requests").with_retry_after(3)
        );
    }

    #[test]
    fn failure_never_writes_result() {
        let json = serde_json::to_value(Envelope::<u8>::failure(400, "Bad Request")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"ok": false, "error_code": 400, "description": "Bad Request"})
        );
    }
}
