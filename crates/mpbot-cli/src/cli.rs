//! The command line, as clap derive types. `main.rs` parses it; tests build it with
//! [`Cli::try_parse_from`](clap::Parser::try_parse_from).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const MAIN_EXAMPLES: &str = "\
Examples:
  mpbot check --config bot.toml                  validate, then ask MPChat whether the bot can start
  mpbot run --config bot.toml                    run the bot the config describes
  mpbot webhook info --config bot.toml           what MPChat has registered
  mpbot emulator --listen 127.0.0.1:8081         a local MPChat for development
  mpbot smoke --config bot.toml --chat-id 42     MPChat's five-step smoke test
  mpbot journal stats --config bot.toml          what the durable-delivery journal holds

Exit codes:
  0 success   1 failure (I/O, the bot stopped with an error)   2 usage error
  3 config error   4 refused by a guard   5 MPChat (or the network) answered an error
  6 a smoke step failed   7 check: the configured mode cannot start
  8 the journal is missing, damaged or cannot be opened";

/// mpbot: run, check and operate an MPChat bot described by one TOML file.
#[derive(Debug, Clone, Parser)]
#[command(name = "mpbot", version, after_help = MAIN_EXAMPLES)]
#[non_exhaustive]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Clone, Subcommand)]
#[non_exhaustive]
pub enum Command {
    /// Run a bot made of the built-in plugins the config enables, until SIGINT/SIGTERM.
    #[command(after_help = "\
Examples:
  mpbot run --config bot.toml
  MPBOT_DELIVERY_MODE=webhook mpbot run --config bot.toml

Stops gracefully on SIGINT (Ctrl-C) or SIGTERM. Exit codes: 0 stopped cleanly, 1 the bot failed,
3 config error, 5 MPChat refused to start it (bad token, webhook registered while polling).")]
    Run(RunArgs),
    /// Validate the config, print it with secrets masked, and ask MPChat whether it can start.
    #[command(after_help = "\
Examples:
  mpbot check --config bot.toml             validate and ask MPChat (getMe, getWebhookInfo)
  mpbot check --config bot.toml --offline   validate only; MPChat is not contacted

Exit codes: 0 ready (or valid, with --offline), 3 config error, 5 MPChat answered an error,
7 the configured mode cannot start (each blocker is printed with the command that fixes it).")]
    Check(CheckArgs),
    /// Show, set or delete the webhook registration (set and delete are guarded).
    Webhook(WebhookArgs),
    /// Start the MPChat emulator (the same flags as `mpbot-emulator`).
    #[command(after_help = "\
Examples:
  mpbot emulator                                        127.0.0.1:8081, bot 123456:TEST-TOKEN=demo_bot
  mpbot emulator --listen 127.0.0.1:0 --bot 42:ABC=my_bot --rate-limit off
  mpbot emulator gen-tls --out certs                    a test CA for local HTTPS webhooks
  mpbot emulator --trust-ca certs/ca-cert.pem           call HTTPS webhooks signed by it

Prints one line on stdout when ready: `mpbot-emulator listening on http://ADDR/bot`.
Exit codes: 0 stopped by Ctrl-C, 1 could not start, 2 usage error.")]
    Emulator(mpbot_emulator::cli::Args),
    /// MPChat's smoke test: getMe, getWebhookInfo, an update reaches the running bot,
    /// sendMessage, initData.
    #[command(after_help = "\
Examples:
  mpbot smoke --config bot.toml --chat-id 42
  mpbot smoke --config bot.toml --chat-id 42 --init-data \"$INIT_DATA\"

Step 3 needs the bot running (mpbot run) in the configured mode. Against the emulator the step
posts a user message through the emulator's control API and waits for the bot's answer; against
MPChat it asks you to send a message to the bot and to confirm here that the bot answered.
Exit codes: 0 every step passed, 3 config error, 6 a step failed (the failing step is named).")]
    Smoke(SmokeArgs),
    /// Inspect the durable-delivery journal (`ack = "stored"`) and re-drive handled entries.
    Journal(JournalArgs),
}

/// The config file every bot command reads.
#[derive(Debug, Clone, Args)]
#[non_exhaustive]
pub struct ConfigArg {
    /// The bot's TOML config (secrets come from the environment or files it names).
    #[arg(short, long, value_name = "FILE", default_value = "mpbot.toml")]
    pub config: PathBuf,
}

/// `mpbot run`.
#[derive(Debug, Clone, Args)]
#[non_exhaustive]
pub struct RunArgs {
    /// The config.
    #[command(flatten)]
    pub config: ConfigArg,
}

/// `mpbot check`.
#[derive(Debug, Clone, Args)]
#[non_exhaustive]
pub struct CheckArgs {
    /// The config.
    #[command(flatten)]
    pub config: ConfigArg,
    /// Validate the file only; do not call MPChat.
    #[arg(long)]
    pub offline: bool,
}

/// `mpbot webhook ...`.
#[derive(Debug, Clone, Args)]
#[non_exhaustive]
pub struct WebhookArgs {
    /// What to do with the webhook.
    #[command(subcommand)]
    pub command: WebhookCommand,
}

/// The webhook subcommands.
#[derive(Debug, Clone, Subcommand)]
#[non_exhaustive]
pub enum WebhookCommand {
    /// Show what MPChat has registered (getWebhookInfo).
    #[command(after_help = "\
Examples:
  mpbot webhook info --config bot.toml
  mpbot webhook info --config bot.toml --json | jq .pending_update_count

Exit codes: 0 shown, 3 config error, 5 MPChat answered an error.")]
    Info(InfoArgs),
    /// Register the config's public_url with MPChat (high-risk: guarded, probed, dry-runnable).
    #[command(after_help = "\
Examples:
  mpbot webhook set --config bot.toml --confirm my_bot --dry-run    show the plan, probe, change nothing
  mpbot webhook set --config bot.toml --confirm my_bot              do it
  mpbot webhook set --config bot.toml --confirm my_bot --ca-cert certs/ca-cert.pem

Needs delivery.mode = \"webhook\" (or MPBOT_DELIVERY_MODE=webhook). Refuses unless --confirm is
the username getMe reports; prints the plan (current -> new); probes public_url the way MPChat
does (POST, empty body, 2xx expected) and refuses if the probe fails; after the change prints
getWebhookInfo. Exit codes: 0 done (or dry run passed), 3 config error, 4 refused (wrong
--confirm, probe failed, polling config), 5 MPChat answered an error.")]
    Set(SetArgs),
    /// Remove the webhook registration (high-risk: guarded, dry-runnable).
    #[command(after_help = "\
Examples:
  mpbot webhook delete --config bot.toml --confirm my_bot --dry-run
  mpbot webhook delete --config bot.toml --confirm my_bot
  mpbot webhook delete --config bot.toml --confirm my_bot --drop-pending-updates

Refuses unless --confirm is the username getMe reports; prints the plan first; after the change
prints getWebhookInfo. Exit codes: 0 done (or nothing to do, or dry run), 3 config error,
4 refused (wrong --confirm), 5 MPChat answered an error.")]
    Delete(DeleteArgs),
}

/// `mpbot webhook info`.
#[derive(Debug, Clone, Args)]
#[non_exhaustive]
pub struct InfoArgs {
    /// The config.
    #[command(flatten)]
    pub config: ConfigArg,
    /// Print getWebhookInfo's result as JSON (one object) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The guard every high-risk webhook command takes.
#[derive(Debug, Clone, Args)]
#[non_exhaustive]
pub struct GuardArgs {
    /// The bot's username as getMe reports it (a leading `@` is ignored); anything else is
    /// refused.
    #[arg(long, value_name = "USERNAME")]
    pub confirm: String,
    /// Print the plan (and, for set, probe the endpoint); change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `mpbot webhook set`.
#[derive(Debug, Clone, Args)]
#[non_exhaustive]
pub struct SetArgs {
    /// The config (delivery.mode must be "webhook").
    #[command(flatten)]
    pub config: ConfigArg,
    /// The guard.
    #[command(flatten)]
    pub guard: GuardArgs,
    /// A PEM root certificate the probe trusts besides the system roots (test CAs).
    #[arg(long, value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,
}

/// `mpbot webhook delete`.
#[derive(Debug, Clone, Args)]
#[non_exhaustive]
pub struct DeleteArgs {
    /// The config.
    #[command(flatten)]
    pub config: ConfigArg,
    /// The guard.
    #[command(flatten)]
    pub guard: GuardArgs,
    /// Also drop the updates MPChat holds for the bot.
    #[arg(long)]
    pub drop_pending_updates: bool,
}

/// `mpbot smoke`.
#[derive(Debug, Clone, Args)]
#[non_exhaustive]
pub struct SmokeArgs {
    /// The config.
    #[command(flatten)]
    pub config: ConfigArg,
    /// The test chat: step 3 talks in it, step 4 sends to it.
    #[arg(long, value_name = "ID", allow_negative_numbers = true)]
    pub chat_id: i64,
    /// A MiniApp's initData to verify with the bot's token (step 5; skipped without it).
    #[arg(long, value_name = "STRING")]
    pub init_data: Option<String>,
    /// The text step 3 sends as the user (emulator) or asks you to send (MPChat).
    #[arg(long, value_name = "TEXT", default_value = "/start")]
    pub text: String,
    /// How long step 3 waits for the bot's answer (or your confirmation).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub wait_secs: u64,
}

/// `mpbot journal ...`.
#[derive(Debug, Clone, Args)]
#[non_exhaustive]
pub struct JournalArgs {
    /// What to do with the journal.
    #[command(subcommand)]
    pub command: JournalCommand,
}

/// The journal subcommands.
#[derive(Debug, Clone, Subcommand)]
#[non_exhaustive]
pub enum JournalCommand {
    /// Counts: entries, unhandled, the oldest unhandled entry's age, bytes on disk. Read-only:
    /// safe while the bot runs.
    #[command(after_help = "\
Examples:
  mpbot journal stats --config bot.toml
  mpbot journal stats --dir /var/lib/mybot/mpbot-journal --json | jq .unhandled

Read-only and lock-free: works while the bot runs. Exit codes: 0 shown, 3 config error,
8 no journal there, or it is damaged (the message names the file and what to do).")]
    Stats(JournalStatsArgs),
    /// One line per entry: seq, update_id, chat_id, state, stored_at, handled_at, kind.
    /// Read-only: safe while the bot runs.
    #[command(after_help = "\
Examples:
  mpbot journal list --config bot.toml --state unhandled
  mpbot journal list --config bot.toml --after 1200 --limit 50
  mpbot journal list --dir mpbot-journal --json | jq '.entries[].update_id'
  mpbot journal list --config bot.toml --state unhandled --payload     includes user data

Message texts are user data: they are printed only with --payload. Read-only and lock-free:
works while the bot runs. When --limit cuts the list, the last line (or `next_after` in JSON)
names the --after value of the next page. Exit codes: 0 listed, 3 config error, 8 no journal
there, or it is damaged.")]
    List(JournalListArgs),
    /// Mark handled entries unhandled again so the next start of the bot handles them once
    /// more. Needs the bot stopped.
    #[command(after_help = "\
Examples:
  mpbot journal replay --config bot.toml --update-id 1001 --dry-run
  mpbot journal replay --config bot.toml --update-id 1001 --update-id 1002
  mpbot journal replay --dir mpbot-journal --update-id 1001,1002

Takes the journal's lock, so the bot must be stopped; the entries run again, in journal order,
when it next starts. Handlers see the same update_id again (their idempotency key). Nothing is
changed unless every id is in the journal. Exit codes: 0 re-queued (or dry run), 3 config error,
4 refused (the bot is running: the journal is locked; an id is not in the journal), 8 no
journal there, or it is damaged.")]
    Replay(JournalReplayArgs),
}

/// Which journal: the config's `[delivery.journal] path`, or a directory.
#[derive(Debug, Clone, Args)]
#[non_exhaustive]
pub struct JournalLocation {
    /// The bot's TOML config: its `[delivery.journal] path` is used whatever `delivery.ack`
    /// says (default `mpbot-journal` next to the config). Read like every command reads it:
    /// its token variable must be set. Default `mpbot.toml` when --dir is not given.
    #[arg(short, long, value_name = "FILE", conflicts_with = "dir")]
    pub config: Option<PathBuf>,
    /// The journal directory itself (the one holding `journal.sqlite3`); no config needed.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `mpbot journal stats`.
#[derive(Debug, Clone, Args)]
#[non_exhaustive]
pub struct JournalStatsArgs {
    /// The journal.
    #[command(flatten)]
    pub location: JournalLocation,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The entries `mpbot journal list` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
#[non_exhaustive]
pub enum StateFilter {
    /// Stored, handlers not finished: the next start replays them.
    Unhandled,
    /// Handlers finished; kept for deduplication until the retention passes.
    Handled,
    /// Both.
    #[default]
    All,
}

/// `mpbot journal list`.
#[derive(Debug, Clone, Args)]
#[non_exhaustive]
pub struct JournalListArgs {
    /// The journal.
    #[command(flatten)]
    pub location: JournalLocation,
    /// Only entries in this state.
    #[arg(long, value_enum, default_value_t = StateFilter::All)]
    pub state: StateFilter,
    /// Only entries after this seq (the next page of a cut list).
    #[arg(long, value_name = "SEQ")]
    pub after: Option<u64>,
    /// At most this many entries.
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: u32,
    /// Also print each stored update as JSON. It holds user data (message texts, names):
    /// without this flag no text is printed.
    #[arg(long)]
    pub payload: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `mpbot journal replay`.
#[derive(Debug, Clone, Args)]
#[non_exhaustive]
pub struct JournalReplayArgs {
    /// The journal.
    #[command(flatten)]
    pub location: JournalLocation,
    /// A handled entry to re-queue, by its update_id (repeatable, or comma-separated).
    #[arg(
        long = "update-id",
        value_name = "ID",
        required = true,
        value_delimiter = ','
    )]
    pub update_ids: Vec<i64>,
    /// Take the lock and print what would be re-queued; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}
