//! docs/plugins.md cannot drift: every ```toml block in it enables plugins that register
//! without error through the real plugin registry, every built-in plugin is documented, and the
//! registration order the page describes is the one the code uses.

use std::collections::BTreeSet;
use std::time::Duration;

use mpbot::api::{Bot, BotToken, Chat, ChatType, Message, Update, User};
use mpbot::config::Config;
use mpbot::framework::{
    Context, Delivered, Dispatcher, DispatcherOptions, Error as FrameworkError, MemorySource,
    Plugin, PluginConfig, Router, Shutdown,
};
use mpbot::plugins::PluginRegistry;
use serde::Deserialize;

mod doc_blocks;

use doc_blocks::toml_blocks;

const DOC: &str = include_str!("../../../docs/plugins.md");

/// The token for the `[bot]` table the test puts around each block.
fn fake_env(name: &str) -> Option<String> {
    (name == "MPCHAT_BOT_TOKEN").then(|| "123456:docs-token".to_owned())
}

/// A config made of a minimal `[bot]` table and `block`.
fn config_around(block: &str) -> Result<Config, mpbot::config::ConfigError> {
    let text = format!("[bot]\ntoken_env = \"MPCHAT_BOT_TOKEN\"\n\n{block}");
    Config::from_str_with_env(&text, "plugins.md", fake_env)
}

/// The `karma` plugin of the page's "Writing your own plugin" section (from
/// examples/custom_plugin.rs): its settings type is what the page's `[plugins.karma]` block
/// must fit.
#[derive(Debug)]
struct Karma;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KarmaSettings {
    #[serde(default = "one")]
    points: i64,
}

fn one() -> i64 {
    1
}

impl Plugin for Karma {
    fn name(&self) -> &'static str {
        "karma"
    }

    fn register(&self, router: &mut Router, config: &PluginConfig) -> Result<(), FrameworkError> {
        let settings: KarmaSettings = config.deserialize()?;
        let points = settings.points;
        router.on_message(move |_ctx: Context, _message: Message| async move {
            if points > 0 {
                Ok(())
            } else {
                Err("karma points must be positive")
            }
        });
        Ok(())
    }
}

/// The registry the page's examples assume: the built-ins plus the page's own `karma`.
fn registry() -> PluginRegistry {
    let mut registry = PluginRegistry::with_builtins();
    registry.register(Karma);
    registry
}

/// Every ```toml block of docs/plugins.md parses and each plugin it enables registers.
#[test]
fn every_toml_block_in_the_plugin_docs_registers() {
    let blocks = toml_blocks(DOC);
    assert!(blocks.len() >= 7, "expected one block per plugin and more");
    let registry = registry();
    for (line, block) in &blocks {
        let config = config_around(block)
            .unwrap_or_else(|e| panic!("docs/plugins.md block at line {line}: {e}"));
        assert!(
            !config.plugins.is_empty(),
            "docs/plugins.md block at line {line} enables no plugin"
        );
        let mut router = Router::new();
        registry
            .apply(&config, &mut router)
            .unwrap_or_else(|e| panic!("docs/plugins.md block at line {line}: {e}"));
        let mut registered: Vec<_> = router.plugins().iter().map(|p| p.name()).collect();
        let enabled: Vec<_> = config.plugins.iter().map(|p| p.name()).collect();
        // Registered in the file's order, enabled listed by name: the same set.
        registered.sort_unstable();
        assert_eq!(registered, enabled, "block at line {line}");
    }
}

/// Every built-in plugin has at least one ```toml block in docs/plugins.md.
#[test]
fn every_builtin_plugin_is_documented() {
    let documented: BTreeSet<String> = toml_blocks(DOC)
        .iter()
        .flat_map(|(_, block)| {
            config_around(block)
                .expect("checked by the other test")
                .plugins
                .iter()
                .map(|p| p.name().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    for name in PluginRegistry::with_builtins().names() {
        assert!(
            documented.contains(name),
            "docs/plugins.md has no ```toml block enabling `{name}`"
        );
    }
}

/// A key the plugin does not know, added to any block of the page, is refused: the check above
/// can fail, for every plugin the page shows.
#[test]
fn an_unknown_key_in_any_documented_block_is_refused() {
    let registry = registry();
    for (line, block) in toml_blocks(DOC) {
        let (header, rest) = block.split_once('\n').expect("a block has a header line");
        assert!(header.starts_with("[plugins."), "block at line {line}");
        let broken = format!("{header}\nno_such_key = 1\n{rest}");
        let config = config_around(&broken).expect("plugin tables are checked by the plugin");
        let error = registry
            .apply(&config, &mut Router::new())
            .expect_err("an unknown key must be refused");
        assert!(
            error.to_string().contains("no_such_key"),
            "block at line {line}: {error}"
        );
    }
}

/// A plugin that answers every plain message by recording its own name.
#[derive(Debug)]
struct Recorder {
    name: &'static str,
    seen: tokio::sync::mpsc::UnboundedSender<&'static str>,
}

impl Plugin for Recorder {
    fn name(&self) -> &'static str {
        self.name
    }

    fn register(&self, router: &mut Router, _config: &PluginConfig) -> Result<(), FrameworkError> {
        let (name, seen) = (self.name, self.seen.clone());
        router.on_message(move |_ctx: Context, _message: Message| {
            let seen = seen.clone();
            async move { seen.send(name).map_err(|e| e.to_string()) }
        });
        Ok(())
    }
}

/// As the page says: plugins register in the order of their tables in the file (not by name),
/// application handlers after them, and the first `on_message` handler takes the message.
#[tokio::test]
async fn first_plugin_in_the_file_takes_the_message_before_app_handlers() {
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let mut registry = PluginRegistry::empty();
    for name in ["zulu", "alpha"] {
        registry.register(Recorder {
            name,
            seen: seen_tx.clone(),
        });
    }
    let config = config_around("[plugins.zulu]\n\n[plugins.alpha]\n").unwrap();
    let mut router = Router::new();
    registry.apply(&config, &mut router).unwrap();
    let app_seen = seen_tx.clone();
    router.on_message(move |_ctx: Context, _message: Message| {
        let app_seen = app_seen.clone();
        async move { app_seen.send("app").map_err(|e| e.to_string()) }
    });

    let bot = Bot::builder(BotToken::new("1:test").unwrap())
        .api_url("http://127.0.0.1:9/bot")
        .build()
        .unwrap();
    let dispatcher = Dispatcher::new(bot, User::new(1), router, DispatcherOptions::new());
    let (source, handle) = MemorySource::new(false);
    let (trigger, shutdown) = Shutdown::new();
    let running = tokio::spawn(dispatcher.run(Box::new(source), shutdown));
    let message = Message {
        chat: Chat::new(7, ChatType::Private),
        text: Some("hi".into()),
        ..Message::default()
    };
    let guard = Duration::from_secs(10);
    let delivered = tokio::time::timeout(guard, handle.push(Update::with_message(1, message)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(delivered, Delivered::Accepted);
    assert_eq!(
        tokio::time::timeout(guard, seen.recv()).await.unwrap(),
        Some("zulu")
    );
    trigger.trigger();
    let report = tokio::time::timeout(guard, running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(report.stats.handled, 1);
    assert!(seen.try_recv().is_err(), "only one handler takes an update");
}
