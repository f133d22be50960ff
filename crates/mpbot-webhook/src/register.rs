//! Registration with MPChat: verify, auto-register, delete on stop.

use mpbot_api::types::WebhookInfo;
use mpbot_api::{Bot, methods};

use crate::{Error, Result, WebhookSecret};

/// What the registration compares and sends.
#[derive(Debug, Clone)]
pub(crate) struct Wanted {
    pub(crate) url: String,
    pub(crate) secret: Option<WebhookSecret>,
    pub(crate) max_connections: Option<u32>,
    pub(crate) allowed_updates: Option<Vec<String>>,
}

/// One difference between what MPChat has and what the options say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Drift {
    pub(crate) field: &'static str,
    pub(crate) registered: String,
    pub(crate) configured: String,
}

/// Compares `getWebhookInfo` with the options. Fields the options leave `None` and fields
/// MPChat does not report are not compared (MPChat documents none of the result's fields).
pub(crate) fn drift(info: &WebhookInfo, wanted: &Wanted) -> Vec<Drift> {
    let mut drift = Vec::new();
    if info.url != wanted.url {
        drift.push(Drift {
            field: "url",
            registered: info.url.clone(),
            configured: wanted.url.clone(),
        });
    }
    if let (Some(configured), Some(registered)) = (wanted.max_connections, info.max_connections)
        && configured != registered
    {
        drift.push(Drift {
            field: "max_connections",
            registered: registered.to_string(),
            configured: configured.to_string(),
        });
    }
    if let Some(configured) = &wanted.allowed_updates {
        let mut configured_sorted = configured.clone();
        configured_sorted.sort();
        // Telegram reports an empty or missing list for "the default kinds".
        let mut registered = info.allowed_updates.clone().unwrap_or_default();
        registered.sort();
        if registered != configured_sorted {
            drift.push(Drift {
                field: "allowed_updates",
                registered: format!("{registered:?}"),
                configured: format!("{configured_sorted:?}"),
            });
        }
    }
    drift
}

/// `register = "verify"`: warns about drift; no webhook at all is an error.
pub(crate) async fn verify(bot: &Bot, wanted: &Wanted) -> Result<Vec<Drift>> {
    let info = bot
        .get_webhook_info()
        .await
        .map_err(|e| Error::registration("getWebhookInfo failed", Some(Box::new(e))))?;
    if !info.is_set() {
        return Err(Error::registration(
            format!(
                "no webhook is registered at MPChat, so nothing will be delivered to {}; \
                 register it (mpbot webhook set) or use register = \"auto\" for a test bot",
                wanted.url
            ),
            None,
        ));
    }
    let drift = drift(&info, wanted);
    for d in &drift {
        tracing::warn!(
            field = d.field,
            registered = %d.registered,
            configured = %d.configured,
            "registered webhook differs from the configuration"
        );
    }
    if drift.is_empty() {
        tracing::info!(url = %wanted.url, "registered webhook matches the configuration");
    }
    Ok(drift)
}

/// `register = "auto"`: `setWebhook` with the configured values.
pub(crate) async fn auto(bot: &Bot, wanted: &Wanted) -> Result<()> {
    let mut request = methods::SetWebhook::new(wanted.url.clone());
    request.secret_token = wanted.secret.as_ref().map(|s| s.expose().to_owned());
    request.max_connections = wanted.max_connections;
    request.allowed_updates.clone_from(&wanted.allowed_updates);
    bot.high_risk()
        .execute(&request)
        .await
        .map_err(|e| Error::registration("setWebhook failed", Some(Box::new(e))))?;
    tracing::info!(url = %wanted.url, "webhook registered with MPChat");
    Ok(())
}

/// `on_stop = "delete"`.
pub(crate) async fn delete(bot: &Bot) -> Result<()> {
    bot.high_risk()
        .execute(&methods::DeleteWebhook::new())
        .await
        .map_err(|e| Error::registration("deleteWebhook failed", Some(Box::new(e))))?;
    tracing::info!("webhook deleted at MPChat");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted() -> Wanted {
        Wanted {
            url: "https://h/p".into(),
            secret: None,
            max_connections: Some(40),
            allowed_updates: Some(vec!["message".into(), "callback_query".into()]),
        }
    }

    /// Pins which fields count as drift and which are ignored when unknown.
    #[test]
    fn drift_compares_url_max_connections_and_allowed_updates() {
        let same = WebhookInfo {
            url: "https://h/p".into(),
            max_connections: Some(40),
            allowed_updates: Some(vec!["callback_query".into(), "message".into()]),
            ..WebhookInfo::default()
        };
        assert!(drift(&same, &wanted()).is_empty());
        let unreported = WebhookInfo {
            max_connections: None,
            ..same.clone()
        };
        assert!(drift(&unreported, &wanted()).is_empty());
        let other = WebhookInfo {
            url: "https://h/other".into(),
            max_connections: Some(10),
            allowed_updates: Some(vec!["message".into()]),
            ..WebhookInfo::default()
        };
        let fields: Vec<_> = drift(&other, &wanted()).iter().map(|d| d.field).collect();
        assert_eq!(fields, ["url", "max_connections", "allowed_updates"]);
    }
}
