//! `mpbot smoke`: MPChat's five-step smoke test (protocol notes §8.4), each step reported as
//! pass, fail or skipped with the reason.

use std::io::{BufRead, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mpbot::config::{Config, SourceSettings};
use mpbot_api::init_data::DEFAULT_MAX_AGE;
use mpbot_api::{Bot, User, verify_init_data};
use serde_json::{Value, json};

use crate::remote::{self, describe};
use crate::text::shell_word;
use crate::{Context, Error, Exit, SmokeArgs};

/// How often step 3 asks the emulator whether the bot answered.
const POLL_EVERY: Duration = Duration::from_millis(50);

/// One step's result.
#[derive(Debug)]
enum Status {
    Pass(String),
    Fail(String),
    Skip(String),
}

const STEPS: [&str; 5] = [
    "getMe",
    "getWebhookInfo",
    "an update reaches the bot",
    "sendMessage",
    "initData verification",
];

pub(crate) async fn run(args: &SmokeArgs, ctx: &mut Context<'_>) -> Result<Exit, Error> {
    let config = remote::load(&args.config, ctx)?;
    let bot = remote::bot(&config)?;
    writeln!(
        ctx.out,
        "smoke test: {} with delivery.mode = \"{}\" against {}",
        shell_word(config.origin()),
        config.mode().as_str(),
        config.bot.api_url
    )?;

    let mut results: Vec<Status> = Vec::with_capacity(5);
    let me = match bot.get_me().await {
        Ok(me) => {
            let status = match &config.bot.expect_username {
                Some(expected) if me.username.as_deref() != Some(expected.as_str()) => {
                    Status::Fail(format!(
                        "the token belongs to {} but bot.expect_username is \"{expected}\"",
                        describe(&me)
                    ))
                }
                _ => Status::Pass(format!("the token is valid: {}", describe(&me))),
            };
            report(ctx.out, 0, &status)?;
            results.push(status);
            Some(me)
        }
        Err(e) => {
            let status = Status::Fail(format!("{e}"));
            report(ctx.out, 0, &status)?;
            results.push(status);
            None
        }
    };
    if let Some(me) = me {
        let status = step_webhook_info(&bot, &config, &me).await;
        report(ctx.out, 1, &status)?;
        results.push(status);

        let status = step_update(&bot, &config, &me, args, ctx).await?;
        report(ctx.out, 2, &status)?;
        results.push(status);

        let status = match bot
            .send_message(args.chat_id, "mpbot smoke test: sendMessage works")
            .await
        {
            Ok(m) => Status::Pass(format!(
                "message {} sent to chat {}",
                m.message_id, args.chat_id
            )),
            Err(e) => Status::Fail(format!("{e}")),
        };
        report(ctx.out, 3, &status)?;
        results.push(status);

        let status = match &args.init_data {
            None => Status::Skip("no --init-data given".into()),
            Some(data) => match verify_init_data(&config.bot.token, data, DEFAULT_MAX_AGE) {
                Ok(v) => Status::Pass(format!(
                    "signed with this bot's token{}",
                    v.user()
                        .map(|u| format!(", for user {}", u.id))
                        .unwrap_or_default()
                )),
                Err(e) => Status::Fail(format!("{e}")),
            },
        };
        report(ctx.out, 4, &status)?;
        results.push(status);
    } else {
        for (i, step) in STEPS.iter().enumerate().skip(1) {
            writeln!(ctx.out, "{}. {step}: not run (getMe failed)", i + 1)?;
        }
    }

    let failed = results.iter().position(|s| matches!(s, Status::Fail(_)));
    match failed {
        Some(i) => {
            writeln!(
                ctx.out,
                "smoke test: FAILED at step {} ({})",
                i + 1,
                STEPS[i]
            )?;
            Ok(Exit::SmokeFailed)
        }
        None => {
            let skipped = results
                .iter()
                .filter(|s| matches!(s, Status::Skip(_)))
                .count();
            writeln!(
                ctx.out,
                "smoke test: passed ({} passed, {skipped} skipped)",
                results.len() - skipped
            )?;
            Ok(Exit::Success)
        }
    }
}

fn report(out: &mut (dyn Write + Send), index: usize, status: &Status) -> std::io::Result<()> {
    let (word, reason) = match status {
        Status::Pass(r) => ("pass", r),
        Status::Fail(r) => ("FAIL", r),
        Status::Skip(r) => ("skipped", r),
    };
    writeln!(out, "{}. {}: {word}: {reason}", index + 1, STEPS[index])?;
    out.flush()
}

/// Step 2: the registration fits the configured mode.
async fn step_webhook_info(bot: &Bot, config: &Config, me: &User) -> Status {
    let confirm = me.username.as_deref().unwrap_or("USERNAME");
    let info = match bot.get_webhook_info().await {
        Ok(info) => info,
        Err(e) => return Status::Fail(format!("{e}")),
    };
    let file = shell_word(config.origin());
    match &config.delivery.source {
        SourceSettings::Polling(_) if info.is_set() => Status::Fail(format!(
            "a webhook is registered ({}) but the bot polls; fix: mpbot webhook delete --config \
             {file} --confirm {confirm}",
            info.url
        )),
        SourceSettings::Polling(_) => Status::Pass("no webhook is set, as polling needs".into()),
        SourceSettings::Webhook(hook) if info.url == hook.public_url => {
            Status::Pass(format!("the webhook is {}", hook.public_url))
        }
        SourceSettings::Webhook(hook) => Status::Fail(format!(
            "the registered webhook is {} but public_url is {}; fix: mpbot webhook set --config \
             {file} --confirm {confirm} (see mpbot check for the whole procedure)",
            crate::text::url_or_none(&info.url),
            hook.public_url
        )),
        _ => Status::Skip("unknown delivery mode".into()),
    }
}

/// Step 3: a user's message reaches the running bot, which answers it.
async fn step_update(
    bot: &Bot,
    config: &Config,
    me: &User,
    args: &SmokeArgs,
    ctx: &mut Context<'_>,
) -> Result<Status, Error> {
    let wait = Duration::from_secs(args.wait_secs);
    if let Some(control) = remote::emulator_control(&config.bot.api_url).await {
        return Ok(via_emulator(bot, config, &control, args, wait).await);
    }
    // MPChat itself: only the operator can play the user and see the answer.
    let name = me.username.as_deref().unwrap_or("the bot");
    writeln!(
        ctx.out,
        "3. send {:?} to @{name} in chat {} now; type y and Enter once the bot has answered \
         (waiting up to {}s):",
        args.text,
        args.chat_id,
        wait.as_secs()
    )?;
    ctx.out.flush()?;
    let started = unix_now();
    let mut input = ctx.take_input();
    let answer = tokio::time::timeout(
        wait,
        tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            input.read_line(&mut line).map(|_| line)
        }),
    )
    .await;
    let confirmed = match answer {
        Ok(Ok(Ok(line))) => matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes"),
        Ok(Ok(Err(_)) | Err(_)) => false,
        Err(_) => {
            return Ok(Status::Fail(format!(
                "no confirmation within {}s",
                wait.as_secs()
            )));
        }
    };
    if !confirmed {
        return Ok(Status::Fail(
            "the operator did not confirm an answer".into(),
        ));
    }
    if matches!(config.delivery.source, SourceSettings::Webhook(_))
        && let Ok(info) = bot.get_webhook_info().await
        && let Some(date) = info.last_error_date
        && date >= started
    {
        return Ok(Status::Fail(format!(
            "confirmed, but MPChat reports a delivery error since the step began: {}",
            info.last_error_message.as_deref().unwrap_or("(no message)")
        )));
    }
    Ok(Status::Pass("confirmed by the operator".into()))
}

/// Step 3 against the emulator: post the message as a user, wait for the bot's answer in the
/// chat. reqwest errors lose their URL (it holds the token) before they are shown.
async fn via_emulator(
    bot: &Bot,
    config: &Config,
    control: &str,
    args: &SmokeArgs,
    wait: Duration,
) -> Status {
    let http = match remote::control_client() {
        Ok(http) => http,
        Err(e) => return Status::Fail(format!("emulator control client: {}", e.without_url())),
    };
    let base = format!("{control}/bots/{}", config.bot.token.expose());
    let sent_before = match sent_to(&http, &base, args.chat_id).await {
        Ok(n) => n,
        Err(e) => return Status::Fail(e),
    };
    let (chat_type, user_id) = if args.chat_id > 0 {
        ("private", args.chat_id)
    } else {
        ("group", 777_000_001)
    };
    let from =
        json!({"id": user_id, "is_bot": false, "first_name": "Smoke", "username": "mpbot_smoke"});
    let body =
        json!({"chat_id": args.chat_id, "chat_type": chat_type, "from": from, "text": args.text});
    let posted: Result<Value, String> = async {
        let resp = http
            .post(format!("{base}/messages"))
            .json(&body)
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        let status = resp.status();
        let value: Value = resp.json().await.map_err(|e| e.without_url().to_string())?;
        if status.is_success() {
            Ok(value)
        } else {
            Err(format!("HTTP {status}: {value}"))
        }
    }
    .await;
    let update_id = match posted {
        Ok(v) => v["update_id"].clone(),
        Err(e) => return Status::Fail(format!("the emulator refused the user message: {e}")),
    };
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match sent_to(&http, &base, args.chat_id).await {
            Ok(n) if n > sent_before => {
                return Status::Pass(format!(
                    "the emulator posted {:?} as update {update_id} in chat {} and the bot \
                     answered it",
                    args.text, args.chat_id
                ));
            }
            Ok(_) => {}
            Err(e) => return Status::Fail(e),
        }
        if tokio::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
    // Why not: a failed delivery, still queued (nobody fetched or delivered it), or no answer.
    let info = bot.get_webhook_info().await.ok();
    let pending = info
        .as_ref()
        .and_then(|i| i.pending_update_count)
        .unwrap_or(0);
    let secs = wait.as_secs();
    let reason = match (&config.delivery.source, info) {
        (SourceSettings::Webhook(_), Some(info)) if info.last_error_message.is_some() => format!(
            "webhook delivery failed: {}",
            info.last_error_message.unwrap_or_default()
        ),
        (SourceSettings::Webhook(_), Some(info)) if pending > 0 && !info.is_set() => format!(
            "update {update_id} is still queued: no webhook is registered, so nothing \
             delivered it (see step 2)"
        ),
        (SourceSettings::Webhook(_), Some(info)) if pending > 0 => format!(
            "update {update_id} was not delivered to {} within {secs}s",
            info.url
        ),
        (SourceSettings::Polling(_), _) if pending > 0 => format!(
            "update {update_id} is still waiting at the emulator after {secs}s: the bot did \
             not fetch it (is it running, with delivery.mode = \"polling\"?)"
        ),
        _ => format!(
            "update {update_id} was taken but the bot did not answer in chat {} within {secs}s \
             (does a plugin answer {:?}?)",
            args.chat_id, args.text
        ),
    };
    Status::Fail(reason)
}

/// How many messages the bot has sent to `chat` (the emulator's sent log).
async fn sent_to(http: &reqwest::Client, base: &str, chat: i64) -> Result<usize, String> {
    let resp = http
        .get(format!("{base}/sent"))
        .send()
        .await
        .map_err(|e| format!("the emulator's sent log: {}", e.without_url()))?;
    let value: Value = resp
        .json()
        .await
        .map_err(|e| format!("the emulator's sent log: {}", e.without_url()))?;
    let list = value
        .get("result")
        .unwrap_or(&value)
        .as_array()
        .cloned()
        .unwrap_or_default();
    Ok(list
        .iter()
        .filter(|m| m.get("chat_id").and_then(Value::as_i64) == Some(chat))
        .count())
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
