//! Plugins: named bundles of handlers with their own config table and lifecycle hooks.

use std::fmt;

use mpbot_api::{Bot, Update, UpdateId, User};
use serde::de::DeserializeOwned;

use crate::dispatcher::ShutdownReport;
use crate::handler::{BoxFuture, HandlerError};
use crate::{Error, Router, SourceInfo, UpdateKind};

/// A named bundle of handlers, configured by its own `[plugins.NAME]` table.
///
/// The application registers plugin values; the TOML enables and configures them by name.
/// [`Plugin::register`] runs once at start-up and adds the plugin's handlers to the router. The
/// hooks let cross-cutting plugins (metrics, audit logs) observe every update without being a
/// handler; they run synchronously on the dispatcher's path, so keep them short (hand heavy work
/// to a channel). A panic in a hook is caught and logged.
///
/// # Examples
///
/// ```
/// use mpbot_core::{Context, Error, Plugin, PluginConfig, Router};
/// use mpbot_core::event::MemberJoined;
///
/// #[derive(serde::Deserialize)]
/// #[serde(deny_unknown_fields)]
/// struct WelcomeConfig {
///     text: String,
/// }
///
/// struct Welcome;
///
/// impl Plugin for Welcome {
///     fn name(&self) -> &'static str {
///         "welcome"
///     }
///
///     fn register(&self, router: &mut Router, config: &PluginConfig) -> Result<(), Error> {
///         let config: WelcomeConfig = config.deserialize()?;
///         let text = std::sync::Arc::new(config.text);
///         router.on_join(move |ctx: Context, joined: MemberJoined| {
///             let text = text.clone();
///             async move {
///                 for member in &joined.members {
///                     let greeting = text.replace("{first_name}", &member.display_name());
///                     ctx.send(joined.chat.id, greeting).await?;
///                 }
///                 Ok::<_, mpbot_core::api::Error>(())
///             }
///         });
///         Ok(())
///     }
/// }
///
/// let table = serde_json::json!({ "text": "Welcome, {first_name}!" });
/// let mut router = Router::new();
/// router.plugin(std::sync::Arc::new(Welcome), &PluginConfig::new("welcome", table))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Plugin: Send + Sync + 'static {
    /// The plugin's name: the `NAME` of its `[plugins.NAME]` table.
    fn name(&self) -> &'static str;

    /// Adds the plugin's handlers to `router`, reading `config` as it needs.
    ///
    /// # Errors
    /// [`Error::Plugin`] when the config is unusable ([`PluginConfig::deserialize`] makes one
    /// that names the key).
    fn register(&self, router: &mut Router, config: &PluginConfig) -> Result<(), Error>;

    /// Work to do once with the API client before updates flow, such as publishing the bot's
    /// command menu. The dispatcher awaits it before it starts the source; an error is logged
    /// as a warning and does not stop the bot (the menu is a nicety, receiving updates is not).
    fn on_ready(&self, bot: &Bot, me: &User) -> BoxFuture<'static, Result<(), HandlerError>> {
        let _ = (bot, me);
        Box::pin(std::future::ready(Ok(())))
    }

    /// Called once when the dispatcher starts running `source`.
    fn on_start(&self, source: &SourceInfo) {
        let _ = source;
    }

    /// Called for each update the dispatcher accepted (not for duplicates or refusals), before
    /// it is queued.
    fn on_update_received(&self, update: &Update, kind: &UpdateKind) {
        let _ = (update, kind);
    }

    /// Called when the handling of an accepted update ended: handled, unhandled, failed or
    /// panicked. Not called for updates cancelled by a shutdown (they are listed in
    /// [`ShutdownReport::unfinished`] instead).
    fn on_update_done(&self, update_id: UpdateId, kind: &UpdateKind, outcome: &Outcome) {
        let _ = (update_id, kind, outcome);
    }

    /// Called once when the dispatcher stopped.
    fn on_stop(&self, report: &ShutdownReport) {
        let _ = report;
    }
}

/// How the handling of one update ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// A handler ran and returned `Ok`.
    Handled,
    /// No handler (and no fallback) takes updates of this kind.
    Unhandled,
    /// The handler returned an error.
    Failed(HandlerError),
    /// The handler panicked; the panic message, when it was a string.
    Panicked(String),
}

impl Outcome {
    /// Whether a handler ran and succeeded.
    pub fn is_handled(&self) -> bool {
        matches!(self, Outcome::Handled)
    }

    /// Whether the handler failed or panicked.
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failed(_) | Outcome::Panicked(_))
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Handled => f.write_str("handled"),
            Outcome::Unhandled => f.write_str("unhandled"),
            Outcome::Failed(error) => write!(f, "failed: {error}"),
            Outcome::Panicked(message) => write!(f, "panicked: {message}"),
        }
    }
}

/// A plugin's configuration table, as JSON.
///
/// The facade converts the plugin's `[plugins.NAME]` TOML table to a [`serde_json::Value`], so
/// this crate needs no TOML parser; the plugin reads it into its own type with
/// [`PluginConfig::deserialize`].
#[derive(Debug, Clone, PartialEq)]
pub struct PluginConfig {
    /// Whose table this is, for error messages.
    plugin: String,
    /// The table.
    table: serde_json::Value,
}

impl PluginConfig {
    /// The table `table` of the plugin `plugin`.
    pub fn new(plugin: impl Into<String>, table: serde_json::Value) -> Self {
        Self {
            plugin: plugin.into(),
            table,
        }
    }

    /// An empty table (a plugin enabled without settings).
    pub fn empty(plugin: impl Into<String>) -> Self {
        Self::new(plugin, serde_json::Value::Object(serde_json::Map::new()))
    }

    /// The plugin's name.
    pub fn plugin(&self) -> &str {
        &self.plugin
    }

    /// The raw table.
    pub fn table(&self) -> &serde_json::Value {
        &self.table
    }

    /// Reads the table into the plugin's own config type.
    ///
    /// # Errors
    /// [`Error::Plugin`] naming the plugin and, in `reason`, the path of the offending key
    /// (`key `greeting.text`: invalid type: ...`).
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_path_to_error::deserialize(&self.table).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner();
            let reason = if path == "." {
                format!("in the table: {inner}")
            } else {
                format!("key `{path}`: {inner}")
            };
            Error::Plugin {
                plugin: self.plugin.clone(),
                reason,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only deserialized")]
    struct Config {
        greeting: Greeting,
        #[serde(default)]
        limit: u32,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only deserialized")]
    struct Greeting {
        text: String,
    }

    fn reason(table: serde_json::Value) -> String {
        match PluginConfig::new("welcome", table).deserialize::<Config>() {
            Err(Error::Plugin { plugin, reason }) => {
                assert_eq!(plugin, "welcome");
                reason
            }
            other => panic!("expected a plugin error, got {other:?}"),
        }
    }

    /// Pins that a bad plugin table is an error naming the plugin and the offending key path.
    #[test]
    fn config_errors_name_the_key() {
        let cases = [
            (
                serde_json::json!({ "greeting": { "text": 5 } }),
                "key `greeting.text`",
            ),
            (
                serde_json::json!({ "greeting": { "text": "hi" }, "limit": "many" }),
                "key `limit`",
            ),
            (
                serde_json::json!({ "greeting": { "txt": "hi" } }),
                "key `greeting.txt`",
            ),
            (serde_json::json!({}), "missing field `greeting`"),
        ];
        for (table, want) in cases {
            let got = reason(table.clone());
            assert!(got.contains(want), "{table}: {got}");
        }
    }

    /// Pins that a good table deserializes.
    #[test]
    fn config_reads_a_good_table() {
        let config = PluginConfig::new(
            "welcome",
            serde_json::json!({ "greeting": { "text": "hi" } }),
        );
        assert!(config.deserialize::<Config>().is_ok());
    }
}
