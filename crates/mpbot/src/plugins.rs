//! The built-in plugins and the registry that enables plugins from `[plugins.NAME]` tables.
//!
//! | name | handles | TOML |
//! |---|---|---|
//! | [`echo`](Echo) | text messages | `prefix` (default `""`) |
//! | [`welcome`](Welcome) | members joining | `text` (default `"Welcome, {first_name}!"`) |
//! | [`farewell`](Farewell) | members leaving | `text` (default `"Goodbye, {first_name}."`) |
//! | [`pins`](Pins) | pinned messages | `text` (default `"{first_name} pinned: {text}"`) |
//! | [`commands`](Commands) | `/name` commands | `commands = [{ name, reply, description }]`, `help`, `publish` |
//!
//! Templates may use `{first_name}`, `{last_name}`, `{username}`, `{name}` (full name) and
//! `{chat_title}`; `pins` also `{text}` (the pinned message's text). An unknown placeholder is a
//! start-up error naming the plugin and the key.

mod commands;
mod greetings;
mod registry;
mod template;

pub use commands::Commands;
pub use greetings::{Echo, Farewell, Pins, Welcome};
pub use registry::PluginRegistry;
