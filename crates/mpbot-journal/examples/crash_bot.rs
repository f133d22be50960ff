//! The bot the crash tests kill: polling or webhook → journal → dispatcher → a handler that
//! records `start <id>` and `done <id>` (each line fsynced) and then answers `handled <id>`.
//!
//! Not a user-facing example: `tests/crash.rs` starts it as a child process and SIGKILLs it.
//! Configured by environment variables:
//! - `CRASH_MODE`: `polling` or `webhook`
//! - `CRASH_API_URL`: the emulator's Bot API URL; `CRASH_TOKEN`: the bot token
//! - `CRASH_JOURNAL`: the journal directory; `CRASH_LOG`: the handler's record file
//! - `CRASH_SEED`: varies the handlers' durations (0 to 15 ms)
//! - `CRASH_TLS_DIR`: webhook mode: `server-cert.pem` and `server-key.pem` (the test CA's)

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mpbot_api::{Bot, BotToken, Message, User};
use mpbot_core::{
    AckPolicy, Context, Dispatcher, DispatcherOptions, Router, Shutdown, UpdateSource,
};
use mpbot_journal::{Journal, JournalOptions};
use mpbot_poller::{LongPolling, LongPollingOptions};
use mpbot_webhook::{Register, TlsFiles, Webhook, WebhookOptions};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn var(name: &str) -> Result<String, BoxError> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

/// Appends one line and fsyncs it: the record survives a SIGKILL right after.
fn record(log: &Mutex<File>, line: &str) {
    let mut file = log
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    file.write_all(line.as_bytes()).expect("write the record");
    file.sync_data().expect("fsync the record");
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mode = var("CRASH_MODE")?;
    let seed: u64 = var("CRASH_SEED")?.parse()?;
    let log = Arc::new(Mutex::new(
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(var("CRASH_LOG")?)?,
    ));
    let bot = Bot::builder(BotToken::new(var("CRASH_TOKEN")?)?)
        .api_url(var("CRASH_API_URL")?)
        .build()?;

    let mut router = Router::new();
    router.on_message(move |ctx: Context, message: Message| {
        let log = Arc::clone(&log);
        async move {
            let id = ctx.update_id().get();
            record(&log, &format!("start {id}\n"));
            let mix = (seed ^ id.unsigned_abs()).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            tokio::time::sleep(Duration::from_millis(mix >> 60)).await;
            record(&log, &format!("done {id}\n"));
            ctx.bot()
                .send_message(message.chat.id, format!("handled {id}"))
                .await
                .map(drop)
        }
    });
    let options = DispatcherOptions::new()
        .with_max_concurrency(8)
        .with_ack(AckPolicy::Handled);
    let dispatcher = Dispatcher::new(bot.clone(), User::new(1), router, options);

    let journal = Journal::open(JournalOptions::new(var("CRASH_JOURNAL")?).with_max_in_flight(8))?;
    let (sink, feeder) = journal.start()?;
    let (_trigger, shutdown) = Shutdown::new();
    let source: Box<dyn UpdateSource> = match mode.as_str() {
        "polling" => Box::new(LongPolling::new(
            bot,
            LongPollingOptions::new().with_timeout_secs(1),
        )?),
        "webhook" => {
            let listener =
                tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
            let url = format!("https://{}/hook", listener.local_addr()?);
            let tls = std::path::PathBuf::from(var("CRASH_TLS_DIR")?);
            let options = WebhookOptions::new(url)
                .with_tls(TlsFiles::new(
                    tls.join("server-cert.pem"),
                    tls.join("server-key.pem"),
                ))
                .with_allow_missing_secret(true)
                .with_register(Register::Auto)
                .with_bot(bot);
            Box::new(Webhook::from_listener(listener, options)?)
        }
        other => return Err(format!("unknown CRASH_MODE {other}").into()),
    };
    let source_sink = sink.for_source(&source.describe());
    let source_task = tokio::spawn(source.run(source_sink, shutdown.clone()));
    let dispatching = tokio::spawn(dispatcher.run(Box::new(feeder), shutdown));
    tokio::select! {
        ended = source_task => eprintln!("source ended: {ended:?}"),
        ended = dispatching => eprintln!("dispatcher ended: {ended:?}"),
    }
    Err("stopped unexpectedly".into())
}
