//! The demo: one bot (built-in plugins plus a small custom one) through one scripted
//! conversation, in polling mode and in webhook mode, with nothing but the mode line changed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use mpbot::config::Config;
use mpbot::framework::{Outcome, UpdateKind};
use mpbot::prelude::*;
use mpbot_api::types::ChatType;
use mpbot_api::{ChatId, UpdateId};
use mpbot_emulator::Emulator;
use mpbot_emulator::tls::TestCa;

use crate::{Running, TOKEN, user};

/// The webhook secret of the demo (made up for the run, like the emulator's token).
const SECRET: &str = "demo-webhook-secret";

/// `[plugins.shout]`, the demo's custom plugin: `/shout words` answers in capitals. It also
/// records how each update's handling ended (through a lifecycle hook), so two runs can be
/// compared handler call by handler call.
#[derive(Debug, Clone, Default)]
pub struct Shout {
    calls: Arc<Mutex<Vec<(UpdateId, String)>>>,
}

impl Shout {
    /// What the hook recorded: one `"update ID: kind outcome"` line per update, by update id
    /// (handlers of different chats may finish in either order).
    ///
    /// # Panics
    /// When the log's lock is poisoned.
    pub fn calls(&self) -> Vec<String> {
        let mut calls = self.calls.lock().expect("not poisoned").clone();
        calls.sort();
        calls.into_iter().map(|(_, line)| line).collect()
    }
}

impl Plugin for Shout {
    fn name(&self) -> &'static str {
        "shout"
    }

    fn register(
        &self,
        router: &mut Router,
        _config: &PluginConfig,
    ) -> Result<(), mpbot::framework::Error> {
        router.command("shout", |ctx: Context, command: Command| async move {
            ctx.reply(command.args_text.to_uppercase()).await?;
            Ok::<_, mpbot_api::Error>(())
        });
        Ok(())
    }

    fn on_update_done(&self, update_id: UpdateId, kind: &UpdateKind, outcome: &Outcome) {
        let line = format!("update {update_id}: {kind} {outcome}");
        self.calls
            .lock()
            .expect("not poisoned")
            .push((update_id, line));
    }
}

/// The bot's TOML. Both runs use this text; only `mode` differs. `ack` is the delivery policy
/// (`"handled"` in the demo); the journal, used with `"stored"`, goes in `dir`.
pub fn config_text(mode: &str, ack: &str, api_url: &str, webhook_port: u16, dir: &Path) -> String {
    let cert = dir.join(mpbot_emulator::tls::SERVER_CERT_FILE);
    let key = dir.join(mpbot_emulator::tls::SERVER_KEY_FILE);
    let journal = dir.join("journal");
    format!(
        r#"[bot]
api_url = "{api_url}"
token_env = "MPCHAT_BOT_TOKEN"
expect_username = "demo_bot"

[delivery]
mode = "{mode}"
ack = "{ack}"

[delivery.journal]
path = "{journal}"

[delivery.webhook]
listen = "127.0.0.1:{webhook_port}"
public_url = "https://127.0.0.1:{webhook_port}/mp-bot/webhook"
secret_token_env = "MPCHAT_WEBHOOK_SECRET"
tls = {{ cert = "{cert}", key = "{key}" }}
register = "auto"

[plugins.commands]
commands = [
  {{ name = "start", reply = "Hello! Try /help.", description = "Say hello" }},
  {{ name = "rules", reply = "Be kind.", description = "The rules" }},
]

[plugins.echo]

[plugins.welcome]
text = "Welcome to {{chat_title}}, {{first_name}}!"

[plugins.farewell]

[plugins.pins]

[plugins.shout]
"#,
        cert = cert.display(),
        key = key.display(),
        journal = journal.display(),
    )
}

/// What one run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoRun {
    /// The conversation as people would read it: what users did, what the bot answered.
    pub transcript: Vec<String>,
    /// How each update's handling ended, as the custom plugin's hook saw it.
    pub handler_calls: Vec<String>,
    /// Every message the bot sent, as the emulator recorded it: `(chat, text)`.
    pub sent: Vec<(ChatId, String)>,
    /// With `ack = "stored"`: the journal's entries and how many were left unhandled, read
    /// after the bot stopped.
    pub journal: Option<(u64, u64)>,
}

/// Runs the demo bot in `mode` (`"polling"` or `"webhook"`) against a fresh emulator through
/// the script, and returns what happened.
///
/// # Errors
/// When the emulator, the TLS material or the bot cannot start, or the bot stops with an error.
pub async fn run(mode: &str) -> Result<DemoRun, Box<dyn std::error::Error + Send + Sync>> {
    run_with_ack(mode, "handled").await
}

/// [`run`] with another `delivery.ack` policy (`"stored"` puts the journal in between).
///
/// # Errors
/// As [`run`].
pub async fn run_with_ack(
    mode: &str,
    ack: &str,
) -> Result<DemoRun, Box<dyn std::error::Error + Send + Sync>> {
    let ca = TestCa::generate(&["localhost", "127.0.0.1"])?;
    let tls_dir = TempDir::new(&format!("{mode}-{ack}"))?;
    ca.write_to(tls_dir.path())?;
    let emulator = Emulator::builder()
        .trust_ca_pem(ca.ca_cert_pem().as_bytes())
        .start()
        .await?;
    // The webhook listener is bound first so its port can go into `public_url`; in polling mode
    // it is simply not used.
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();

    let text = config_text(mode, ack, &emulator.api_url(), port, tls_dir.path());
    let config = Config::from_str_with_env(&text, "demo.toml", |name| match name {
        "MPCHAT_BOT_TOKEN" => Some(TOKEN.to_owned()),
        "MPCHAT_WEBHOOK_SECRET" => Some(SECRET.to_owned()),
        _ => None,
    })?;
    let shout = Shout::default();
    let app = App::new(config)
        .plugin(shout.clone())
        .with_webhook_listener(listener);
    let mut bot = Running::spawn(app);

    let transcript = bot.race(script(&emulator)).await??;
    bot.stop().await?;
    let sent = emulator
        .default_bot()
        .sent()
        .into_iter()
        .map(|m| (m.chat_id, m.text.unwrap_or_default()))
        .collect();
    emulator.shutdown().await;
    let journal = if ack == "stored" {
        let stats = mpbot::journal::Journal::inspect(tls_dir.path().join("journal"))?.stats()?;
        Some((stats.entries, stats.unhandled))
    } else {
        None
    };
    Ok(DemoRun {
        transcript,
        handler_calls: shout.calls(),
        sent,
        journal,
    })
}

/// The transcript being written: events and the bot's answers to them.
#[derive(Debug, Default)]
struct Transcript {
    lines: Vec<String>,
    /// How many of the bot's messages are already in `lines`.
    answered: usize,
}

impl Transcript {
    /// Records `event`, then every message the bot sent since the last event.
    fn record(&mut self, event: String, sent: &[mpbot_emulator::SentMessage]) {
        self.lines.push(event);
        for message in &sent[self.answered..] {
            let text = message.text.as_deref().unwrap_or("");
            self.lines.push(format!(
                "  bot   [{}]: {}",
                message.chat_id,
                text.replace('\n', " | ")
            ));
        }
        self.answered = sent.len();
    }
}

/// The scripted conversation: each step waits for the bot's answer before the next.
async fn script(
    emulator: &Emulator,
) -> Result<Vec<String>, Box<dyn std::error::Error + Send + Sync>> {
    let handle = emulator.default_bot();
    let alice = user(1001, "Alice", "alice");
    let bob = user(1002, "Bob", "bob");
    let private = ChatId(1001);
    let group = ChatId(-2001);
    let mut transcript = Transcript::default();

    for text in ["/start", "hello there", "/shout make some noise", "/help"] {
        handle.user_message(private, alice.clone(), text);
        let sent = handle.wait_for_sent(transcript.answered + 1).await;
        transcript.record(format!("alice [{private}]: {text}"), &sent);
    }

    // The group exists once someone wrote in it.
    handle.user_message_in(group, ChatType::Group, alice.clone(), "/rules");
    let sent = handle.wait_for_sent(transcript.answered + 1).await;
    transcript.record(format!("alice [{group}]: /rules"), &sent);

    handle.join(group, vec![bob.clone()], Some(alice.clone()));
    let sent = handle.wait_for_sent(transcript.answered + 1).await;
    transcript.record(format!("* alice added bob to [{group}]"), &sent);

    let hi = handle.user_message_in(group, ChatType::Group, bob.clone(), "hi all");
    let sent = handle.wait_for_sent(transcript.answered + 1).await;
    transcript.record(format!("bob   [{group}]: hi all"), &sent);

    handle.pin(group, hi.message_id, alice.clone());
    let sent = handle.wait_for_sent(transcript.answered + 1).await;
    transcript.record(format!("* alice pinned bob's message in [{group}]"), &sent);

    handle.leave(group, bob, None);
    let sent = handle.wait_for_sent(transcript.answered + 1).await;
    transcript.record(format!("* bob left [{group}]"), &sent);

    Ok(transcript.lines)
}

/// A directory under the system temp dir, removed on drop.
#[derive(Debug)]
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> std::io::Result<Self> {
        let path = std::env::temp_dir().join(format!("mpbot-demo-{label}-{}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(Self(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
