//! Crash tests: the bot (`examples/crash_bot.rs`: poller or webhook → journal → dispatcher) runs
//! as a child process and is killed with SIGKILL at seeded random points while the emulator
//! (in this process, so it survives) streams a conversation; a second run on the same journal
//! must then handle every update MPChat was told was accepted, and handle twice only updates
//! whose handler was running at the kill.
//!
//! "Accepted" is MPChat's view: for the webhook, a delivery answered 2xx; for polling, an update
//! of a batch after which the poller asked for the next one (it asks only once the sink took
//! the whole batch, which under `stored` means journaled). A batch MPChat handed over but the
//! bot had not journaled when it died is consumed and lost: MPChat has no way to hand it again.
//!
//! "Running at the kill" is checked exactly: the handler fsyncs `start <id>` before its work,
//! and right after the kill the journal still lists the entry as unhandled (its handled mark
//! was not committed). Those, and only those, may be handled a second time; a handler that
//! must not repeat an effect uses the `update_id` as its idempotency key.
//!
//! `MPBOT_CRASH_ITERATIONS` sets the iterations per mode (default 20); `MPBOT_CRASH_SEED` the
//! base seed (default 1).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use std::time::Duration;

use mpbot_api::User;
use mpbot_emulator::tls::TestCa;
use mpbot_emulator::{BotHandle, DEFAULT_BOT_TOKEN, Emulator};
use mpbot_journal::{EntryState, Journal, JournalOptions, ListQuery};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Hang guard for every wait.
const GUARD: Duration = Duration::from_secs(30);
/// Chats the conversation is spread over.
const CHATS: i64 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Polling,
    Webhook,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Self::Polling => "polling",
            Self::Webhook => "webhook",
        }
    }
}

/// What one iteration saw, for the summary line.
#[derive(Debug, Default)]
struct Outcome {
    accepted: usize,
    running_at_kill: usize,
    handled_twice: usize,
    lost_unaccepted: usize,
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `target/<profile>/examples/crash_bot`, built by `cargo test` with the other targets.
fn bot_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>");
    profile_dir
        .join("examples")
        .join(format!("crash_bot{}", std::env::consts::EXE_SUFFIX))
}

/// The bot process; SIGKILLed when dropped, so a failing test leaves no orphan.
struct BotProcess(Child);

impl BotProcess {
    /// SIGKILL (what `Child::kill` sends on Unix), then reap.
    fn kill(&mut self) {
        let _ = self.0.kill();
        self.0.wait().expect("reap the bot");
    }
}

impl Drop for BotProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn spawn_bot(mode: Mode, emulator: &Emulator, dir: &Path, run: u32, seed: u64) -> BotProcess {
    let binary = bot_binary();
    let child = Command::new(&binary)
        .env("CRASH_MODE", mode.as_str())
        .env("CRASH_API_URL", emulator.api_url())
        .env("CRASH_TOKEN", DEFAULT_BOT_TOKEN)
        .env("CRASH_JOURNAL", dir.join("journal"))
        .env("CRASH_LOG", dir.join(format!("run{run}.log")))
        .env("CRASH_SEED", seed.to_string())
        .env("CRASH_TLS_DIR", dir.join("tls"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
    BotProcess(child)
}

/// The ids recorded as `start` and as `done`, in file order.
fn read_log(path: &Path) -> (Vec<i64>, Vec<i64>) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let (mut starts, mut dones) = (Vec::new(), Vec::new());
    for line in text.lines() {
        match line.split_once(' ') {
            Some(("start", id)) => starts.push(id.parse().expect("id")),
            Some(("done", id)) => dones.push(id.parse().expect("id")),
            _ => panic!("unexpected record {line:?} in {}", path.display()),
        }
    }
    (starts, dones)
}

async fn guard<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, future)
        .await
        .unwrap_or_else(|_| panic!("hang guard: {what}"))
}

fn post(bot: &BotHandle, rng: &mut StdRng, posted: &mut Vec<i64>) {
    let chat = rng.random_range(1..=CHATS);
    let id = bot
        .user_message(chat, User::new(chat), "hello")
        .update_id
        .get();
    posted.push(id);
}

/// Ids the bot reported handled (`handled <id>` messages).
fn reported(bot: &BotHandle) -> (usize, BTreeSet<i64>) {
    let sent = bot.sent();
    let ids = sent
        .iter()
        .filter_map(|m| m.text.as_deref()?.strip_prefix("handled ")?.parse().ok())
        .collect();
    (sent.len(), ids)
}

async fn iteration(mode: Mode, seed: u64, ca: &TestCa) -> Outcome {
    let emulator = Emulator::builder()
        .trust_ca_pem(ca.ca_cert_pem().as_bytes())
        .webhook_retry_backoff(Duration::from_millis(20))
        .rate_limit(None)
        .start()
        .await
        .expect("emulator");
    let bot = emulator.default_bot();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("crash-tests")
        .join(format!("{}-{seed}-{}", mode.as_str(), std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("test directory");
    ca.write_to(&dir.join("tls")).expect("certificates");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut posted = Vec::new();
    let mut accepted_polled = 0;

    // Run 1: stream bursts, then kill at a random point of the last one.
    let mut child = spawn_bot(mode, &emulator, &dir, 1, seed);
    if mode == Mode::Polling {
        guard("first long poll", bot.wait_for_long_poll()).await;
    }
    let bursts = rng.random_range(2..16);
    for burst in 0..bursts {
        for _ in 0..rng.random_range(1..=4) {
            post(&bot, &mut rng, &mut posted);
        }
        if burst + 1 == bursts {
            break;
        }
        match mode {
            Mode::Polling => {
                // Drained, then a new long poll: the poller took everything posted so far
                // (on this current-thread runtime the emulator's old poll is gone by then).
                guard("drained", bot.wait_until_drained()).await;
                guard("next long poll", bot.wait_for_long_poll()).await;
                accepted_polled = posted.len();
            }
            Mode::Webhook => {
                if rng.random_bool(0.5) {
                    let n = bot.deliveries().len() + 1;
                    guard("a delivery", bot.wait_for_deliveries(n)).await;
                }
            }
        }
    }
    match rng.random_range(0..3) {
        0 => {} // right after posting
        1 => match mode {
            // The batch is taken: the kill lands while it is journaled or handled.
            Mode::Polling => guard("drained", bot.wait_until_drained()).await,
            Mode::Webhook => {
                let n = bot.deliveries().len() + 1;
                guard("a delivery", bot.wait_for_deliveries(n)).await;
            }
        },
        _ => {
            // Handlers are running: wait for the next one to report.
            let (sent, _) = reported(&bot);
            if sent < posted.len() {
                guard("a handler", bot.wait_for_sent(sent + 1)).await;
            }
        }
    }
    child.kill();
    if mode == Mode::Polling {
        // The dead bot's long poll stays open on the server until its timeout and would take
        // what is posted meanwhile (consumed, but never accepted): let it end first.
        guard("the dead poll ends", bot.wait_for_no_long_poll()).await;
    }

    let accepted: BTreeSet<i64> = match mode {
        Mode::Polling => posted[..accepted_polled].iter().copied().collect(),
        Mode::Webhook => bot
            .deliveries()
            .iter()
            .filter(|d| d.is_success())
            .map(|d| d.update_id.get())
            .collect(),
    };
    let unhandled_at_kill: BTreeSet<i64> = {
        let journal = Journal::open(JournalOptions::new(dir.join("journal"))).expect("reopen");
        journal
            .list(
                &ListQuery::new()
                    .state(EntryState::Unhandled)
                    .limit(1_000_000),
            )
            .expect("list")
            .iter()
            .map(|e| e.update_id.get())
            .collect()
    };

    // Run 2 on the same journal, with a few new updates.
    let mut child = spawn_bot(mode, &emulator, &dir, 2, seed);
    if mode == Mode::Polling {
        guard("the new poller polls", bot.wait_for_long_poll()).await;
    }
    let before_restart = posted.len();
    for _ in 0..3 {
        post(&bot, &mut rng, &mut posted);
    }
    let mut expected: BTreeSet<i64> = match mode {
        Mode::Polling => accepted.clone(),
        // MPChat redelivers every update not answered 2xx.
        Mode::Webhook => posted[..before_restart].iter().copied().collect(),
    };
    expected.extend(&posted[before_restart..]);
    loop {
        let (sent, ids) = reported(&bot);
        if expected.is_subset(&ids) {
            break;
        }
        let missing: Vec<i64> = expected.difference(&ids).copied().collect();
        let what = format!(
            "{} seed {seed}: missing {missing:?}; posted {posted:?}, accepted {accepted:?}, \
             unhandled at kill {unhandled_at_kill:?}",
            mode.as_str()
        );
        guard(&what, bot.wait_for_sent(sent + 1)).await;
    }
    child.kill();
    emulator.shutdown().await;

    let (starts1, done1) = read_log(&dir.join("run1.log"));
    let (_, done2) = read_log(&dir.join("run2.log"));
    let started1: BTreeSet<i64> = starts1.iter().copied().collect();
    let mut counts: HashMap<i64, usize> = HashMap::new();
    for id in done1.iter().chain(&done2) {
        *counts.entry(*id).or_default() += 1;
    }
    let context = format!("mode {}, seed {seed}", mode.as_str());
    for id in &accepted {
        assert!(
            counts.contains_key(id),
            "{context}: accepted update {id} never handled"
        );
    }
    let running_at_kill: BTreeSet<i64> =
        started1.intersection(&unhandled_at_kill).copied().collect();
    let mut handled_twice = 0;
    for (id, n) in &counts {
        if *n > 1 {
            assert_eq!(*n, 2, "{context}: update {id} handled {n} times");
            assert!(
                running_at_kill.contains(id),
                "{context}: update {id} handled twice but its handler was not running at the kill"
            );
            handled_twice += 1;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Outcome {
        accepted: accepted.len(),
        running_at_kill: running_at_kill.len(),
        handled_twice,
        lost_unaccepted: posted[..before_restart]
            .iter()
            .filter(|id| !counts.contains_key(id))
            .count(),
    }
}

async fn crash_loop(mode: Mode) {
    let iterations = env_u64("MPBOT_CRASH_ITERATIONS", 20);
    let base = env_u64("MPBOT_CRASH_SEED", 1);
    let ca = TestCa::generate(&[]).expect("test CA");
    let mut total = Outcome::default();
    for i in 0..iterations {
        let seed = base.wrapping_mul(1000).wrapping_add(i);
        let outcome = iteration(mode, seed, &ca).await;
        total.accepted += outcome.accepted;
        total.running_at_kill += outcome.running_at_kill;
        total.handled_twice += outcome.handled_twice;
        total.lost_unaccepted += outcome.lost_unaccepted;
    }
    println!(
        "{}: {iterations} kills, {} accepted updates all handled, {} handlers running at a kill, \
         {} of them handled twice, {} consumed-but-unaccepted updates lost",
        mode.as_str(),
        total.accepted,
        total.running_at_kill,
        total.handled_twice,
        total.lost_unaccepted
    );
}

/// Polling under `stored`: SIGKILL at random points loses no update the poller took.
#[tokio::test(flavor = "current_thread")]
async fn polling_bot_killed_at_random_points_loses_no_accepted_update() {
    crash_loop(Mode::Polling).await;
}

/// Webhook under `stored`: SIGKILL at random points loses no update answered 200.
#[tokio::test(flavor = "current_thread")]
async fn webhook_bot_killed_at_random_points_loses_no_accepted_update() {
    crash_loop(Mode::Webhook).await;
}
