//! `mpbot journal stats|list|replay`: inspect the durable-delivery journal (`ack = "stored"`)
//! and re-drive handled entries.
//!
//! `stats` and `list` open the journal read-only without its lock ([`Journal::inspect`]), so
//! they work while the bot runs. `replay` takes the lock ([`Journal::open`]): the bot must be
//! stopped, and the entries it re-queues run when the bot next starts.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mpbot_api::UpdateId;
use mpbot_journal::{
    DATABASE_FILE, EntryState, Journal, JournalOptions, ListQuery, Seq, StoreStats, StoredEntry,
};
use serde_json::{Value, json};

use crate::text::{self, shell_word};
use crate::{
    Context, Error, Exit, JournalListArgs, JournalLocation, JournalReplayArgs, JournalStatsArgs,
    StateFilter,
};

/// The config `--config` defaults to, as for every other command.
const DEFAULT_CONFIG: &str = "mpbot.toml";
/// Entries read per query while `replay` looks up the ids it is given.
const PAGE: usize = 1000;

/// A journal directory and where its path came from (for the "no journal" advice).
struct Located {
    dir: PathBuf,
    origin: String,
}

impl Located {
    fn database(&self) -> PathBuf {
        self.dir.join(DATABASE_FILE)
    }

    /// The database path, failing with [`Error::NoJournal`] when there is none: inspecting
    /// must not create an empty journal, and neither must `replay` (`Journal::open` would).
    fn existing_database(&self) -> Result<PathBuf, Error> {
        let path = self.database();
        if path.is_file() {
            Ok(path)
        } else {
            Err(Error::NoJournal {
                path,
                origin: self.origin.clone(),
            })
        }
    }
}

/// The journal directory: `--dir`, or the config's `[delivery.journal] path`.
///
/// The config is read by the library like every command reads it, with `delivery.ack` forced
/// to `"stored"`: the facade exposes the journal settings only under `stored`, and an operator
/// who switched a bot from `stored` to `handled` must still be able to look at what the old
/// journal holds.
fn locate(location: &JournalLocation, ctx: &Context<'_>) -> Result<Located, Error> {
    if let Some(dir) = &location.dir {
        return Ok(Located {
            dir: dir.clone(),
            origin: format!("--dir {}", shell_word(dir)),
        });
    }
    let file = location
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG));
    let env = ctx.env.clone();
    let config = mpbot::config::Config::from_file_with_env(&file, move |name| {
        if name == "MPBOT_DELIVERY_ACK" {
            Some("stored".to_owned())
        } else {
            env(name)
        }
    })?;
    let dir = config.delivery.journal.as_ref().map_or_else(
        || {
            config
                .base_dir()
                .join(mpbot::config::defaults::JOURNAL_PATH)
        },
        |j| j.path.clone(),
    );
    Ok(Located {
        dir,
        origin: format!(
            "[delivery.journal] path in {} (relative to its directory), or pass --dir",
            shell_word(&file)
        ),
    })
}

/// Runs blocking journal work off the async workers (SQLite may wait up to its busy timeout
/// for a running bot's checkpoint).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Failed("the journal task failed".into(), e.into()))?
}

/// `journal stats`.
pub(crate) async fn stats(args: &JournalStatsArgs, ctx: &mut Context<'_>) -> Result<Exit, Error> {
    let at = locate(&args.location, ctx)?;
    let path = at.existing_database()?;
    let dir = at.dir.clone();
    let stats = blocking(move || Ok(Journal::inspect(&dir)?.stats()?)).await?;
    let now = SystemTime::now();
    if args.json {
        writeln!(ctx.out, "{}", pretty(&stats_json(&path, &stats, now))?)?;
    } else {
        write!(ctx.out, "{}", stats_text(&path, &stats, now))?;
    }
    Ok(Exit::Success)
}

fn stats_text(path: &Path, stats: &StoreStats, now: SystemTime) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "journal: {}", path.display());
    let _ = writeln!(
        s,
        "entries: {} ({} unhandled, {} handled and kept for deduplication)",
        stats.entries,
        stats.unhandled,
        stats.handled()
    );
    let _ = match stats.oldest_unhandled {
        Some(at) => writeln!(
            s,
            "oldest unhandled: stored {} ({} ago)",
            utc(at),
            age(now.duration_since(at).unwrap_or_default())
        ),
        None => writeln!(s, "oldest unhandled: none"),
    };
    let _ = match stats.bytes {
        Some(bytes) => writeln!(s, "bytes: {bytes} (database and write-ahead log)"),
        None => writeln!(s, "bytes: unknown"),
    };
    s
}

fn stats_json(path: &Path, stats: &StoreStats, now: SystemTime) -> Value {
    json!({
        "journal": path.display().to_string(),
        "entries": stats.entries,
        "unhandled": stats.unhandled,
        "handled": stats.handled(),
        "oldest_unhandled_unix_ms": stats.oldest_unhandled.map(unix_ms),
        "oldest_unhandled_age_secs": stats
            .oldest_unhandled
            .map(|at| now.duration_since(at).unwrap_or_default().as_secs()),
        "bytes": stats.bytes,
    })
}

/// `journal list`.
pub(crate) async fn list(args: &JournalListArgs, ctx: &mut Context<'_>) -> Result<Exit, Error> {
    let at = locate(&args.location, ctx)?;
    let path = at.existing_database()?;
    let limit = args.limit as usize;
    // One more than asked tells whether there is a next page.
    let mut query = ListQuery::new().limit(limit.saturating_add(1));
    query = match args.state {
        StateFilter::Unhandled => query.state(EntryState::Unhandled),
        StateFilter::Handled => query.state(EntryState::Handled),
        StateFilter::All => query,
    };
    if let Some(after) = args.after {
        query = query.after(Seq(i64::try_from(after).unwrap_or(i64::MAX)));
    }
    let dir = at.dir.clone();
    let mut entries = blocking(move || Ok(Journal::inspect(&dir)?.list(&query)?)).await?;
    let more = entries.len() > limit;
    entries.truncate(limit);
    let next_after = more.then(|| entries.last().map(|e| e.seq.0)).flatten();
    if args.json {
        let list: Vec<Value> = entries
            .iter()
            .map(|e| entry_json(e, args.payload))
            .collect();
        let value = json!({
            "journal": path.display().to_string(),
            "entries": list,
            "next_after": next_after,
        });
        writeln!(ctx.out, "{}", pretty(&value)?)?;
        return Ok(Exit::Success);
    }
    write!(ctx.out, "{}", list_text(&entries, args.payload))?;
    match next_after {
        Some(seq) => writeln!(
            ctx.out,
            "(limit {limit} reached: the next page is --after {seq})"
        )?,
        None if entries.is_empty() => writeln!(ctx.out, "(no entries)")?,
        None => {}
    }
    Ok(Exit::Success)
}

/// An entry's update kind (`message`, `callback_query`, ...), `-` without a payload field,
/// `(unreadable)` when the stored JSON is not an update.
fn kind(entry: &StoredEntry) -> String {
    match entry.update() {
        Ok(update) => update.payload_name().unwrap_or("-").to_owned(),
        Err(_) => "(unreadable)".to_owned(),
    }
}

/// The list as aligned columns under a header; with `payload`, the stored JSON last.
fn list_text(entries: &[StoredEntry], payload: bool) -> String {
    let mut rows = vec![vec![
        "seq".to_owned(),
        "update_id".to_owned(),
        "chat_id".to_owned(),
        "state".to_owned(),
        "stored_at".to_owned(),
        "handled_at".to_owned(),
        "kind".to_owned(),
    ]];
    if payload {
        rows[0].push("payload".to_owned());
    }
    for e in entries {
        let mut row = vec![
            e.seq.to_string(),
            e.update_id.get().to_string(),
            e.chat_id
                .map_or_else(|| "-".to_owned(), |c| c.get().to_string()),
            e.state().as_str().to_owned(),
            utc(e.stored_at),
            e.handled_at.map_or_else(|| "-".to_owned(), utc),
            kind(e),
        ];
        if payload {
            row.push(e.payload.clone());
        }
        rows.push(row);
    }
    let columns = rows[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut s = String::new();
    for row in &rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == columns {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ", w = widths[c]);
            }
        }
        let _ = writeln!(s, "{}", line.trim_end());
    }
    s
}

fn entry_json(e: &StoredEntry, payload: bool) -> Value {
    let mut value = json!({
        "seq": e.seq.0,
        "update_id": e.update_id.get(),
        "chat_id": e.chat_id.map(|c| c.get()),
        "state": e.state().as_str(),
        "stored_at_unix_ms": unix_ms(e.stored_at),
        "handled_at_unix_ms": e.handled_at.map(unix_ms),
        "kind": kind(e),
    });
    if payload {
        // The update itself as a JSON value; verbatim as a string if it is not JSON.
        value["payload"] =
            serde_json::from_str(&e.payload).unwrap_or_else(|_| Value::String(e.payload.clone()));
    }
    value
}

/// What `replay` found and did, computed while it held the lock.
struct ReplayReport {
    path: PathBuf,
    /// Handled entries to re-queue, in the order asked.
    requeue: Vec<StoredEntry>,
    /// Entries that are unhandled already (the next start runs them anyway).
    waiting: Vec<StoredEntry>,
    /// How many entries changed (`None` for a dry run).
    changed: Option<u64>,
}

/// `journal replay`.
pub(crate) async fn replay(args: &JournalReplayArgs, ctx: &mut Context<'_>) -> Result<Exit, Error> {
    let at = locate(&args.location, ctx)?;
    let path = at.existing_database()?;
    let mut ids: Vec<i64> = Vec::with_capacity(args.update_ids.len());
    for id in &args.update_ids {
        if !ids.contains(id) {
            ids.push(*id);
        }
    }
    let dry_run = args.dry_run;
    let dir = at.dir.clone();
    let report = blocking(move || replay_locked(&dir, path, &ids, dry_run)).await?;

    let out = &mut *ctx.out;
    writeln!(out, "journal: {}", report.path.display())?;
    for e in &report.requeue {
        writeln!(
            out,
            "re-queue: update {} (seq {}, chat {}, {}, handled {})",
            e.update_id.get(),
            e.seq,
            e.chat_id
                .map_or_else(|| "-".to_owned(), |c| c.get().to_string()),
            kind(e),
            e.handled_at.map_or_else(|| "-".to_owned(), utc),
        )?;
    }
    for e in &report.waiting {
        writeln!(
            out,
            "skip: update {} (seq {}) is unhandled already: the next start handles it",
            e.update_id.get(),
            e.seq
        )?;
    }
    let n = report.requeue.len();
    match report.changed {
        _ if n == 0 => writeln!(
            out,
            "nothing to re-queue: every entry named is unhandled already{}",
            if dry_run { " (dry run)" } else { "" }
        )?,
        None => writeln!(
            out,
            "dry run: {n} {} would be re-queued; nothing changed",
            entries(n as u64)
        )?,
        Some(changed) => writeln!(
            out,
            "re-queued {changed} {}: the bot handles {} again, in journal order, when it next \
             starts",
            entries(changed),
            if changed == 1 { "it" } else { "them" }
        )?,
    }
    Ok(Exit::Success)
}

/// Takes the lock, finds the entries, refuses unless every id is there, and re-queues the
/// handled ones (unless `dry_run`).
fn replay_locked(
    dir: &Path,
    path: PathBuf,
    ids: &[i64],
    dry_run: bool,
) -> Result<ReplayReport, Error> {
    let journal = match Journal::open(JournalOptions::new(dir)) {
        Ok(journal) => journal,
        Err(mpbot_journal::Error::Locked { .. }) => {
            return Err(Error::Refused(format!(
                "the journal {} is locked by a running bot (another process holds {}): replay \
                 changes the journal, so stop the bot first and run it again; `mpbot journal \
                 stats` and `list` work while it runs",
                dir.display(),
                mpbot_journal::LOCK_FILE
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let mut found: HashMap<i64, StoredEntry> = HashMap::new();
    let mut after = None;
    loop {
        let mut query = ListQuery::new().limit(PAGE);
        if let Some(seq) = after {
            query = query.after(seq);
        }
        let page = journal.list(&query)?;
        let Some(last) = page.last() else {
            break;
        };
        after = Some(last.seq);
        for entry in page {
            if ids.contains(&entry.update_id.get()) {
                found.insert(entry.update_id.get(), entry);
            }
        }
    }
    let missing: Vec<String> = ids
        .iter()
        .filter(|id| !found.contains_key(id))
        .map(ToString::to_string)
        .collect();
    if !missing.is_empty() {
        return Err(Error::Refused(format!(
            "update {} not in the journal {} (never stored, or compacted after the retention; \
             `mpbot journal list` shows what it holds): nothing was re-queued",
            missing.join(", "),
            path.display()
        )));
    }
    let (mut requeue, mut waiting) = (Vec::new(), Vec::new());
    for id in ids {
        if let Some(entry) = found.remove(id) {
            match entry.state() {
                EntryState::Handled => requeue.push(entry),
                _ => waiting.push(entry),
            }
        }
    }
    let changed = if dry_run {
        None
    } else {
        let handled: Vec<UpdateId> = requeue.iter().map(|e| e.update_id).collect();
        Some(journal.requeue(&handled)?)
    };
    Ok(ReplayReport {
        path,
        requeue,
        waiting,
        changed,
    })
}

fn entries(n: u64) -> &'static str {
    if n == 1 { "entry" } else { "entries" }
}

fn pretty(value: &Value) -> Result<String, Error> {
    serde_json::to_string_pretty(value).map_err(|e| Error::Io("encoding JSON".into(), e.into()))
}

fn unix_ms(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn utc(at: SystemTime) -> String {
    text::utc(unix_ms(at).div_euclid(1000))
}

/// `42s`, `3m 12s`, `2h 05m`, `3d 04h`.
fn age(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m {:02}s", secs / 60, secs % 60),
        3600..86_400 => format!("{}h {:02}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d {:02}h", secs / 86_400, secs % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ages read at a glance at every scale.
    #[test]
    fn ages_are_compact_at_every_scale() {
        assert_eq!(age(Duration::from_secs(42)), "42s");
        assert_eq!(age(Duration::from_secs(192)), "3m 12s");
        assert_eq!(age(Duration::from_secs(2 * 3600 + 5 * 60 + 9)), "2h 05m");
        assert_eq!(age(Duration::from_secs(3 * 86_400 + 4 * 3600)), "3d 04h");
    }
}
