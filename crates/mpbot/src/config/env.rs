//! Deployment overrides (`MPBOT_*` environment variables), applied to the raw layer so they go
//! through exactly the same checks as the file.

use std::collections::BTreeMap;

use super::error::{ConfigError, ConfigErrorKind, Location};
use super::raw::RawConfig;

/// Every environment override: `(variable, dotted key it replaces)`. An empty variable counts
/// as unset.
pub const ENV_OVERRIDES: &[(&str, &str)] = &[
    ("MPBOT_DELIVERY_MODE", "delivery.mode"),
    ("MPBOT_DELIVERY_ACK", "delivery.ack"),
    ("MPBOT_BOT_API_URL", "bot.api_url"),
    ("MPBOT_WEBHOOK_LISTEN", "delivery.webhook.listen"),
    ("MPBOT_WEBHOOK_PUBLIC_URL", "delivery.webhook.public_url"),
    ("MPBOT_RUNTIME_MAX_CONCURRENCY", "runtime.max_concurrency"),
    ("MPBOT_ADMIN_LISTEN", "admin.listen"),
    ("MPBOT_LOG_FORMAT", "log.format"),
];

/// Applies the overrides found through `env`; returns dotted key → variable for each one
/// applied, so later errors about that key name the variable instead of a file line.
pub(crate) fn apply(
    raw: &mut RawConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut applied = BTreeMap::new();
    for &(var, key) in ENV_OVERRIDES {
        let Some(value) = env(var).filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        let value = value.trim().to_owned();
        match key {
            "delivery.mode" => raw.delivery.mode = Some(value),
            "delivery.ack" => raw.delivery.ack = Some(value),
            "bot.api_url" => raw.bot.api_url = Some(value),
            "delivery.webhook.listen" => raw.delivery.webhook.listen = Some(value),
            "delivery.webhook.public_url" => raw.delivery.webhook.public_url = Some(value),
            "runtime.max_concurrency" => {
                let n = value.parse::<i64>().map_err(|_| {
                    ConfigError::new(
                        ConfigErrorKind::WrongType,
                        Location::Env {
                            var: var.to_owned(),
                        },
                        Some(key.to_owned()),
                        format!("wrong type: expected an integer, found {value:?}"),
                    )
                })?;
                raw.runtime.max_concurrency = Some(n);
            }
            "admin.listen" => raw.admin.listen = Some(value),
            "log.format" => raw.log.format = Some(value),
            other => unreachable!("ENV_OVERRIDES names {other} without a setter"),
        }
        applied.insert(key.to_owned(), var.to_owned());
    }
    Ok(applied)
}
