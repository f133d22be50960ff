//! Loading the config and talking to MPChat with the bot it names.

use std::time::Duration;

use mpbot::config::Config;
use mpbot_api::{Bot, RetryPolicy, User};

use crate::{ConfigArg, Context, Error};

/// Loads and validates the config, reading the environment through the context.
pub(crate) fn load(arg: &ConfigArg, ctx: &Context<'_>) -> Result<Config, Error> {
    let env = ctx.env.clone();
    Ok(Config::from_file_with_env(&arg.config, move |name| {
        env(name)
    })?)
}

/// A client for the config's bot. An operator command fails fast: three attempts, short
/// waits, instead of the bot's patient defaults.
pub(crate) fn bot(config: &Config) -> Result<Bot, Error> {
    Ok(Bot::builder(config.bot.token.clone())
        .api_url(config.bot.api_url.clone())
        .request_timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(10))
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(3)
                .with_max_delay(Duration::from_secs(5)),
        )
        .build()?)
}

/// `@username (id N)`.
pub(crate) fn describe(me: &User) -> String {
    match &me.username {
        Some(name) => format!("@{name} (id {})", me.id.0),
        None => format!("(no username) (id {})", me.id.0),
    }
}

/// The high-risk guard: `confirm` (a leading `@` ignored) must equal getMe's username exactly,
/// and getMe's username must equal `bot.expect_username` when the config sets it.
pub(crate) fn guard(confirm: &str, me: &User, config: &Config) -> Result<(), Error> {
    let actual = me.username.as_deref().unwrap_or("");
    let confirm = confirm.strip_prefix('@').unwrap_or(confirm);
    if actual.is_empty() {
        return Err(Error::Refused(
            "getMe reports no username for this bot, so --confirm cannot match it".into(),
        ));
    }
    if confirm != actual {
        return Err(Error::Refused(format!(
            "--confirm {confirm:?} is not this bot: the token in {} belongs to @{actual}; \
             nothing was changed",
            config.bot.token_source
        )));
    }
    if let Some(expected) = &config.bot.expect_username
        && expected != actual
    {
        return Err(Error::Refused(format!(
            "the token belongs to @{actual} but bot.expect_username is {expected:?}; \
             nothing was changed"
        )));
    }
    Ok(())
}

/// The emulator's control API root (`http://HOST:PORT/_emulator`) when `api_url` points at an
/// mpbot emulator, i.e. when `/_emulator/health` answers `{"ok": true}`.
pub(crate) async fn emulator_control(api_url: &str) -> Option<String> {
    let url = url::Url::parse(api_url).ok()?;
    let origin = url.origin().ascii_serialization();
    let control = format!("{origin}/_emulator");
    let http = control_client().ok()?;
    let resp = http.get(format!("{control}/health")).send().await.ok()?;
    if !resp.status().is_success() {
        return None;
    }
    let body: serde_json::Value = resp.json().await.ok()?;
    (body.get("ok") == Some(&serde_json::Value::Bool(true))).then_some(control)
}

/// The HTTP client for the emulator's control API.
pub(crate) fn control_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .build()
}
