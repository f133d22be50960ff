//! The raw layer: the file as written, one struct per table, every key optional.
//!
//! Integers are `i64` and enumerations are strings here on purpose: ranges and valid values are
//! checked in one place, [`Config::from_raw`](super::Config), with the same messages whether
//! a value came from the file or from an `MPBOT_*` environment override.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawConfig {
    pub(crate) bot: RawBot,
    pub(crate) delivery: RawDelivery,
    pub(crate) runtime: RawRuntime,
    pub(crate) admin: RawAdmin,
    pub(crate) log: RawLog,
    pub(crate) plugins: BTreeMap<String, toml::Table>,
}

/// `[bot]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawBot {
    pub(crate) api_url: Option<String>,
    pub(crate) token_env: Option<String>,
    pub(crate) token_file: Option<String>,
    pub(crate) expect_username: Option<String>,
}

/// `[delivery]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawDelivery {
    pub(crate) mode: Option<String>,
    pub(crate) allowed_updates: Option<Vec<String>>,
    pub(crate) ack: Option<String>,
    pub(crate) polling: RawPolling,
    pub(crate) webhook: RawWebhook,
    pub(crate) journal: RawJournal,
}

/// `[delivery.polling]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawPolling {
    pub(crate) timeout_secs: Option<i64>,
    pub(crate) limit: Option<i64>,
    pub(crate) conflict_overlap_secs: Option<i64>,
}

/// `[delivery.webhook]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawWebhook {
    pub(crate) listen: Option<String>,
    pub(crate) public_url: Option<String>,
    pub(crate) secret_token_env: Option<String>,
    pub(crate) secret_token_file: Option<String>,
    pub(crate) allow_missing_secret: Option<bool>,
    pub(crate) max_connections: Option<i64>,
    pub(crate) tls: Option<RawTls>,
    pub(crate) register: Option<String>,
    pub(crate) on_stop: Option<String>,
    pub(crate) max_body_bytes: Option<i64>,
    pub(crate) ack_deadline_secs: Option<i64>,
    pub(crate) header_read_timeout_secs: Option<i64>,
    pub(crate) body_read_timeout_secs: Option<i64>,
    pub(crate) idle_timeout_secs: Option<i64>,
    pub(crate) max_open_connections: Option<i64>,
}

/// `[delivery.webhook] tls = { cert, key }`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawTls {
    pub(crate) cert: Option<String>,
    pub(crate) key: Option<String>,
}

/// `[delivery.journal]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawJournal {
    pub(crate) path: Option<String>,
    pub(crate) retention_secs: Option<i64>,
}

/// `[runtime]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawRuntime {
    pub(crate) max_concurrency: Option<i64>,
    pub(crate) queue_bound: Option<i64>,
    pub(crate) shutdown_grace_secs: Option<i64>,
}

/// `[admin]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawAdmin {
    pub(crate) listen: Option<String>,
    pub(crate) poll_grace_secs: Option<i64>,
    pub(crate) webhook_check_interval_secs: Option<i64>,
    pub(crate) webhook_error_window_secs: Option<i64>,
}

/// `[log]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawLog {
    pub(crate) format: Option<String>,
    pub(crate) level: Option<String>,
}

/// The valid keys of the table at a dotted path, or `None` for a free-form table (a plugin's)
/// or a path that is not a table.
pub(crate) fn keys_of_table(path: &str) -> Option<&'static [&'static str]> {
    use super::fields::fields_of;
    Some(match path {
        "" => fields_of::<RawConfig>(),
        "bot" => fields_of::<RawBot>(),
        "delivery" => fields_of::<RawDelivery>(),
        "delivery.polling" => fields_of::<RawPolling>(),
        "delivery.webhook" => fields_of::<RawWebhook>(),
        "delivery.webhook.tls" => fields_of::<RawTls>(),
        "delivery.journal" => fields_of::<RawJournal>(),
        "runtime" => fields_of::<RawRuntime>(),
        "admin" => fields_of::<RawAdmin>(),
        "log" => fields_of::<RawLog>(),
        _ => return None,
    })
}
