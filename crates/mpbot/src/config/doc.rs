//! The parsed document with its spans: where every key sits (for error locations), the check
//! for unknown keys and inline secrets (with "did you mean"), and the translation of the toml
//! crate's errors into [`ConfigError`]s.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{ConfigError, ConfigErrorKind, Location};
use super::raw::keys_of_table;

/// Every table path with a fixed set of keys, to tell the user where a misplaced key belongs.
const SCHEMA_TABLES: &[&str] = &[
    "",
    "bot",
    "delivery",
    "delivery.polling",
    "delivery.webhook",
    "delivery.webhook.tls",
    "delivery.journal",
    "runtime",
    "admin",
    "log",
];

/// Key names that hold a secret when written inline. Refused wherever they appear outside the
/// plugins' own tables.
const INLINE_SECRET_KEYS: &[&str] = &[
    "token",
    "bot_token",
    "api_token",
    "secret",
    "secret_token",
    "webhook_secret",
    "password",
];

/// A parsed document: positions of every key, by dotted path.
#[derive(Debug)]
pub(crate) struct Doc {
    origin: PathBuf,
    text: String,
    /// Dotted path → span: a table's key (its header), any other value's value.
    spans: BTreeMap<String, Range<usize>>,
}

impl Doc {
    /// Parses `text`, records where each key is, and refuses unknown keys and inline secrets.
    pub(crate) fn parse(text: &str, origin: &Path) -> Result<Self, ConfigError> {
        let mut doc = Self {
            origin: origin.to_path_buf(),
            text: text.to_owned(),
            spans: BTreeMap::new(),
        };
        let root = DeTable::parse(text).map_err(|e| {
            ConfigError::new(
                ConfigErrorKind::Syntax,
                doc.loc_of(e.span()),
                None,
                format!("invalid TOML: {}", e.message().trim_end()),
            )
        })?;
        let mut problems = Vec::new();
        doc.walk(root.get_ref(), "", &mut problems);
        // Report the first problem in file order, whatever the table iteration order was.
        match problems.into_iter().min_by_key(|(start, _)| *start) {
            Some((_, err)) => Err(err),
            None => Ok(doc),
        }
    }

    fn walk(&mut self, table: &DeTable<'_>, path: &str, problems: &mut Vec<(usize, ConfigError)>) {
        let valid = if path.starts_with("plugins") {
            None
        } else {
            keys_of_table(path)
        };
        for (key, value) in table.iter() {
            let name: &str = key.get_ref();
            let child = join(path, name);
            if let Some(valid) = valid
                && !valid.contains(&name)
            {
                let err = self.bad_key(key, path, &child, valid);
                problems.push((key.span().start, err));
                continue;
            }
            self.record(&child, key, value, problems);
        }
    }

    fn record(
        &mut self,
        path: &str,
        key: &Spanned<std::borrow::Cow<'_, str>>,
        value: &Spanned<DeValue<'_>>,
        problems: &mut Vec<(usize, ConfigError)>,
    ) {
        match value.get_ref() {
            DeValue::Table(inner) => {
                self.spans.insert(path.to_owned(), key.span());
                self.walk(inner, path, problems);
            }
            DeValue::Array(items) => {
                self.spans.insert(path.to_owned(), value.span());
                for (i, item) in items.iter().enumerate() {
                    self.spans.insert(format!("{path}[{i}]"), item.span());
                    if let DeValue::Table(inner) = item.get_ref() {
                        // Only plugin tables may hold arrays of tables; their keys are free.
                        self.walk(inner, &format!("{path}[{i}]"), problems);
                    }
                }
            }
            _ => {
                self.spans.insert(path.to_owned(), value.span());
            }
        }
    }

    fn bad_key(
        &self,
        key: &Spanned<std::borrow::Cow<'_, str>>,
        table: &str,
        path: &str,
        valid: &[&str],
    ) -> ConfigError {
        let name: &str = key.get_ref();
        let loc = self.loc_of(Some(key.span()));
        if INLINE_SECRET_KEYS.contains(&name) {
            // Never quote the value: it is the secret.
            let how = if name.contains("secret") || table.starts_with("delivery") {
                "the webhook secret comes from the environment variable named by \
                 `delivery.webhook.secret_token_env` or the file named by \
                 `delivery.webhook.secret_token_file`"
            } else {
                "the bot token comes from the environment variable named by `bot.token_env` \
                 (default MPCHAT_BOT_TOKEN) or the file named by `bot.token_file`"
            };
            return ConfigError::new(
                ConfigErrorKind::InlineSecret,
                loc,
                Some(path.to_owned()),
                format!(
                    "a secret written in the config file is refused: {how}, so the file can be \
                     committed and shared without leaking it. Remove this line (and rotate the \
                     secret if the file was ever shared)"
                ),
            );
        }
        let table_name = if table.is_empty() {
            "the top level".to_owned()
        } else {
            format!("[{table}]")
        };
        let mut message = format!("unknown key `{name}` in {table_name}");
        if let Some(best) = suggest(name, valid) {
            message.push_str(&format!("; did you mean `{best}`?"));
        } else if let Some(home) = SCHEMA_TABLES
            .iter()
            .find(|t| **t != table && keys_of_table(t).is_some_and(|keys| keys.contains(&name)))
        {
            message.push_str(&format!("; `{name}` belongs in [{home}]"));
        }
        message.push_str(&format!(" (valid keys: {})", valid.join(", ")));
        ConfigError::new(
            ConfigErrorKind::UnknownKey,
            loc,
            Some(path.to_owned()),
            message,
        )
    }

    /// The location of a byte span, or the whole file when there is none.
    pub(crate) fn loc_of(&self, span: Option<Range<usize>>) -> Location {
        let Some(span) = span else {
            return Location::WholeFile {
                path: self.origin.clone(),
            };
        };
        let start = span.start.min(self.text.len());
        let before = self.text.get(..start).unwrap_or(&self.text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Location::File {
            path: self.origin.clone(),
            line,
            column,
        }
    }

    /// The location of the key at `path` (its value; a table's header), or the whole file
    /// when the key is absent.
    pub(crate) fn loc(&self, path: &str) -> Location {
        self.loc_of(self.spans.get(path).cloned())
    }

    /// The location of every key below `prefix` (a table path), keyed by its path relative to
    /// that table.
    pub(crate) fn locations_under(&self, prefix: &str) -> BTreeMap<String, Location> {
        let dotted = format!("{prefix}.");
        self.spans
            .range(dotted.clone()..)
            .take_while(|(path, _)| path.starts_with(&dotted))
            .map(|(path, span)| {
                (
                    path[dotted.len()..].to_owned(),
                    self.loc_of(Some(span.clone())),
                )
            })
            .collect()
    }

    /// Whether the file sets the key at `path`.
    pub(crate) fn has(&self, path: &str) -> bool {
        self.spans.contains_key(path)
    }

    /// The most specific key whose span holds `offset` (for errors that only carry a span).
    fn path_at(&self, offset: usize) -> Option<String> {
        self.spans
            .iter()
            .filter(|(_, span)| span.start <= offset && offset < span.end.max(span.start + 1))
            .min_by_key(|(_, span)| span.end - span.start)
            .map(|(path, _)| path.clone())
    }

    /// Translates an error from deserializing the raw layer.
    pub(crate) fn serde_error(&self, err: &toml::de::Error) -> ConfigError {
        let span = err.span();
        let key = span.as_ref().and_then(|s| self.path_at(s.start));
        let message = err.message().trim_end();
        let kind = if message.starts_with("missing field") {
            ConfigErrorKind::MissingKey
        } else if message.starts_with("unknown field") {
            ConfigErrorKind::UnknownKey
        } else {
            ConfigErrorKind::WrongType
        };
        ConfigError::new(kind, self.loc_of(span), key, describe_type_error(message))
    }
}

/// Rewords serde's "invalid type: string \"x\", expected i64" for a config reader:
/// "wrong type: expected an integer, found string \"x\"".
fn describe_type_error(message: &str) -> String {
    let Some(rest) = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
    else {
        return message.to_owned();
    };
    let Some((found, expected)) = rest.rsplit_once(", expected ") else {
        return format!("wrong type: {rest}");
    };
    let expected = match expected {
        "i64" | "u64" | "i32" | "u32" => "an integer",
        "a sequence" => "an array",
        "a map" => "a table",
        e if e.starts_with("struct ") => "a table",
        "a boolean" => "a boolean (true or false)",
        e => e,
    };
    format!("wrong type: expected {expected}, found {found}")
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// The valid key closest to `name`, if any is close enough to be a likely typo.
pub(crate) fn suggest<'a>(name: &str, valid: &[&'a str]) -> Option<&'a str> {
    valid
        .iter()
        .map(|v| (strsim::jaro_winkler(name, v), *v))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFERENCE: &str = include_str!("../../../../docs/configuration.md");

    /// Every key of every fixed table has a row in docs/configuration.md.
    #[test]
    fn every_key_is_documented() {
        for table in SCHEMA_TABLES.iter().filter(|t| !t.is_empty()) {
            for key in keys_of_table(table).unwrap() {
                let path = format!("{table}.{key}");
                if SCHEMA_TABLES.contains(&path.as_str()) {
                    continue; // a sub-table: its keys are checked in turn
                }
                let row = format!("| `{path}` |");
                assert!(REFERENCE.contains(&row), "docs lack the row {row}");
            }
        }
    }

    /// The valid keys come from the serde structs themselves.
    #[test]
    fn valid_keys_are_read_from_the_raw_structs() {
        assert_eq!(
            keys_of_table("delivery.polling").unwrap(),
            ["timeout_secs", "limit", "conflict_overlap_secs"]
        );
        assert_eq!(
            keys_of_table("").unwrap(),
            ["bot", "delivery", "runtime", "admin", "log", "plugins"]
        );
        assert!(keys_of_table("plugins").is_none());
    }

    /// Lines are 1-based; columns count characters, not bytes.
    #[test]
    fn location_counts_lines_and_characters() {
        let text = "a = 1\n# é é\nb = 2\n";
        let doc = Doc::parse(text, Path::new("x.toml"));
        // The keys are unknown at the top level, so parsing reports `a` at 1:1.
        let err = doc.unwrap_err();
        assert_eq!((err.line(), err.column()), (Some(1), Some(1)));
        let doc = Doc {
            origin: "x.toml".into(),
            text: text.to_owned(),
            spans: BTreeMap::new(),
        };
        let offset = text.find("é é").unwrap() + "é ".len();
        let Location::File { line, column, .. } = doc.loc_of(Some(offset..offset + 1)) else {
            panic!("file location expected")
        };
        assert_eq!((line, column), (2, 5));
        assert_eq!(
            doc.loc_of(None),
            Location::WholeFile {
                path: "x.toml".into()
            }
        );
    }

    /// Suggestions only for likely typos.
    #[test]
    fn suggestions_are_close_matches_only() {
        let valid = ["timeout_secs", "limit", "conflict_overlap_secs"];
        assert_eq!(suggest("timout_secs", &valid), Some("timeout_secs"));
        assert_eq!(suggest("limt", &valid), Some("limit"));
        assert_eq!(suggest("colour", &valid), None);
    }

    /// Among spans holding an offset, the innermost key wins.
    #[test]
    fn path_at_picks_the_innermost_key() {
        let text = "[delivery]\nallowed_updates = [\"message\", 3]\n";
        let doc = Doc::parse(text, Path::new("x.toml")).unwrap();
        let offset = text.find('3').unwrap();
        assert_eq!(
            doc.path_at(offset).as_deref(),
            Some("delivery.allowed_updates[1]")
        );
    }
}
