//! `mpbot journal stats|list|replay` over a real SQLite journal written with the library.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mpbot_api::{Chat, ChatType, Message, Update};
use mpbot_cli::{Exit, Shutdown};
use mpbot_journal::{
    AppendOutcome, DATABASE_FILE, Journal, JournalOptions, NewEntry, Seq, WriteBatch,
};
use serde_json::Value;

use super::support::{Output, run_cli};

/// When the seeded entries were stored: 2026-11-18 11:06:40 UTC.
const STORED_SECS: u64 = 1_795_000_000;
/// When the handled ones were marked: a minute later.
const HANDLED_SECS: u64 = STORED_SECS + 60;
/// Every seeded message's text starts with this: user data the CLI must not print by default.
const TEXT: &str = "private words of";

/// A fresh directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mpbot-cli-journal-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn str(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// A message update with a private text.
fn message(id: i64, chat: i64) -> Update {
    Update::with_message(
        id,
        Message {
            chat: Chat::new(chat, ChatType::Private),
            text: Some(format!("{TEXT} {id}")),
            ..Message::default()
        },
    )
}

/// Writes a journal into `dir` through the library's store: updates 1001 (chat 42), 1002
/// (chat 42), 1003 (chat 7), 1004 (chat -100500) stored at [`STORED_SECS`]; 1001 and 1002
/// handled at [`HANDLED_SECS`]; 1003 and 1004 unhandled. The lock is released on return.
fn seed(dir: &Path) {
    let journal = Journal::open(JournalOptions::new(dir)).unwrap();
    let appends = [(1001, 42), (1002, 42), (1003, 7), (1004, -100_500)]
        .into_iter()
        .map(|(id, chat)| NewEntry::from_update(&message(id, chat)).unwrap())
        .collect();
    let outcomes = journal
        .store()
        .commit(&WriteBatch::new(appends, Vec::new(), at(STORED_SECS)))
        .unwrap();
    let seqs: Vec<Seq> = outcomes
        .iter()
        .map(|o| match o {
            AppendOutcome::Stored(seq) => *seq,
            other => panic!("not stored: {other:?}"),
        })
        .collect();
    assert_eq!(seqs.len(), 4);
    journal
        .store()
        .commit(&WriteBatch::new(
            Vec::new(),
            seqs[..2].to_vec(),
            at(HANDLED_SECS),
        ))
        .unwrap();
}

/// A seeded journal directory.
fn seeded(name: &str) -> TempDir {
    let dir = TempDir::new(name);
    seed(dir.path());
    dir
}

async fn mpbot(args: &[&str]) -> Output {
    run_cli(args, None, Shutdown::never()).await
}

/// `stats --json` parsed.
async fn stats_json(dir: &TempDir) -> Value {
    let out = mpbot(&["journal", "stats", "--dir", dir.str(), "--json"]).await;
    assert_eq!(out.exit, Exit::Success, "{}", out.all());
    serde_json::from_str(&out.out).unwrap()
}

/// The entries of `list --json` as `(update_id, state)`.
async fn listed(dir: &TempDir, extra: &[&str]) -> (Vec<(i64, String)>, Value) {
    let mut args = vec!["journal", "list", "--dir", dir.str(), "--json"];
    args.extend_from_slice(extra);
    let out = mpbot(&args).await;
    assert_eq!(out.exit, Exit::Success, "{}", out.all());
    let value: Value = serde_json::from_str(&out.out).unwrap();
    let entries = value["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["update_id"].as_i64().unwrap(),
                e["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (entries, value)
}

/// `stats` prints the counts, the oldest unhandled entry's time and age, and the size.
#[tokio::test]
async fn stats_shows_counts_oldest_unhandled_and_bytes() {
    let dir = seeded("stats");
    let out = mpbot(&["journal", "stats", "--dir", dir.str()]).await;
    assert_eq!(out.exit, Exit::Success, "{}", out.all());
    let db = dir.path().join(DATABASE_FILE);
    assert!(
        out.out.contains(&format!("journal: {}", db.display())),
        "{}",
        out.out
    );
    assert!(
        out.out
            .contains("entries: 4 (2 unhandled, 2 handled and kept for deduplication)"),
        "{}",
        out.out
    );
    assert!(
        out.out
            .contains("oldest unhandled: stored 2026-11-18 11:06:40 UTC ("),
        "{}",
        out.out
    );
    assert!(out.out.contains(" ago)"), "{}", out.out);
    assert!(out.out.contains("bytes: "), "{}", out.out);
}

/// `stats --json` carries the same numbers, machine-readable.
#[tokio::test]
async fn stats_json_carries_the_numbers() {
    let dir = seeded("stats-json");
    let v = stats_json(&dir).await;
    assert_eq!(v["entries"], 4);
    assert_eq!(v["unhandled"], 2);
    assert_eq!(v["handled"], 2);
    assert_eq!(v["oldest_unhandled_unix_ms"], STORED_SECS * 1000);
    assert!(v["oldest_unhandled_age_secs"].as_u64().unwrap() > 0);
    assert!(v["bytes"].as_u64().unwrap() > 0);
}

/// `stats` and `list` work while a bot holds the journal's lock (they open it read-only).
#[tokio::test]
async fn stats_and_list_work_while_the_bot_holds_the_journal() {
    let dir = seeded("while-running");
    let running = Journal::open(JournalOptions::new(dir.path())).unwrap();
    assert_eq!(stats_json(&dir).await["entries"], 4);
    let (entries, _) = listed(&dir, &[]).await;
    assert_eq!(entries.len(), 4);
    drop(running);
}

/// `list` prints a header and one line per entry with its keys, state, times and kind, and no
/// message text.
#[tokio::test]
async fn list_prints_one_line_per_entry_without_message_texts() {
    let dir = seeded("list");
    let out = mpbot(&["journal", "list", "--dir", dir.str()]).await;
    assert_eq!(out.exit, Exit::Success, "{}", out.all());
    let lines: Vec<&str> = out.out.lines().collect();
    assert_eq!(lines.len(), 5, "{}", out.out);
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "seq",
            "update_id",
            "chat_id",
            "state",
            "stored_at",
            "handled_at",
            "kind"
        ]
    );
    let first = lines[1].split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(
        first,
        "1 1001 42 handled 2026-11-18 11:06:40 UTC 2026-11-18 11:07:40 UTC message"
    );
    let last = lines[4].split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(
        last,
        "4 1004 -100500 unhandled 2026-11-18 11:06:40 UTC - message"
    );
    assert!(
        !out.all().contains(TEXT),
        "a message text leaked:\n{}",
        out.out
    );
    assert!(!out.logs.contains(TEXT), "a message text leaked into logs");
}

/// `--payload` adds each stored update (texts included) to the text and JSON lists.
#[tokio::test]
async fn list_payload_prints_the_stored_updates() {
    let dir = seeded("payload");
    let out = mpbot(&["journal", "list", "--dir", dir.str(), "--payload"]).await;
    assert_eq!(out.exit, Exit::Success, "{}", out.all());
    assert!(out.out.lines().next().unwrap().ends_with("payload"));
    assert!(
        out.out.contains(&format!("\"text\":\"{TEXT} 1003\"")),
        "{}",
        out.out
    );
    let (_, value) = listed(&dir, &["--payload"]).await;
    assert_eq!(
        value["entries"][0]["payload"]["message"]["text"],
        format!("{TEXT} 1001")
    );
    let (_, value) = listed(&dir, &[]).await;
    assert!(value["entries"][0].get("payload").is_none());
    assert!(!value.to_string().contains(TEXT));
}

/// `--state`, `--after` and `--limit` select entries; a cut list names the next page.
#[tokio::test]
async fn list_filters_by_state_and_pages() {
    let dir = seeded("filters");
    let (unhandled, _) = listed(&dir, &["--state", "unhandled"]).await;
    assert_eq!(
        unhandled,
        [
            (1003, "unhandled".to_owned()),
            (1004, "unhandled".to_owned())
        ]
    );
    let (handled, _) = listed(&dir, &["--state", "handled"]).await;
    assert_eq!(
        handled,
        [(1001, "handled".to_owned()), (1002, "handled".to_owned())]
    );
    let (page, value) = listed(&dir, &["--limit", "3"]).await;
    assert_eq!(page.len(), 3);
    assert_eq!(value["next_after"], 3);
    let (rest, value) = listed(&dir, &["--limit", "3", "--after", "3"]).await;
    assert_eq!(rest, [(1004, "unhandled".to_owned())]);
    assert!(value["next_after"].is_null());
    let entry = &value["entries"][0];
    assert_eq!(entry["seq"], 4);
    assert_eq!(entry["chat_id"], -100_500);
    assert_eq!(entry["kind"], "message");
    assert_eq!(entry["stored_at_unix_ms"], STORED_SECS * 1000);
    assert!(entry["handled_at_unix_ms"].is_null());

    let out = mpbot(&["journal", "list", "--dir", dir.str(), "--limit", "2"]).await;
    assert_eq!(out.exit, Exit::Success, "{}", out.all());
    assert_eq!(
        out.out.lines().last().unwrap(),
        "(limit 2 reached: the next page is --after 2)"
    );
}

/// `replay` re-queues a handled entry: it prints what it did and `stats` counts it unhandled.
#[tokio::test]
async fn replay_requeues_handled_entries() {
    let dir = seeded("replay");
    let out = mpbot(&[
        "journal",
        "replay",
        "--dir",
        dir.str(),
        "--update-id",
        "1001",
        "--update-id",
        "1003",
    ])
    .await;
    assert_eq!(out.exit, Exit::Success, "{}", out.all());
    assert!(
        out.out.contains(
            "re-queue: update 1001 (seq 1, chat 42, message, handled 2026-11-18 11:07:40 UTC)"
        ),
        "{}",
        out.out
    );
    assert!(
        out.out
            .contains("skip: update 1003 (seq 3) is unhandled already"),
        "{}",
        out.out
    );
    assert!(out.out.contains("re-queued 1 entry: "), "{}", out.out);
    assert!(!out.all().contains(TEXT));
    let v = stats_json(&dir).await;
    assert_eq!(v["unhandled"], 3);
    let (unhandled, _) = listed(&dir, &["--state", "unhandled"]).await;
    let ids: Vec<i64> = unhandled.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [1001, 1003, 1004]);
}

/// `replay` of entries that are all unhandled already says there is nothing to do.
#[tokio::test]
async fn replay_of_unhandled_entries_has_nothing_to_do() {
    let dir = seeded("nothing");
    let out = mpbot(&[
        "journal",
        "replay",
        "--dir",
        dir.str(),
        "--update-id",
        "1004",
    ])
    .await;
    assert_eq!(out.exit, Exit::Success, "{}", out.all());
    assert!(
        out.out
            .contains("nothing to re-queue: every entry named is unhandled already"),
        "{}",
        out.out
    );
    assert!(
        !out.out.lines().any(|l| l.starts_with("re-queue:")),
        "{}",
        out.out
    );
    assert_eq!(stats_json(&dir).await["unhandled"], 2);
}

/// `replay --dry-run` shows the plan and changes nothing.
#[tokio::test]
async fn replay_dry_run_changes_nothing() {
    let dir = seeded("dry-run");
    let out = mpbot(&[
        "journal",
        "replay",
        "--dir",
        dir.str(),
        "--update-id",
        "1001,1002",
        "--dry-run",
    ])
    .await;
    assert_eq!(out.exit, Exit::Success, "{}", out.all());
    assert!(out.out.contains("re-queue: update 1001"), "{}", out.out);
    assert!(out.out.contains("re-queue: update 1002"), "{}", out.out);
    assert!(
        out.out
            .contains("dry run: 2 entries would be re-queued; nothing changed"),
        "{}",
        out.out
    );
    assert_eq!(stats_json(&dir).await["unhandled"], 2);
}

/// `replay` refuses (exit 4) while a bot holds the journal's lock, and changes nothing.
#[tokio::test]
async fn replay_refuses_while_the_bot_holds_the_lock() {
    let dir = seeded("locked");
    let running = Journal::open(JournalOptions::new(dir.path())).unwrap();
    for extra in [None, Some("--dry-run")] {
        let mut args = vec![
            "journal",
            "replay",
            "--dir",
            dir.str(),
            "--update-id",
            "1001",
        ];
        args.extend(extra);
        let out = mpbot(&args).await;
        assert_eq!(out.exit, Exit::Refused, "{}", out.all());
        assert!(
            out.err.contains("refused: the journal")
                && out.err.contains("is locked by a running bot")
                && out.err.contains("stop the bot first"),
            "{}",
            out.err
        );
        assert!(out.err.contains(dir.str()), "{}", out.err);
    }
    drop(running);
    assert_eq!(stats_json(&dir).await["unhandled"], 2);
}

/// `replay` with an id the journal does not hold refuses and re-queues none of the others.
#[tokio::test]
async fn replay_of_an_unknown_id_refuses_and_changes_nothing() {
    let dir = seeded("unknown");
    let out = mpbot(&[
        "journal",
        "replay",
        "--dir",
        dir.str(),
        "--update-id",
        "1001",
        "--update-id",
        "9999",
    ])
    .await;
    assert_eq!(out.exit, Exit::Refused, "{}", out.all());
    assert!(
        out.err.contains("update 9999 not in the journal")
            && out.err.contains("nothing was re-queued"),
        "{}",
        out.err
    );
    assert_eq!(stats_json(&dir).await["unhandled"], 2);
}

/// A damaged journal file is exit 8 with the library's message: the file, and what to do.
#[tokio::test]
async fn a_corrupt_journal_is_reported_with_its_file_and_the_fix() {
    let dir = TempDir::new("corrupt");
    let db = dir.path().join(DATABASE_FILE);
    std::fs::write(&db, vec![0x5a; 8192]).unwrap();
    for command in ["stats", "list", "replay"] {
        let mut args = vec!["journal", command, "--dir", dir.str()];
        if command == "replay" {
            args.extend(["--update-id", "1"]);
        }
        let out = mpbot(&args).await;
        assert_eq!(out.exit, Exit::Journal, "{command}: {}", out.all());
        assert_eq!(out.exit.code(), 8);
        assert!(
            out.err
                .contains(&format!("the journal {} cannot be used", db.display())),
            "{command}: {}",
            out.err
        );
        assert!(out.err.contains(".bad"), "{command}: {}", out.err);
    }
    // Left untouched: never reset.
    assert_eq!(std::fs::read(&db).unwrap(), vec![0x5a; 8192]);
}

/// No journal where `--dir` points: exit 8 naming the file, and nothing is created.
#[tokio::test]
async fn a_missing_journal_is_reported_and_not_created() {
    let dir = TempDir::new("missing");
    for command in ["stats", "list", "replay"] {
        let mut args = vec!["journal", command, "--dir", dir.str()];
        if command == "replay" {
            args.extend(["--update-id", "1"]);
        }
        let out = mpbot(&args).await;
        assert_eq!(out.exit, Exit::Journal, "{command}: {}", out.all());
        assert!(
            out.err.contains(&format!(
                "no journal at {}",
                dir.path().join(DATABASE_FILE).display()
            )),
            "{command}: {}",
            out.err
        );
        assert!(out.err.contains("check --dir"), "{command}: {}", out.err);
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// `--config` finds the journal at `[delivery.journal] path` (relative to the config) even
/// when `ack` is not `stored`, and names that key when nothing is there.
#[tokio::test]
async fn config_locates_the_journal_whatever_the_ack() {
    let dir = TempDir::new("config");
    seed(&dir.path().join("state"));
    let config = dir.path().join("bot.toml");
    let write = |path: &str| {
        std::fs::write(
            &config,
            format!(
                "[bot]\ntoken_env = \"MPCHAT_BOT_TOKEN\"\n\n[delivery]\nmode = \"polling\"\n\
                 ack = \"handled\"\n\n[delivery.journal]\npath = \"{path}\"\n"
            ),
        )
        .unwrap();
    };
    write("state");
    let config_arg = config.to_str().unwrap();
    let out = mpbot(&["journal", "stats", "-c", config_arg, "--json"]).await;
    assert_eq!(out.exit, Exit::Success, "{}", out.all());
    let v: Value = serde_json::from_str(&out.out).unwrap();
    assert_eq!(v["entries"], 4);
    assert_eq!(
        v["journal"],
        dir.path()
            .join("state")
            .join(DATABASE_FILE)
            .display()
            .to_string()
    );

    write("elsewhere");
    let out = mpbot(&["journal", "list", "--config", config_arg]).await;
    assert_eq!(out.exit, Exit::Journal, "{}", out.all());
    assert!(
        out.err.contains("check [delivery.journal] path in") && out.err.contains("elsewhere"),
        "{}",
        out.err
    );
}

/// A config that does not load is a config error (3), as for every command.
#[tokio::test]
async fn a_broken_config_is_a_config_error() {
    let dir = TempDir::new("broken");
    let config = dir.path().join("bot.toml");
    std::fs::write(&config, "[delivery]\nmode = \"poling\"\n").unwrap();
    let out = mpbot(&["journal", "stats", "-c", config.to_str().unwrap()]).await;
    assert_eq!(out.exit, Exit::Config, "{}", out.all());
}
