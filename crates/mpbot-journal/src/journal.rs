//! Opening a journal, inspecting it, and starting it.

use std::fs::{File, TryLockError};
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use mpbot_api::UpdateId;
use tokio::sync::mpsc;

use crate::options::{LOCK_FILE, database_path};
use crate::shared::{Fed, Shared};
use crate::{
    Error, JournalOptions, JournalSink, JournalSource, JournalStore, ListQuery, Seq, SqliteStore,
    StoreStats, StoredEntry, writer,
};

/// How many unhandled entries are read per query when a journal starts.
const LOAD_PAGE: usize = 1000;

/// A durable journal of updates: what makes `ack = "stored"` real.
///
/// [`Journal::open`] opens (or creates) the embedded SQLite journal in a directory and takes
/// its lock; [`Journal::start`] splits it into the [`JournalSink`] the real source delivers
/// into and the [`JournalSource`] the dispatcher runs. [`Journal::inspect`] opens it read-only
/// for `mpbot journal stats|list` while a bot may be running.
///
/// # Examples
///
/// ```no_run
/// use mpbot_core::{Shutdown, UpdateSink, UpdateSource};
/// use mpbot_journal::{Journal, JournalOptions};
///
/// // `source` is the poller or webhook listener; `dispatch` the dispatcher's sink for
/// // `JournalSource::info()` (with `ack = handled`: it resolves once the handlers finished).
/// # fn wire(source: Box<dyn UpdateSource>, dispatch: UpdateSink)
/// # -> Result<(), Box<dyn std::error::Error>> {
/// let journal = Journal::open(JournalOptions::new("mpbot-journal"))?;
/// let (sink, feeder) = journal.start()?;
/// let (_trigger, shutdown) = Shutdown::new();
/// // The real source delivers into the journal (refusing for a webhook, waiting for a poller)...
/// let source_sink = sink.for_source(&source.describe());
/// tokio::spawn(source.run(source_sink, shutdown.clone()));
/// // ...and the feeder hands the journaled updates to the handlers (or run the feeder as the
/// // dispatcher's source: `dispatcher.run(Box::new(feeder), shutdown)`).
/// tokio::spawn(feeder.feed(dispatch, shutdown));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Journal {
    store: Arc<dyn JournalStore>,
    options: JournalOptions,
    lock: Option<File>,
    read_only: bool,
}

impl Journal {
    /// Opens the journal in `options.dir` (creating the directory and the database when
    /// missing) and takes its lock.
    ///
    /// # Errors
    /// - [`Error::Locked`]: another process holds this journal.
    /// - [`Error::Corrupt`]: the file is damaged or not a journal; it is left untouched and
    ///   the message says what to do.
    /// - [`Error::Open`]: the directory or file cannot be created or opened.
    pub fn open(options: JournalOptions) -> Result<Self, Error> {
        std::fs::create_dir_all(&options.dir).map_err(|e| Error::Open {
            path: options.dir.clone(),
            source: e.into(),
        })?;
        let lock_path = options.dir.join(LOCK_FILE);
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::Open {
                path: lock_path.clone(),
                source: e.into(),
            })?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(Error::Locked {
                    path: options.dir.clone(),
                });
            }
            Err(TryLockError::Error(e)) => {
                return Err(Error::Open {
                    path: lock_path,
                    source: e.into(),
                });
            }
        }
        let store = SqliteStore::open(options.database_path(), options.max_bytes)?;
        tracing::info!(path = %store.path().display(), "journal opened");
        Ok(Self {
            store: Arc::new(store),
            options,
            lock: Some(lock),
            read_only: false,
        })
    }

    /// Opens the journal in `dir` read-only, without its lock, for inspection
    /// ([`Journal::stats`], [`Journal::list`]); it cannot be started or changed.
    ///
    /// # Errors
    /// [`Error::Open`] when there is no journal there, [`Error::Corrupt`] as for
    /// [`Journal::open`].
    pub fn inspect(dir: impl AsRef<Path>) -> Result<Self, Error> {
        let store = SqliteStore::open_read_only(database_path(dir.as_ref()))?;
        Ok(Self {
            store: Arc::new(store),
            options: JournalOptions::new(dir.as_ref()),
            lock: None,
            read_only: true,
        })
    }

    /// A journal over another store (a server-backed one, or a test double). `options.dir`
    /// is not used; locking is the store's business.
    pub fn with_store(store: Arc<dyn JournalStore>, options: JournalOptions) -> Self {
        Self {
            store,
            options,
            lock: None,
            read_only: false,
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn JournalStore> {
        &self.store
    }

    /// The options in effect.
    pub fn options(&self) -> &JournalOptions {
        &self.options
    }

    /// Counts and counters (`mpbot journal stats`).
    ///
    /// # Errors
    /// The store's read error.
    pub fn stats(&self) -> Result<StoreStats, Error> {
        self.store.stats()
    }

    /// Entries with their state (`mpbot journal list`).
    ///
    /// # Errors
    /// The store's read error.
    pub fn list(&self, query: &ListQuery) -> Result<Vec<StoredEntry>, Error> {
        self.store.list(query)
    }

    /// Marks handled entries unhandled again so the next start hands them to the handlers once
    /// more (`mpbot journal replay`). Needs the journal opened with [`Journal::open`], so the
    /// bot must be stopped. Returns how many entries changed.
    ///
    /// # Errors
    /// [`Error::ReadOnly`] for an inspected journal; the store's write error.
    pub fn requeue(&self, update_ids: &[UpdateId]) -> Result<u64, Error> {
        if self.read_only {
            return Err(Error::ReadOnly);
        }
        self.store.requeue(update_ids)
    }

    /// Deletes handled entries older than the retention now. Returns how many.
    ///
    /// # Errors
    /// [`Error::ReadOnly`] for an inspected journal; the store's write error.
    pub fn compact(&self) -> Result<u64, Error> {
        if self.read_only {
            return Err(Error::ReadOnly);
        }
        let before = SystemTime::now()
            .checked_sub(self.options.retention)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        self.store.compact(before)
    }

    /// Compacts, loads the entries the previous run left unhandled, starts the writer thread,
    /// and returns the sink for the real source and the feeder for the dispatcher.
    ///
    /// Blocks while it reads the journal: call it at start-up (or in `spawn_blocking`).
    ///
    /// # Errors
    /// [`Error::ReadOnly`] for an inspected journal; a read error of the store (an entry that
    /// cannot be decoded is logged and left in the journal, not an error); [`Error::Store`]
    /// when the writer thread cannot be spawned.
    pub fn start(self) -> Result<(JournalSink, JournalSource), Error> {
        if self.read_only {
            return Err(Error::ReadOnly);
        }
        self.compact()?;
        let mut replay = Vec::new();
        let mut unhandled = 0;
        let mut after: Option<Seq> = None;
        loop {
            let page = self.store.load_unhandled(after, LOAD_PAGE)?;
            let Some(last) = page.last() else {
                break;
            };
            after = Some(last.seq);
            for entry in page {
                unhandled += 1;
                match entry.update() {
                    Ok(update) => replay.push(Fed {
                        seq: entry.seq,
                        update,
                    }),
                    Err(error) => tracing::error!(
                        seq = entry.seq.0,
                        update_id = entry.update_id.get(),
                        %error,
                        "journal entry cannot be decoded; left unhandled (see `mpbot journal list`)"
                    ),
                }
            }
        }
        if !replay.is_empty() {
            tracing::info!(
                entries = replay.len(),
                "replaying unhandled journal entries"
            );
        }
        let shared = Arc::new(Shared::new(
            Arc::clone(&self.store),
            self.options,
            unhandled,
        ));
        let (requests, receiver) = std::sync::mpsc::channel();
        let (feed, fed) = mpsc::unbounded_channel();
        writer::spawn(Arc::clone(&shared), receiver, feed, self.lock).map_err(Error::store)?;
        Ok((
            JournalSink::new(Arc::clone(&shared), requests.clone()),
            JournalSource::new(shared, requests, replay, fed),
        ))
    }
}
