//! The application's plugin types, enabled by name from `[plugins.NAME]` tables.

use std::collections::BTreeMap;
use std::sync::Arc;

use mpbot_core::{Error as CoreError, Plugin, PluginConfig, Router};

use super::{Commands, Echo, Farewell, Pins, Welcome};
use crate::config::{Config, ConfigError, Location};

/// The plugin types an application knows, by name.
///
/// A plugin type does nothing until the config enables it: each `[plugins.NAME]` table enables
/// the plugin called `NAME` with that table as its settings. A table naming a plugin the
/// registry does not know is an error that lists the known names.
#[derive(Clone)]
pub struct PluginRegistry {
    plugins: BTreeMap<&'static str, Arc<dyn Plugin>>,
}

impl std::fmt::Debug for PluginRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.plugins.keys()).finish()
    }
}

impl Default for PluginRegistry {
    fn default() -> Self {
        Self::with_builtins()
    }
}

impl PluginRegistry {
    /// A registry with no plugin types at all.
    pub fn empty() -> Self {
        Self {
            plugins: BTreeMap::new(),
        }
    }

    /// A registry with the built-in plugins: echo, welcome, farewell, pins, commands.
    pub fn with_builtins() -> Self {
        let mut registry = Self::empty();
        registry.register(Echo);
        registry.register(Welcome);
        registry.register(Farewell);
        registry.register(Pins);
        registry.register(Commands::new());
        registry
    }

    /// Adds a plugin type. A later one with the same name replaces the earlier (so an
    /// application can swap a built-in for its own).
    pub fn register(&mut self, plugin: impl Plugin) -> &mut Self {
        let plugin: Arc<dyn Plugin> = Arc::new(plugin);
        self.plugins.insert(plugin.name(), plugin);
        self
    }

    /// The names of the known plugin types, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        self.plugins.keys().copied().collect()
    }

    /// Registers every plugin `config` enables into `router`, in the file's order.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the file and line of the `[plugins.NAME]` table: an unknown
    /// plugin name (listing the known ones), or what the plugin found wrong in its table.
    pub fn apply(&self, config: &Config, router: &mut Router) -> Result<(), ConfigError> {
        // NB: the first handler registered for a kind takes the update, so the order is the
        // file's (what a reader of the TOML expects), not the config's by-name order.
        let mut sections: Vec<_> = config.plugins.iter().collect();
        sections.sort_by_key(|section| match section.location() {
            Location::File { line, column, .. } => (*line, *column),
            _ => (usize::MAX, 0),
        });
        for section in sections {
            let Some(plugin) = self.plugins.get(section.name()) else {
                return Err(section.unknown_plugin_error(&self.names()));
            };
            let plugin_config = PluginConfig::new(section.name(), section.table().clone());
            router
                .plugin(Arc::clone(plugin), &plugin_config)
                .map_err(|error| match error {
                    // Core names the key as "key `path`: ..."; point the error at that key's line.
                    CoreError::Plugin { reason, .. } => {
                        section.error_at(key_of(&reason), reason.clone())
                    }
                    other => section.error(other.to_string()),
                })?;
        }
        Ok(())
    }
}

/// The key a plugin error names, from core's "key `path`: reason" form.
fn key_of(reason: &str) -> Option<&str> {
    let rest = reason.strip_prefix("key `")?;
    rest.split_once('`').map(|(key, _)| key)
}
