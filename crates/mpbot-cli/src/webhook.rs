//! `mpbot webhook info|set|delete`: the only place mpbot changes a webhook on purpose.

use std::io::Write;

use mpbot::config::{Config, SourceSettings};
use mpbot_api::methods::{DeleteWebhook, SetWebhook};
use mpbot_api::{Bot, WebhookInfo};

use crate::remote::{self, describe};
use crate::text::{self, shell_word};
use crate::{Context, DeleteArgs, Error, Exit, InfoArgs, SetArgs};

/// `webhook info`: getWebhookInfo as text (with the bot's name) or as one JSON object.
pub(crate) async fn info(args: &InfoArgs, ctx: &mut Context<'_>) -> Result<Exit, Error> {
    let config = remote::load(&args.config, ctx)?;
    let bot = remote::bot(&config)?;
    if args.json {
        let info = bot.get_webhook_info().await?;
        let json = serde_json::to_string_pretty(&info)
            .map_err(|e| Error::Io("encoding JSON".into(), e.into()))?;
        writeln!(ctx.out, "{json}")?;
        return Ok(Exit::Success);
    }
    let me = bot.get_me().await?;
    let info = bot.get_webhook_info().await?;
    writeln!(ctx.out, "bot: {}", describe(&me))?;
    write!(ctx.out, "{}", text::webhook_info(&info, ""))?;
    Ok(Exit::Success)
}

/// `webhook set`: guard, plan, probe, (dry run stops here), setWebhook, read back.
pub(crate) async fn set(args: &SetArgs, ctx: &mut Context<'_>) -> Result<Exit, Error> {
    let config = remote::load(&args.config, ctx)?;
    let SourceSettings::Webhook(hook) = &config.delivery.source else {
        return Err(Error::Refused(format!(
            "{} has delivery.mode = \"polling\": a webhook would stop the polling bot \
             (getUpdates answers 409 while one is set); set delivery.mode = \"webhook\" \
             (or MPBOT_DELIVERY_MODE=webhook) to register its [delivery.webhook] settings",
            shell_word(config.origin())
        )));
    };
    let ca_pem = match &args.ca_cert {
        Some(path) => Some(
            std::fs::read(path)
                .map_err(|e| Error::Io(format!("reading --ca-cert {}", path.display()), e))?,
        ),
        None => None,
    };
    let out = &mut *ctx.out;
    let (bot, current) = guarded(&config, &args.guard.confirm, out).await?;
    writeln!(out, "plan: setWebhook (high-risk)")?;
    writeln!(
        out,
        "  url: {} -> {}",
        text::url_or_none(&current.url),
        hook.public_url
    )?;
    match (&hook.secret, &hook.secret_source) {
        (Some(_), Some(source)) => writeln!(out, "  secret_token: -> *** (from {source})")?,
        _ => writeln!(out, "  secret_token: -> none (allow_missing_secret = true)")?,
    }
    writeln!(
        out,
        "  max_connections: {} -> {}",
        current
            .max_connections
            .map_or_else(|| "(not set)".into(), |n| n.to_string()),
        hook.max_connections
    )?;
    writeln!(
        out,
        "  allowed_updates: {} -> {}",
        text::list(current.allowed_updates.as_deref()),
        text::list(config.delivery.allowed_updates.as_deref())
    )?;
    if let Some(n) = current.pending_update_count {
        writeln!(out, "  pending updates: {n} (kept)")?;
    }

    let secret = hook.secret.as_ref().map(|s| s.expose());
    writeln!(
        out,
        "probe: POST {} with an empty body (as MPChat does before saving a webhook)",
        hook.public_url
    )?;
    out.flush()?;
    match crate::probe::probe(&hook.public_url, ca_pem.as_deref(), secret).await {
        Ok(passed) => {
            writeln!(out, "probe: HTTP {}: ok", passed.status)?;
            if passed.needed_secret {
                writeln!(
                    out,
                    "warning: the endpoint answered 2xx only with the secret header; MPChat's \
                     probe may not send it (undocumented): answer 200 to an empty body"
                )?;
            }
        }
        Err(reason) => {
            return Err(Error::Refused(format!(
                "the probe failed, so setWebhook was not called: {reason}"
            )));
        }
    }
    if args.guard.dry_run {
        writeln!(out, "dry run: nothing was changed")?;
        return Ok(Exit::Success);
    }

    let mut request = SetWebhook::new(hook.public_url.clone());
    request.secret_token = secret.map(str::to_owned);
    request.max_connections = Some(hook.max_connections);
    request.allowed_updates = config.delivery.allowed_updates.clone();
    bot.high_risk().set_webhook(&request).await?;
    writeln!(out, "setWebhook: done")?;
    read_back(&bot, out).await?;
    Ok(Exit::Success)
}

/// `webhook delete`: guard, plan, (dry run stops here), deleteWebhook, read back.
pub(crate) async fn delete(args: &DeleteArgs, ctx: &mut Context<'_>) -> Result<Exit, Error> {
    let config = remote::load(&args.config, ctx)?;
    let out = &mut *ctx.out;
    let (bot, current) = guarded(&config, &args.guard.confirm, out).await?;
    if !current.is_set() && !args.drop_pending_updates {
        writeln!(out, "no webhook is set: nothing to delete")?;
        return Ok(Exit::Success);
    }
    writeln!(out, "plan: deleteWebhook (high-risk)")?;
    writeln!(out, "  url: {} -> (none)", text::url_or_none(&current.url))?;
    let pending = current
        .pending_update_count
        .map_or_else(String::new, |n| format!("{n} "));
    if args.drop_pending_updates {
        writeln!(
            out,
            "  pending updates: {pending}(dropped: --drop-pending-updates)"
        )?;
    } else {
        writeln!(
            out,
            "  pending updates: {pending}(kept: getUpdates will return them)"
        )?;
    }
    if args.guard.dry_run {
        writeln!(out, "dry run: nothing was changed")?;
        return Ok(Exit::Success);
    }
    let mut request = DeleteWebhook::new();
    request.drop_pending_updates = args.drop_pending_updates.then_some(true);
    bot.high_risk().delete_webhook(&request).await?;
    writeln!(out, "deleteWebhook: done")?;
    read_back(&bot, out).await?;
    Ok(Exit::Success)
}

/// How `set` and `delete` begin: getMe, the guard against `confirm`, then the current webhook,
/// so nothing is asked of MPChat beyond reads before the guard passed. Prints which bot it is.
async fn guarded(
    config: &Config,
    confirm: &str,
    out: &mut (dyn Write + Send),
) -> Result<(Bot, WebhookInfo), Error> {
    let bot = remote::bot(config)?;
    let me = bot.get_me().await?;
    remote::guard(confirm, &me, config)?;
    let current = bot.get_webhook_info().await?;
    writeln!(out, "bot: {} at {}", describe(&me), config.bot.api_url)?;
    Ok((bot, current))
}

async fn read_back(bot: &Bot, out: &mut (dyn Write + Send)) -> Result<(), Error> {
    let after = bot.get_webhook_info().await?;
    writeln!(out, "now (getWebhookInfo):")?;
    write!(out, "{}", text::webhook_info(&after, "  "))?;
    Ok(())
}
