//! Helpers shared by the journal's integration tests.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use mpbot_api::{Chat, ChatType, Message, Update, UpdateId};
use mpbot_core::{Deliver, Delivered, Refused, Shutdown, ShutdownTrigger, UpdateSink, async_trait};
use mpbot_journal::{
    AppendOutcome, Error, Journal, JournalOptions, JournalSink, JournalSource, JournalStore,
    ListQuery, Seq, SqliteStore, StoreStats, StoredEntry, WriteBatch,
};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;

/// Hang guard for awaits.
pub(crate) const GUARD: Duration = Duration::from_secs(10);

/// A fresh, empty directory under the target's temporary directory.
pub(crate) fn fresh_dir(name: &str) -> TestDir {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("journal-tests")
        .join(format!("{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the test directory");
    TestDir(dir)
}

/// A test's directory: deleted when the test passes, kept when it panics, so a failure's
/// journal can be opened with `mpbot journal` or `sqlite3` afterwards.
#[derive(Debug)]
pub(crate) struct TestDir(PathBuf);

impl Deref for TestDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TestDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl From<&TestDir> for PathBuf {
    fn from(dir: &TestDir) -> Self {
        dir.0.clone()
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A message update in `chat`.
pub(crate) fn update(id: i64, chat: i64) -> Update {
    Update::with_message(
        id,
        Message {
            chat: Chat::new(chat, ChatType::Private),
            text: Some(format!("update {id}")),
            ..Message::default()
        },
    )
}

/// An inner sink that records what it is handed and, when gated, resolves only once a permit
/// is added (like the dispatcher under `handled`: resolves after the handler finished).
#[derive(Clone)]
pub(crate) struct Recorder {
    seen: mpsc::UnboundedSender<UpdateId>,
    gate: Option<Arc<Semaphore>>,
}

impl Recorder {
    /// Resolves at once.
    pub(crate) fn open() -> (Self, mpsc::UnboundedReceiver<UpdateId>) {
        let (seen, rx) = mpsc::unbounded_channel();
        (Self { seen, gate: None }, rx)
    }

    /// Resolves one delivery per permit added to the returned semaphore.
    pub(crate) fn gated() -> (Self, mpsc::UnboundedReceiver<UpdateId>, Arc<Semaphore>) {
        let (seen, rx) = mpsc::unbounded_channel();
        let gate = Arc::new(Semaphore::new(0));
        (
            Self {
                seen,
                gate: Some(Arc::clone(&gate)),
            },
            rx,
            gate,
        )
    }

    pub(crate) fn sink(&self) -> UpdateSink {
        UpdateSink::new(self.clone())
    }
}

#[async_trait]
impl Deliver for Recorder {
    async fn deliver(&self, update: Update) -> Result<Delivered, Refused> {
        let _ = self.seen.send(update.update_id);
        if let Some(gate) = &self.gate {
            gate.acquire().await.expect("gate open").forget();
        }
        Ok(Delivered::Accepted)
    }

    fn free_capacity(&self) -> usize {
        usize::MAX
    }

    async fn wait_for_capacity(&self) {}
}

/// Receives `n` ids.
pub(crate) async fn recv_n(rx: &mut mpsc::UnboundedReceiver<UpdateId>, n: usize) -> Vec<i64> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let id = tokio::time::timeout(GUARD, rx.recv())
            .await
            .expect("hang guard")
            .expect("recorder alive");
        out.push(id.get());
    }
    out
}

/// Opens and starts the journal `options` describe.
pub(crate) fn started(options: JournalOptions) -> (JournalSink, JournalSource) {
    Journal::open(options)
        .expect("open")
        .start()
        .expect("start")
}

/// A feeder running on its own task, and what stops it.
pub(crate) struct Feeding {
    trigger: ShutdownTrigger,
    task: JoinHandle<()>,
}

impl Feeding {
    /// Starts `source` feeding `sink`.
    pub(crate) fn start(source: JournalSource, sink: UpdateSink) -> Self {
        let (trigger, shutdown) = Shutdown::new();
        Self {
            trigger,
            task: tokio::spawn(source.feed(sink, shutdown)),
        }
    }

    /// Asks it to stop without waiting (a test can then let a running handler finish).
    pub(crate) fn request_stop(&self) {
        self.trigger.trigger();
    }

    /// Waits until it returned: the journal is closed and its handled marks committed.
    pub(crate) async fn stopped(self) {
        tokio::time::timeout(GUARD, self.task)
            .await
            .expect("guard")
            .expect("join");
    }

    /// Stops it and waits until it returned.
    pub(crate) async fn stop(self) {
        self.request_stop();
        self.stopped().await;
    }
}

/// Stops a feeder that runs nothing: it closes the journal (commits marks, frees the lock).
pub(crate) async fn close(source: JournalSource) {
    let (trigger, shutdown) = Shutdown::new();
    trigger.trigger();
    let (recorder, _rx) = Recorder::open();
    tokio::time::timeout(GUARD, source.feed(recorder.sink(), shutdown))
        .await
        .expect("hang guard");
}

/// A store around SQLite whose writes can be made to fail (a full disk) and whose commits can
/// be held (to pile up concurrent appends).
#[derive(Debug)]
pub(crate) struct TestStore {
    pub(crate) inner: SqliteStore,
    pub(crate) fail: AtomicBool,
    /// When set, each commit first takes a permit (tests add them to let commits through).
    pub(crate) hold: Option<Arc<std::sync::Mutex<std::sync::mpsc::Receiver<()>>>>,
    /// Told when a commit starts.
    pub(crate) entered: Option<std::sync::Mutex<std::sync::mpsc::Sender<usize>>>,
}

impl TestStore {
    pub(crate) fn new(inner: SqliteStore) -> Self {
        Self {
            inner,
            fail: AtomicBool::new(false),
            hold: None,
            entered: None,
        }
    }
}

impl JournalStore for TestStore {
    fn location(&self) -> String {
        self.inner.location()
    }

    fn commit(&self, batch: &WriteBatch) -> Result<Vec<AppendOutcome>, Error> {
        if let Some(entered) = &self.entered {
            let _ = entered.lock().unwrap().send(batch.appends.len());
        }
        if let Some(hold) = &self.hold {
            let _ = hold.lock().unwrap().recv();
        }
        if self.fail.load(Ordering::SeqCst) {
            return Err(Error::Full {
                detail: "simulated: no space left on device".to_owned(),
            });
        }
        self.inner.commit(batch)
    }

    fn load_unhandled(&self, after: Option<Seq>, limit: usize) -> Result<Vec<StoredEntry>, Error> {
        self.inner.load_unhandled(after, limit)
    }

    fn contains(&self, update_id: UpdateId) -> Result<bool, Error> {
        self.inner.contains(update_id)
    }

    fn compact(&self, handled_before: SystemTime) -> Result<u64, Error> {
        self.inner.compact(handled_before)
    }

    fn requeue(&self, update_ids: &[UpdateId]) -> Result<u64, Error> {
        self.inner.requeue(update_ids)
    }

    fn list(&self, query: &ListQuery) -> Result<Vec<StoredEntry>, Error> {
        self.inner.list(query)
    }

    fn stats(&self) -> Result<StoreStats, Error> {
        self.inner.stats()
    }
}

/// A passing test's directory goes away with it; a panicking test's stays for a look.
#[test]
fn test_dirs_are_deleted_when_the_test_passes_and_kept_when_it_panics() {
    let passing = fresh_dir("passes");
    let path = passing.to_path_buf();
    std::fs::write(path.join("journal.sqlite3"), b"entries").expect("write");
    drop(passing);
    assert!(!path.exists(), "a passing test's directory is deleted");

    let kept = std::sync::Mutex::new(None);
    let outcome = std::panic::catch_unwind(|| {
        let failing = fresh_dir("panics");
        *kept.lock().expect("lock") = Some(failing.to_path_buf());
        panic!("deliberate: a panicking test must keep its directory");
    });
    assert!(outcome.is_err());
    let kept = kept.into_inner().expect("lock").expect("the closure ran");
    assert!(kept.is_dir(), "a panicking test's directory is kept");
    std::fs::remove_dir_all(&kept).expect("clean up");
}
