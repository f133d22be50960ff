//! `[plugins.NAME]` tables, kept as JSON values until the plugin that owns them reads them.

use std::collections::BTreeMap;

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
    /// Location of every key inside the table, by path relative to it (`text`,
    /// `commands[0].reply`).
    keys: BTreeMap<String, Location>,
}

impl PluginSection {
    pub(crate) fn new(
        name: String,
        table: serde_json::Value,
        location: Location,
        keys: BTreeMap<String, Location>,
    ) -> Self {
        Self {
            name,
            table,
            location,
            keys,
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
    /// A [`ConfigErrorKind::Plugin`] error when the table does not fit `T` (a wrong type, a
    /// missing field, an unknown field when `T` denies them, ...). It names the offending key
    /// (`plugins.NAME.key`) and its line when the key is in the file, else the table's header.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        serde_path_to_error::deserialize(&self.table).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let sub = (path != ".").then_some(path.as_str());
            self.error_at(
                sub,
                format!("invalid settings for plugin `{}`: {inner}", self.name),
            )
            .with_source(inner)
        })
    }

    /// An error about this table, at its header (for a plugin's own checks).
    pub fn error(&self, message: impl Into<String>) -> ConfigError {
        self.error_at(None, message)
    }

    /// An error about the key `sub_key` of this table (a path relative to it, such as `text`
    /// or `commands[0].reply`), at that key's line when the file has it, else at the header.
    pub fn error_at(&self, sub_key: Option<&str>, message: impl Into<String>) -> ConfigError {
        let (location, key) = match sub_key {
            Some(sub) => (
                self.location_of(sub),
                format!("plugins.{}.{sub}", self.name),
            ),
            None => (self.location.clone(), self.key()),
        };
        ConfigError::new(ConfigErrorKind::Plugin, location, Some(key), message)
    }

    /// Where `sub_key` (or, failing that, its closest enclosing key) is in the file.
    fn location_of(&self, sub_key: &str) -> Location {
        let mut path = sub_key;
        loop {
            if let Some(loc) = self.keys.get(path) {
                return loc.clone();
            }
            match path.rfind(['.', '[']) {
                Some(i) => path = &path[..i],
                None => return self.location.clone(),
            }
        }
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
