//! `mpbot check`: validate the config, show it masked, and ask MPChat whether the configured
//! mode can start.

use mpbot::config::{Config, RegisterPolicy, SourceSettings};
use mpbot_api::{User, WebhookInfo};

use crate::remote::{self, describe};
use crate::text::{self, shell_word};
use crate::{CheckArgs, Context, Error, Exit};

/// Something that stops the configured mode from starting, with the exact fix.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Blocker {
    pub(crate) problem: String,
    pub(crate) fixes: Vec<String>,
}

pub(crate) async fn run(args: &CheckArgs, ctx: &mut Context<'_>) -> Result<Exit, Error> {
    let config = remote::load(&args.config, ctx)?;
    let out = &mut *ctx.out;
    write!(out, "{config}")?;
    writeln!(out, "config: valid")?;
    if args.offline {
        writeln!(out, "offline: MPChat was not contacted")?;
        return Ok(Exit::Success);
    }
    let bot = remote::bot(&config)?;
    let me = bot.get_me().await?;
    writeln!(out, "getMe: {}", describe(&me))?;
    let info = bot.get_webhook_info().await?;
    writeln!(out, "getWebhookInfo:")?;
    write!(out, "{}", text::webhook_info(&info, "  "))?;

    let (blockers, notes) = assess(&config, &me, &info);
    for note in &notes {
        writeln!(out, "note: {note}")?;
    }
    let mode = config.mode().as_str();
    if blockers.is_empty() {
        writeln!(out, "ready: delivery.mode = \"{mode}\" can start")?;
        return Ok(Exit::Success);
    }
    for b in &blockers {
        writeln!(out, "blocker: {}", b.problem)?;
        for (i, fix) in b.fixes.iter().enumerate() {
            writeln!(out, "  {} {fix}", if i == 0 { "fix:" } else { " or:" })?;
        }
    }
    writeln!(
        out,
        "not ready: delivery.mode = \"{mode}\" cannot start ({} blocker{})",
        blockers.len(),
        if blockers.len() == 1 { "" } else { "s" }
    )?;
    Ok(Exit::NotReady)
}

/// The blockers and notes for `config` given what MPChat reports.
pub(crate) fn assess(
    config: &Config,
    me: &User,
    info: &WebhookInfo,
) -> (Vec<Blocker>, Vec<String>) {
    let mut blockers = Vec::new();
    let mut notes = Vec::new();
    let file = shell_word(config.origin());
    let actual = me.username.as_deref().unwrap_or("");
    let confirm = if actual.is_empty() {
        "USERNAME"
    } else {
        actual
    };

    if let Some(expected) = &config.bot.expect_username
        && expected != actual
    {
        blockers.push(Blocker {
            problem: format!(
                "bot.expect_username is \"{expected}\" but the token (from {}) belongs to @{actual}: \
                 the bot refuses to start",
                config.bot.token_source
            ),
            fixes: vec![
                format!("give the token of @{expected} in {}", config.bot.token_source),
                format!("if @{actual} is the right bot: set expect_username = \"{actual}\" under [bot] in {file}"),
            ],
        });
    }

    match &config.delivery.source {
        SourceSettings::Polling(_) if info.is_set() => {
            blockers.push(Blocker {
                problem: format!(
                    "a webhook is registered ({}) but delivery.mode = \"polling\": getUpdates \
                         answers 409 while a webhook is set",
                    info.url
                ),
                fixes: vec![
                    format!("mpbot webhook delete --config {file} --confirm {confirm}"),
                    format!(
                        "to keep the webhook: set mode = \"webhook\" under [delivery] in {file} \
                             (or MPBOT_DELIVERY_MODE=webhook)"
                    ),
                ],
            });
        }
        SourceSettings::Webhook(hook) => {
            let set_fix = format!("mpbot webhook set --config {file} --confirm {confirm}");
            let differs = info.url != hook.public_url;
            match hook.register {
                RegisterPolicy::Verify if !info.is_set() => blockers.push(Blocker {
                    problem: format!(
                        "no webhook is registered but delivery.mode = \"webhook\" with register = \
                         \"verify\": the bot refuses to start, MPChat would push nothing to {}",
                        hook.public_url
                    ),
                    // setWebhook needs the endpoint to answer the probe, and the bot does not
                    // start under "verify" until a webhook is registered: serve once unchecked.
                    fixes: vec![format!(
                        "set register = \"off\" under [delivery.webhook] in {file} and start the \
                         bot (it serves without checking); then {set_fix}; then set register = \
                         \"verify\" again"
                    )],
                }),
                RegisterPolicy::Verify if differs => blockers.push(Blocker {
                    problem: format!(
                        "MPChat has another webhook registered ({}) than public_url ({}): \
                         updates go elsewhere",
                        info.url, hook.public_url
                    ),
                    fixes: vec![format!(
                        "start the bot (it serves {} and warns about the drift), then {set_fix}",
                        hook.path
                    )],
                }),
                RegisterPolicy::Verify => {
                    if info
                        .max_connections
                        .is_some_and(|n| n != hook.max_connections)
                    {
                        notes.push(format!(
                            "registered max_connections {} differs from the config's {} \
                             (to align: {set_fix})",
                            info.max_connections.unwrap_or_default(),
                            hook.max_connections
                        ));
                    }
                    if let (Some(want), Some(have)) =
                        (&config.delivery.allowed_updates, &info.allowed_updates)
                        && want != have
                    {
                        notes.push(format!(
                            "registered allowed_updates {} differ from the config's {} \
                             (to align: {set_fix})",
                            text::list(Some(have)),
                            text::list(Some(want))
                        ));
                    }
                }
                RegisterPolicy::Auto if differs => {
                    notes.push(format!(
                        "register = \"auto\": the bot calls setWebhook for {} when it starts \
                             (currently registered: {})",
                        hook.public_url,
                        text::url_or_none(&info.url)
                    ));
                }
                RegisterPolicy::Off if differs => {
                    notes.push(format!(
                        "register = \"off\": the registered webhook ({}) is not public_url \
                             ({}) and the bot will not check it",
                        text::url_or_none(&info.url),
                        hook.public_url
                    ));
                }
                _ => {}
            }
            if let Some(message) = &info.last_error_message {
                notes.push(format!("MPChat's last delivery error: {message}"));
            }
        }
        _ => {}
    }
    (blockers, notes)
}
