//! `[plugins.NAME]` tables, kept as JSON values until the plugin that owns them reads them.

use serde::de::DeserializeOwned;

use super::doc::suggest;
use super::error::{ConfigError, ConfigErrorKind, Location};

/// One `[plugins.NAME]` table: the plugin's name, its table converted to a JSON value (a TOML
/// datetime becomes its RFC 3339 string), and where the table is, so an error found later by
/// the plugin can still name the file, line and key.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginSection {
    name: String,
    table: serde_json::Value,
    location: Location,
}

impl PluginSection {
    pub(crate) fn new(name: String, table: serde_json::Value, location: Location) -> Self {
        Self {
            name,
            table,
            location,
        }
    }

    /// The `NAME` of `[plugins.NAME]`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The table, as a JSON object.
    pub fn table(&self) -> &serde_json::Value {
        &self.table
    }

    /// Where the table starts (its `[plugins.NAME]` header).
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The dotted key of the table, `plugins.NAME`.
    pub fn key(&self) -> String {
        format!("plugins.{}", self.name)
    }

    /// Deserializes the table into the plugin's own settings type.
    ///
    /// # Errors
    /// A [`ConfigErrorKind::Plugin`] error naming the table's location and key when the table
    /// does not fit `T` (an unknown field when `T` denies them, a wrong type, ...).
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        T::deserialize(&self.table).map_err(|e| {
            self.error(format!("invalid settings for plugin `{}`: {e}", self.name))
                .with_source(e)
        })
    }

    /// An error about this table, at its location (for a plugin's own checks).
    pub fn error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError::new(
            ConfigErrorKind::Plugin,
            self.location.clone(),
            Some(self.key()),
            message,
        )
    }

    /// The error for a table whose plugin the application did not register: it lists the known
    /// plugins and suggests the closest name.
    pub fn unknown_plugin_error(&self, known: &[&str]) -> ConfigError {
        let mut message = format!("unknown plugin `{}`", self.name);
        if let Some(best) = suggest(&self.name, known) {
            message.push_str(&format!("; did you mean `{best}`?"));
        }
        if known.is_empty() {
            message.push_str(" (no plugins are registered)");
        } else {
            message.push_str(&format!(" (known plugins: {})", known.join(", ")));
        }
        ConfigError::new(
            ConfigErrorKind::UnknownPlugin,
            self.location.clone(),
            Some(self.key()),
            message,
        )
    }
}

/// Converts a TOML value to JSON; `None` for a float JSON cannot hold (NaN, infinity).
pub(crate) fn to_json(value: &toml::Value) -> Option<serde_json::Value> {
    Some(match value {
        toml::Value::String(s) => serde_json::Value::String(s.clone()),
        toml::Value::Integer(i) => serde_json::Value::from(*i),
        toml::Value::Float(f) => serde_json::Value::Number(serde_json::Number::from_f64(*f)?),
        toml::Value::Boolean(b) => serde_json::Value::Bool(*b),
        toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
        toml::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(to_json).collect::<Option<_>>()?)
        }
        toml::Value::Table(table) => table_to_json(table)?,
    })
}

/// Converts a TOML table to a JSON object.
pub(crate) fn table_to_json(table: &toml::Table) -> Option<serde_json::Value> {
    let mut map = serde_json::Map::new();
    for (k, v) in table {
        map.insert(k.clone(), to_json(v)?);
    }
    Some(serde_json::Value::Object(map))
}
