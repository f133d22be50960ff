//! docs/configuration.md cannot drift: every ```toml block in it parses, and every environment
//! override is documented.

use std::path::Path;

use mpbot::config::{Config, DeliveryMode, ENV_OVERRIDES};

mod doc_blocks;

use doc_blocks::toml_blocks;

const DOC: &str = include_str!("../../../docs/configuration.md");

/// A fake environment: any variable the examples name holds a usable value; the `MPBOT_*`
/// overrides are unset.
fn fake_env(name: &str) -> Option<String> {
    if name.starts_with("MPBOT_") {
        None
    } else if name.contains("SECRET") {
        Some("docs-secret_value".to_owned())
    } else {
        Some("123456:docs-token".to_owned())
    }
}

/// Every ```toml example in docs/configuration.md parses into a Config.
#[test]
fn every_toml_example_in_the_docs_parses() {
    // Relative paths in the examples resolve against tests/data (which holds the secret file
    // the own-TLS example names).
    let origin = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/configuration.md");
    let blocks = toml_blocks(DOC);
    assert!(
        blocks.len() >= 4,
        "expected the full example and three small ones"
    );
    let mut modes = Vec::new();
    for (line, text) in &blocks {
        let config = Config::from_str_with_env(text, &origin, fake_env)
            .unwrap_or_else(|e| panic!("docs/configuration.md block at line {line}: {e}"));
        modes.push(config.mode());
    }
    assert!(modes.contains(&DeliveryMode::Polling));
    assert!(modes.contains(&DeliveryMode::Webhook));
}

/// The full example, switched to webhook mode by its mode line alone, still parses.
#[test]
fn the_full_example_switches_with_one_line() {
    let (_, full) = &toml_blocks(DOC)[0];
    assert!(full.contains("mode = \"polling\""));
    let switched = full.replacen("mode = \"polling\"", "mode = \"webhook\"", 1);
    let config = Config::from_str_with_env(&switched, "bot.toml", fake_env).unwrap();
    assert_eq!(config.mode(), DeliveryMode::Webhook);
}

/// Every environment override appears in the docs next to the key it replaces.
#[test]
fn every_env_override_is_documented() {
    for (var, key) in ENV_OVERRIDES {
        let row = format!("| `{var}` | `{key}` |");
        assert!(
            DOC.contains(&row),
            "docs/configuration.md lacks the row {row}"
        );
    }
}
