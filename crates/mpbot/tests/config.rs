//! The TOML configuration: located errors, defaults, the one-line mode switch, environment
//! overrides, relative paths and secret masking.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use mpbot::config::{
    AckPolicy, Config, ConfigError, ConfigErrorKind, DeliveryMode, Location, LogFormat, OnStop,
    RegisterPolicy, SecretSource, SourceSettings, defaults,
};

const TOKEN: &str = "123456:TOPSECRET-token-value";
const WEBHOOK_SECRET: &str = "webhook-secret-abc_123";

/// An environment holding the bot token, the webhook secret and `extra`.
fn env(extra: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let mut map: HashMap<String, String> = HashMap::new();
    map.insert("MPCHAT_BOT_TOKEN".into(), TOKEN.into());
    map.insert("MPCHAT_WEBHOOK_SECRET".into(), WEBHOOK_SECRET.into());
    for (k, v) in extra {
        map.insert((*k).into(), (*v).into());
    }
    move |name: &str| map.get(name).cloned()
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_str_with_env(text, "bot.toml", env(&[]))
}

fn parse_err(text: &str) -> ConfigError {
    match parse(text) {
        Ok(c) => panic!("expected an error, got {c}"),
        Err(e) => e,
    }
}

/// Asserts the error points at `bot.toml`, `line`, and `key`, and that its Display says so.
#[track_caller]
fn assert_at(err: &ConfigError, line: usize, key: &str) {
    let shown = err.to_string();
    assert_eq!(err.file(), Some(Path::new("bot.toml")), "{shown}");
    assert_eq!(err.line(), Some(line), "{shown}");
    assert_eq!(err.key(), Some(key), "{shown}");
    let col = err.column().expect("a column");
    assert!(
        shown.starts_with(&format!("bot.toml:{line}:{col}: ")),
        "{shown}"
    );
    assert!(shown.contains(&format!("`{key}`")), "{shown}");
    assert!(
        !shown.contains(TOKEN) && !shown.contains(WEBHOOK_SECRET),
        "{shown}"
    );
}

const WEBHOOK: &str = r#"
[delivery]
mode = "webhook"

[delivery.webhook]
public_url = "https://bot.example.com/mp-bot/webhook"
secret_token_env = "MPCHAT_WEBHOOK_SECRET"
"#;

/// A misspelt key is refused with its line and column, and the closest valid key suggested.
#[test]
fn typo_in_key_is_refused_with_a_suggestion() {
    let err = parse_err("[delivery.polling]\nlimit = 5\ntimout_secs = 10\n");
    assert_eq!(err.kind(), ConfigErrorKind::UnknownKey);
    assert_at(&err, 3, "delivery.polling.timout_secs");
    assert_eq!(err.column(), Some(1));
    assert!(
        err.to_string().contains("did you mean `timeout_secs`?"),
        "{err}"
    );
}

/// A valid key in the wrong table is refused with the table it belongs in.
#[test]
fn misplaced_key_names_the_table_it_belongs_in() {
    let err = parse_err("[delivery]\nmax_concurrency = 8\n");
    assert_eq!(err.kind(), ConfigErrorKind::UnknownKey);
    assert_at(&err, 2, "delivery.max_concurrency");
    assert!(err.to_string().contains("belongs in [runtime]"), "{err}");
}

/// An unknown top-level table is refused too.
#[test]
fn unknown_table_is_refused() {
    let err = parse_err("[bot]\n\n[deliverry]\nmode = \"polling\"\n");
    assert_eq!(err.kind(), ConfigErrorKind::UnknownKey);
    assert_at(&err, 3, "deliverry");
    assert!(
        err.to_string().contains("did you mean `delivery`?"),
        "{err}"
    );
}

/// A string where an integer belongs is a wrong-type error at the value.
#[test]
fn wrong_type_names_line_and_key() {
    let err = parse_err("[delivery.polling]\ntimeout_secs = \"30\"\n");
    assert_eq!(err.kind(), ConfigErrorKind::WrongType);
    assert_at(&err, 2, "delivery.polling.timeout_secs");
    assert_eq!(err.column(), Some(16));
    assert!(err.to_string().contains("expected an integer"), "{err}");
}

/// A number outside its documented range is refused with the range.
#[test]
fn out_of_range_names_line_key_and_range() {
    let err = parse_err("\n[delivery.polling]\ntimeout_secs = 80\n");
    assert_eq!(err.kind(), ConfigErrorKind::OutOfRange);
    assert_at(&err, 3, "delivery.polling.timeout_secs");
    assert!(err.to_string().contains("expected 0 to 50"), "{err}");
    let err = parse_err("[delivery.polling]\nlimit = 0\n");
    assert_at(&err, 2, "delivery.polling.limit");
    let err = parse_err("[runtime]\nmax_concurrency = -1\n");
    assert_eq!(err.kind(), ConfigErrorKind::OutOfRange);
    assert_at(&err, 2, "runtime.max_concurrency");
}

/// An inline bot token is refused with an explanation, and the value is never echoed.
#[test]
fn inline_token_is_refused_without_echoing_it() {
    let text = format!("[bot]\napi_url = \"https://call.mp.net/bot\"\ntoken = \"{TOKEN}\"\n");
    let err = parse_err(&text);
    assert_eq!(err.kind(), ConfigErrorKind::InlineSecret);
    assert_at(&err, 3, "bot.token");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("TOPSECRET"), "{shown}");
    assert!(
        shown.contains("token_env") && shown.contains("token_file"),
        "{shown}"
    );
}

/// An inline webhook secret is refused and points at secret_token_env / secret_token_file.
#[test]
fn inline_webhook_secret_is_refused() {
    let text = format!("{WEBHOOK}secret_token = \"{WEBHOOK_SECRET}\"\n");
    let err = parse_err(&text);
    assert_eq!(err.kind(), ConfigErrorKind::InlineSecret);
    assert_at(&err, 8, "delivery.webhook.secret_token");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(WEBHOOK_SECRET), "{shown}");
    assert!(shown.contains("secret_token_env"), "{shown}");
}

/// A token pasted into `token_env` is refused without echoing it.
#[test]
fn token_pasted_into_token_env_is_not_echoed() {
    let err = parse_err(&format!("[bot]\ntoken_env = \"{TOKEN}\"\n"));
    assert_eq!(err.kind(), ConfigErrorKind::InvalidValue);
    assert_at(&err, 2, "bot.token_env");
}

/// A token embedded in api_url is refused without echoing it.
#[test]
fn token_in_api_url_is_refused() {
    let err = parse_err(&format!(
        "[bot]\napi_url = \"https://call.mp.net/bot{TOKEN}\"\n"
    ));
    assert_eq!(err.kind(), ConfigErrorKind::InlineSecret);
    assert_at(&err, 2, "bot.api_url");
}

/// An unset token variable is named (with the key that names it), never its value.
#[test]
fn missing_token_env_var_names_the_variable() {
    let text = "[bot]\ntoken_env = \"MY_BOT_TOKEN\"\n";
    let err = Config::from_str_with_env(text, "bot.toml", |_| None).unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::MissingSecret);
    assert_at(&err, 2, "bot.token_env");
    assert!(err.to_string().contains("MY_BOT_TOKEN is not set"), "{err}");

    // With no [bot] at all the default variable is named, against the whole file.
    let err = Config::from_str_with_env("", "bot.toml", |_| None).unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::MissingSecret);
    assert!(err.to_string().contains("MPCHAT_BOT_TOKEN"), "{err}");
    assert_eq!(
        err.location(),
        &Location::WholeFile {
            path: "bot.toml".into()
        }
    );
}

/// An unset webhook secret variable is named, at its key.
#[test]
fn missing_webhook_secret_var_names_the_variable() {
    let text = WEBHOOK.replace("MPCHAT_WEBHOOK_SECRET", "OTHER_SECRET");
    let err = parse_err(&text);
    assert_eq!(err.kind(), ConfigErrorKind::MissingSecret);
    assert_at(&err, 7, "delivery.webhook.secret_token_env");
    assert!(err.to_string().contains("OTHER_SECRET"), "{err}");
}

/// A webhook without any secret is refused unless explicitly allowed (then warned about).
#[test]
fn webhook_secret_is_required_unless_allowed() {
    let text = WEBHOOK.replace("secret_token_env = \"MPCHAT_WEBHOOK_SECRET\"\n", "");
    let err = parse_err(&text);
    assert_eq!(err.kind(), ConfigErrorKind::MissingKey);
    assert_at(&err, 5, "delivery.webhook.secret_token_env");
    let allowed = parse(&format!("{text}allow_missing_secret = true\n")).unwrap();
    let SourceSettings::Webhook(w) = &allowed.delivery.source else {
        panic!("webhook expected")
    };
    assert!(w.secret.is_none());
    assert!(allowed.warnings().iter().any(|w| w.contains("no secret")));
}

/// An enum value outside its set is refused with the valid values listed.
#[test]
fn unknown_enum_value_lists_the_valid_ones() {
    let err = parse_err("[delivery]\nmode = \"webhok\"\n");
    assert_eq!(err.kind(), ConfigErrorKind::UnknownValue);
    assert_at(&err, 2, "delivery.mode");
    assert!(err.to_string().contains(r#""polling", "webhook""#), "{err}");
    let err = parse_err("[delivery]\nack = \"later\"\n");
    assert_at(&err, 2, "delivery.ack");
    assert!(
        err.to_string()
            .contains(r#""handled", "received", "stored""#),
        "{err}"
    );
    let err = parse_err(&format!("{WEBHOOK}register = \"always\"\n"));
    assert_at(&err, 8, "delivery.webhook.register");
}

/// Webhook mode without public_url points at the webhook table (or the mode line).
#[test]
fn missing_public_url_in_webhook_mode_is_located() {
    let text = WEBHOOK.replace(
        "public_url = \"https://bot.example.com/mp-bot/webhook\"\n",
        "",
    );
    let err = parse_err(&text);
    assert_eq!(err.kind(), ConfigErrorKind::MissingKey);
    assert_at(&err, 5, "delivery.webhook.public_url");
    let err = parse_err("[delivery]\nmode = \"webhook\"\n");
    assert_at(&err, 2, "delivery.webhook.public_url");
}

/// A plain-http public_url is refused (MPChat delivers only to HTTPS).
#[test]
fn http_public_url_is_refused() {
    let text = WEBHOOK.replace("https://bot", "http://bot");
    let err = parse_err(&text);
    assert_eq!(err.kind(), ConfigErrorKind::InvalidValue);
    assert_at(&err, 6, "delivery.webhook.public_url");
    assert!(err.to_string().contains("https://"), "{err}");
}

/// Invalid TOML is a syntax error with its line.
#[test]
fn syntax_error_names_the_line() {
    let err = parse_err("[bot]\napi_url = \"unterminated\n");
    assert_eq!(err.kind(), ConfigErrorKind::Syntax);
    assert_eq!(err.line(), Some(2), "{err}");
    assert!(err.to_string().starts_with("bot.toml:2:"), "{err}");
}

/// The admin listener may not share the webhook's address.
#[test]
fn admin_listener_on_webhook_address_is_refused() {
    let text =
        format!("{WEBHOOK}listen = \"0.0.0.0:8443\"\n\n[admin]\nlisten = \"127.0.0.1:8443\"\n");
    let err = parse_err(&text);
    assert_eq!(err.kind(), ConfigErrorKind::Conflict);
    assert_at(&err, 11, "admin.listen");
    let ok = parse(&format!(
        "{WEBHOOK}\n[admin]\nlisten = \"127.0.0.1:9090\"\n"
    ))
    .unwrap();
    assert_eq!(ok.admin.listen, Some("127.0.0.1:9090".parse().unwrap()));
}

/// A minimal file yields every documented default.
#[test]
fn defaults_table() {
    let c = parse("").unwrap();
    assert_eq!(c.bot.api_url, defaults::API_URL);
    assert_eq!(c.bot.token.expose(), TOKEN);
    assert_eq!(
        c.bot.token_source,
        SecretSource::Env("MPCHAT_BOT_TOKEN".into())
    );
    assert_eq!(c.bot.expect_username, None);
    assert_eq!(c.mode(), DeliveryMode::Polling);
    assert_eq!(c.delivery.ack, AckPolicy::Handled);
    assert_eq!(c.delivery.allowed_updates, None);
    assert_eq!(c.delivery.journal, None);
    let SourceSettings::Polling(p) = &c.delivery.source else {
        panic!("polling expected")
    };
    assert_eq!(p.timeout, Duration::from_secs(30));
    assert_eq!(p.limit, 100);
    assert_eq!(p.conflict_overlap, Duration::from_secs(30));
    assert_eq!(c.runtime.max_concurrency, 64);
    assert_eq!(c.runtime.queue_bound, defaults::QUEUE_BOUND);
    assert_eq!(c.runtime.shutdown_grace, Duration::from_secs(10));
    assert_eq!(c.admin.listen, None);
    assert_eq!(c.log.format, LogFormat::Text);
    assert_eq!(c.log.level, "info");
    assert!(c.plugins.is_empty());
    assert!(c.warnings().is_empty(), "{:?}", c.warnings());

    let c = parse(WEBHOOK).unwrap();
    let SourceSettings::Webhook(w) = &c.delivery.source else {
        panic!("webhook expected")
    };
    assert_eq!(w.listen, "0.0.0.0:8443".parse::<SocketAddr>().unwrap());
    assert_eq!(w.path, "/mp-bot/webhook");
    assert_eq!(w.secret.as_ref().unwrap().expose(), WEBHOOK_SECRET);
    assert_eq!(w.max_connections, 40);
    assert_eq!(w.tls, None);
    assert_eq!(w.register, RegisterPolicy::Verify);
    assert_eq!(w.on_stop, OnStop::Keep);
    assert_eq!(w.max_body_bytes, 1024 * 1024);
    assert_eq!(w.ack_deadline, None);
    assert_eq!(w.header_read_timeout, Duration::from_secs(10));
    assert_eq!(w.body_read_timeout, Duration::from_secs(30));
    assert_eq!(w.idle_timeout, Duration::from_secs(60));
    assert_eq!(w.max_open_connections, 1024);

    let c = parse("[delivery]\nack = \"stored\"\n").unwrap();
    let j = c.delivery.journal.unwrap();
    assert_eq!(j.path, Path::new("mpbot-journal"));
    assert_eq!(j.retention, Duration::from_secs(86_400));
}

const SWITCH: &str = r#"
[bot]
api_url = "http://127.0.0.1:8081/bot"
expect_username = "@my_mpbot"

[delivery]
mode = "polling"
allowed_updates = ["message", "callback_query"]
ack = "handled"

[delivery.polling]
timeout_secs = 25
limit = 50

[delivery.webhook]
listen = "127.0.0.1:8443"
public_url = "https://bot.example.com/hook"
secret_token_env = "MPCHAT_WEBHOOK_SECRET"

[runtime]
max_concurrency = 8
shutdown_grace_secs = 3

[plugins.echo]
"#;

/// Changing only the mode line switches the source; everything else is identical.
#[test]
fn one_line_switch_changes_only_the_source() {
    let polling = parse(SWITCH).unwrap();
    let webhook = parse(&SWITCH.replace("mode = \"polling\"", "mode = \"webhook\"")).unwrap();
    assert_eq!(polling.mode(), DeliveryMode::Polling);
    assert_eq!(webhook.mode(), DeliveryMode::Webhook);
    let SourceSettings::Polling(p) = &polling.delivery.source else {
        panic!("polling expected")
    };
    assert_eq!((p.timeout, p.limit), (Duration::from_secs(25), 50));
    let SourceSettings::Webhook(w) = &webhook.delivery.source else {
        panic!("webhook expected")
    };
    assert_eq!(w.public_url, "https://bot.example.com/hook");

    assert_eq!(polling.bot.api_url, webhook.bot.api_url);
    assert_eq!(polling.bot.token, webhook.bot.token);
    assert_eq!(polling.bot.expect_username.as_deref(), Some("my_mpbot"));
    assert_eq!(polling.bot.expect_username, webhook.bot.expect_username);
    assert_eq!(
        polling.delivery.allowed_updates,
        webhook.delivery.allowed_updates
    );
    assert_eq!(polling.delivery.ack, webhook.delivery.ack);
    assert_eq!(polling.delivery.journal, webhook.delivery.journal);
    assert_eq!(polling.runtime, webhook.runtime);
    assert_eq!(polling.admin, webhook.admin);
    assert_eq!(polling.log, webhook.log);
    assert_eq!(polling.plugins, webhook.plugins);
}

/// In polling mode the webhook table is not validated (it may be incomplete), but its keys
/// are still checked for typos.
#[test]
fn webhook_table_is_validated_only_in_webhook_mode() {
    let text = "[delivery]\nmode = \"polling\"\n\n[delivery.webhook]\npublic_url = \"http://x\"\n";
    assert!(parse(text).is_ok());
    let err = parse_err(&format!("{text}max_conections = 5\n"));
    assert_eq!(err.kind(), ConfigErrorKind::UnknownKey);
    assert!(
        err.to_string().contains("did you mean `max_connections`?"),
        "{err}"
    );
}

/// MPBOT_* variables override the file; a bad override names the variable, not a file line.
#[test]
fn env_overrides_apply_and_name_the_variable_on_error() {
    let e = env(&[
        ("MPBOT_DELIVERY_MODE", "webhook"),
        ("MPBOT_DELIVERY_ACK", "received"),
        ("MPBOT_BOT_API_URL", "https://api.example.net/bot/"),
        ("MPBOT_WEBHOOK_LISTEN", "127.0.0.1:9443"),
        ("MPBOT_WEBHOOK_PUBLIC_URL", "https://other.example.com/x"),
        ("MPBOT_RUNTIME_MAX_CONCURRENCY", "7"),
        ("MPBOT_ADMIN_LISTEN", "127.0.0.1:9090"),
        ("MPBOT_LOG_FORMAT", "json"),
    ]);
    let c = Config::from_str_with_env(SWITCH, "bot.toml", e).unwrap();
    assert_eq!(c.mode(), DeliveryMode::Webhook);
    assert_eq!(c.delivery.ack, AckPolicy::Received);
    assert_eq!(c.bot.api_url, "https://api.example.net/bot");
    let SourceSettings::Webhook(w) = &c.delivery.source else {
        panic!("webhook expected")
    };
    assert_eq!(w.listen, "127.0.0.1:9443".parse::<SocketAddr>().unwrap());
    assert_eq!(w.public_url, "https://other.example.com/x");
    assert_eq!(c.runtime.max_concurrency, 7);
    assert_eq!(c.admin.listen, Some("127.0.0.1:9090".parse().unwrap()));
    assert_eq!(c.log.format, LogFormat::Json);

    let err =
        Config::from_str_with_env(SWITCH, "bot.toml", env(&[("MPBOT_DELIVERY_MODE", "hook")]))
            .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::UnknownValue);
    assert_eq!(err.env_var(), Some("MPBOT_DELIVERY_MODE"));
    assert_eq!(err.key(), Some("delivery.mode"));
    assert_eq!(err.line(), None);
    assert!(
        err.to_string()
            .starts_with("environment variable MPBOT_DELIVERY_MODE (overrides `delivery.mode`): "),
        "{err}"
    );

    let e = env(&[("MPBOT_RUNTIME_MAX_CONCURRENCY", "many")]);
    let err = Config::from_str_with_env(SWITCH, "bot.toml", e).unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::WrongType);
    assert_eq!(err.env_var(), Some("MPBOT_RUNTIME_MAX_CONCURRENCY"));

    let e = env(&[("MPBOT_RUNTIME_MAX_CONCURRENCY", "0")]);
    let err = Config::from_str_with_env(SWITCH, "bot.toml", e).unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::OutOfRange);
    assert_eq!(err.env_var(), Some("MPBOT_RUNTIME_MAX_CONCURRENCY"));

    // An empty variable counts as unset.
    let c =
        Config::from_str_with_env(SWITCH, "bot.toml", env(&[("MPBOT_DELIVERY_MODE", "")])).unwrap();
    assert_eq!(c.mode(), DeliveryMode::Polling);
}

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// TLS, token-file and journal paths are resolved against the config file's directory.
#[test]
fn relative_paths_resolve_against_the_config_dir() {
    let path = data("webhook_tls.toml");
    let c = Config::from_file_with_env(&path, env(&[])).unwrap();
    let dir = path.parent().unwrap();
    assert_eq!(c.base_dir(), dir);
    let SourceSettings::Webhook(w) = &c.delivery.source else {
        panic!("webhook expected")
    };
    let tls = w.tls.as_ref().unwrap();
    assert_eq!(tls.cert, dir.join("certs/cert.pem"));
    assert_eq!(tls.key, dir.join("certs/key.pem"));
    assert_eq!(c.bot.token.expose(), "987654:from-a-file");
    assert_eq!(
        c.bot.token_source,
        SecretSource::File(dir.join("secrets/token.txt"))
    );
    assert_eq!(
        w.secret.as_ref().unwrap().expose(),
        "file-secret_0123456789"
    );
    assert_eq!(
        c.delivery.journal.as_ref().unwrap().path,
        dir.join("journal")
    );
}

/// An unreadable token file is named by path, at its key.
#[test]
fn unreadable_token_file_names_the_path() {
    let err = parse_err("[bot]\ntoken_file = \"no/such/token.txt\"\n");
    assert_eq!(err.kind(), ConfigErrorKind::MissingSecret);
    assert_at(&err, 2, "bot.token_file");
    assert!(err.to_string().contains("no/such/token.txt"), "{err}");
}

/// The token and webhook secret never appear in Debug, Display or any error.
#[test]
fn secrets_never_appear_in_output() {
    let c = parse(WEBHOOK).unwrap();
    let shown = format!("{c}\n{c:?}");
    assert!(!shown.contains("TOPSECRET"), "{shown}");
    assert!(!shown.contains(WEBHOOK_SECRET), "{shown}");
    assert!(shown.contains("123456:***"), "{shown}");
    assert!(shown.contains("env MPCHAT_WEBHOOK_SECRET"), "{shown}");

    // Unusable secrets are refused without quoting them.
    let bad_token = "123456:has space";
    let err = Config::from_str_with_env("", "bot.toml", |k: &str| {
        (k == "MPCHAT_BOT_TOKEN").then(|| bad_token.to_owned())
    })
    .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::InvalidSecret);
    assert!(!format!("{err} {err:?}").contains("has space"), "{err}");

    let e = env(&[("MPCHAT_WEBHOOK_SECRET", "bad secret with spaces")]);
    let err = Config::from_str_with_env(WEBHOOK, "bot.toml", e).unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::InvalidSecret);
    assert!(!format!("{err} {err:?}").contains("spaces"), "{err}");
}

/// Plugin tables are kept as JSON with their location; an unknown plugin lists the known ones.
#[test]
fn plugin_tables_keep_their_location() {
    let text = "[bot]\n\n[plugins.welcom]\ntext = \"Hi {first_name}\"\nwhen = 1979-05-27\n";
    let c = parse(text).unwrap();
    let p = c.plugin("welcom").unwrap();
    assert_eq!(p.table()["text"], "Hi {first_name}");
    assert_eq!(p.table()["when"], "1979-05-27");
    let err = p.unknown_plugin_error(&["echo", "welcome"]);
    assert_eq!(err.kind(), ConfigErrorKind::UnknownPlugin);
    assert_at(&err, 3, "plugins.welcom");
    assert!(err.to_string().contains("did you mean `welcome`?"), "{err}");
    assert!(err.to_string().contains("echo, welcome"), "{err}");

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Welcome {
        text: String,
    }
    let err = p.deserialize::<Welcome>().unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::Plugin);
    assert!(err.to_string().contains("unknown field `when`"), "{err}");
    assert_eq!(err.line(), Some(5), "{err}");

    // A wrong type deep inside the table points at that key's own line.
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Commands {
        commands: Vec<Command>,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Command {
        name: String,
        reply: String,
    }
    let text = "[plugins.commands]\n[[plugins.commands.commands]]\nname = \"help\"\nreply = \"hi\"\n\n\
                [[plugins.commands.commands]]\nname = \"about\"\nreply = 42\n";
    let c = parse(text).unwrap();
    let err = c
        .plugin("commands")
        .unwrap()
        .deserialize::<Commands>()
        .unwrap_err();
    assert_at(&err, 8, "plugins.commands.commands[1].reply");
    assert!(err.to_string().contains("expected a string"), "{err}");
}

/// `token_env` and `token_file` together are a conflict; `tls` needs both cert and key.
#[test]
fn conflicting_or_incomplete_settings_are_refused() {
    let err = parse_err("[bot]\ntoken_env = \"A\"\ntoken_file = \"b\"\n");
    assert_eq!(err.kind(), ConfigErrorKind::Conflict);
    assert_at(&err, 3, "bot.token_file");

    let err = parse_err(&format!("{WEBHOOK}tls = {{ cert = \"c.pem\" }}\n"));
    assert_eq!(err.kind(), ConfigErrorKind::MissingKey);
    assert_at(&err, 8, "delivery.webhook.tls.key");

    let err = parse_err(&format!(
        "{WEBHOOK}max_connections = 50\nmax_open_connections = 10\n"
    ));
    assert_eq!(err.kind(), ConfigErrorKind::Conflict);
    assert_at(&err, 9, "delivery.webhook.max_open_connections");
}

/// Tables and arrays of the wrong shape are wrong-type errors that say what was expected.
#[test]
fn wrong_shapes_say_what_was_expected() {
    let err = parse_err("[delivery]\nallowed_updates = \"message\"\n");
    assert_eq!(err.kind(), ConfigErrorKind::WrongType);
    assert_at(&err, 2, "delivery.allowed_updates");
    assert!(err.to_string().contains("expected an array"), "{err}");
    let err = parse_err("[plugins]\necho = true\n");
    assert_at(&err, 2, "plugins.echo");
    assert!(err.to_string().contains("expected a table"), "{err}");
}

/// A config file that cannot be read is an I/O error naming the path.
#[test]
fn unreadable_config_file_names_the_path() {
    let err = Config::from_file_with_env(data("no-such-file.toml"), env(&[])).unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::Io);
    assert!(err.file().unwrap().ends_with("no-such-file.toml"));
    assert!(err.to_string().contains("no-such-file.toml"), "{err}");
}

/// Allowed-but-risky values parse with a warning: plain http to a remote API, short polling,
/// an unknown update type.
#[test]
fn risky_values_are_warned_about() {
    let c = parse("[bot]\napi_url = \"http://127.0.0.1:8081/bot\"\n").unwrap();
    assert!(c.warnings().is_empty(), "{:?}", c.warnings());
    let c = parse(
        "[bot]\napi_url = \"http://api.example.com/bot\"\n\n[delivery]\n\
         allowed_updates = [\"mesage\"]\n\n[delivery.polling]\ntimeout_secs = 0\n",
    )
    .unwrap();
    let all = c.warnings().join("\n");
    assert!(all.contains("cleartext"), "{all}");
    assert!(all.contains("did you mean \"message\"?"), "{all}");
    assert!(all.contains("short polling"), "{all}");
    assert!(c.to_string().contains("warning: "), "{c}");
}
