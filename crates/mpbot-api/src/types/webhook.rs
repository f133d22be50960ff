use serde::{Deserialize, Serialize};

use super::Extra;

/// The result of `getWebhookInfo`. MPChat does not document its fields, so these are Telegram's,
/// all optional but `url`. An empty `url` means no webhook is set.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WebhookInfo {
    /// The webhook URL, empty when none is set.
    #[serde(default)]
    pub url: String,
    /// Whether a custom certificate was uploaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_custom_certificate: Option<bool>,
    /// Updates waiting to be delivered (or fetched by getUpdates when no webhook is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_update_count: Option<u64>,
    /// The IP address MPChat resolved the webhook host to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    /// Unix seconds of the last failed delivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error_date: Option<i64>,
    /// Why the last delivery failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error_message: Option<String>,
    /// Most concurrent deliveries MPChat makes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    /// The update kinds the webhook receives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_updates: Option<Vec<String>>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl WebhookInfo {
    /// Whether a webhook is set (a non-empty `url`).
    pub fn is_set(&self) -> bool {
        !self.url.is_empty()
    }
}
