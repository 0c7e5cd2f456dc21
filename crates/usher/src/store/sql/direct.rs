//! The SQLite writer: one thread, one connection, group commit.
//!
//! sqlx drives an SQLite connection from a worker thread: every statement,
//! every `BEGIN` and `COMMIT`, and the pool's liveness check on acquire and
//! on release is a round trip between two threads, and every transaction
//! commits on its own. A stream admission took eight round trips and wrote
//! some fifteen WAL frames. The hot paths (stream starts, stops, heartbeats
//! and the activity history) therefore run here instead, on a connection
//! opened with rusqlite and owned by one thread:
//!
//! - a caller sends its whole transaction as one job and awaits the answer:
//!   one round trip, however many statements;
//! - the thread runs every job waiting in one SQLite transaction, each inside
//!   its own savepoint (a job that fails is rolled back alone), commits once,
//!   and only then answers each caller. Jobs that arrive together share one
//!   commit, and a B-tree page several of them change is written once.
//!
//! An answer is sent after the commit, so an acknowledged write is in the
//! WAL (and survives `kill -9`, as with every commit in WAL mode).
//!
//! Writes stay serial, as with one writer connection: jobs run one after
//! another on this thread, and an sqlx write transaction first pauses the
//! thread between two batches ([`Direct::lock`]) and lets it go on when it
//! commits or is dropped, so the process never has two write transactions
//! open. Another process writing the file (the `usher` CLI) is serialised by
//! SQLite: batches begin `IMMEDIATE`, taking the file's write lock before
//! any job reads, and wait for it up to the busy timeout.
//!
//! Checkpoints: the connection never checkpoints on commit. After every
//! [`CHECKPOINT_AFTER`] commits, a second thread with its own connection
//! copies the WAL into the database file and syncs it, while the writer goes
//! on; then the writer, between two batches, copies the few frames committed
//! meanwhile. With no write in between, that last step leaves nothing
//! behind, and the next batch starts the WAL again from its beginning. (A
//! checkpoint that only races a stream of writes never catches up: the WAL
//! then grows without bound, and on Linux 6.x ext4, writing past its end into
//! fresh page-cache folios costs more than SQLite's own work. One that only
//! runs on the writer stalls every write for the whole copy and sync.) An
//! idle writer checkpoints after [`CHECKPOINT_EVERY`].
//!
//! The SQL is the store's shared text, with `$N` parameters: SQLite reads
//! `$1` as a parameter named "$1", and [`statement`] binds each by its name.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use rusqlite::types::ToSql;
use rusqlite::{CachedStatement, Connection, ErrorCode, OpenFlags, Row, TransactionBehavior};
use tokio::sync::oneshot;

use super::rows::Columns;
use super::Synchronous;
use crate::store::{StoreError, StoreResult};

/// How long a batch waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Jobs per transaction at most.
const BATCH: usize = 256;
/// Commits between checkpoints (a batch of stream starts writes some tens
/// of WAL frames, so the WAL stays within a few megabytes).
const CHECKPOINT_AFTER: u32 = 128;
/// Commits after asking for a bulk copy before the writer stops waiting
/// for it and copies itself.
const CHECKPOINT_LATE: u32 = 4 * CHECKPOINT_AFTER;
/// How long the thread waits idle before it checkpoints what sqlx's writer
/// or its own last commits left in the WAL.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);
/// The writer connection's page cache (a negative `cache_size` is KiB).
const WRITER_CACHE_KIB: i64 = -32 * 1024;
/// The WAL file is cut back to this size after a checkpoint that emptied it.
const WAL_SIZE_LIMIT: i64 = 64 << 20;
const PARAMETERS: [&str; 12] = [
    "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12",
];

/// What a job leaves to do once its batch has committed (or failed to).
type Answer = Box<dyn FnOnce(Result<(), &str>) + Send>;

/// A caller's transaction, waiting for its batch.
trait WriteJob: Send {
    /// Runs in the batch's transaction; true when it succeeded (its
    /// savepoint is kept).
    fn run(self: Box<Self>, conn: &Connection) -> (bool, Answer);
    /// Answers without running: the batch could not begin.
    fn fail(self: Box<Self>, error: &str);
}

struct Pending<T, F> {
    work: F,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> WriteJob for Pending<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> StoreResult<T> + Send,
{
    fn run(self: Box<Self>, conn: &Connection) -> (bool, Answer) {
        let Pending { work, reply } = *self;
        let result = work(conn);
        let ok = result.is_ok();
        let answer: Answer = Box::new(move |committed: Result<(), &str>| {
            let _ = reply.send(match committed {
                Ok(()) => result,
                Err(e) => result.and(Err(not_committed(e))),
            });
        });
        (ok, answer)
    }

    fn fail(self: Box<Self>, error: &str) {
        let _ = self.reply.send(Err(not_committed(error)));
    }
}

enum Job {
    Write(Box<dyn WriteJob>),
    /// Holds the thread, outside any transaction, until `resume` is dropped.
    Pause {
        paused: oneshot::Sender<()>,
        resume: mpsc::Receiver<()>,
    },
}

/// The store's write lock, held by an sqlx write transaction: the writer
/// thread waits until it is dropped.
pub(crate) struct WriteLock {
    _resume: mpsc::Sender<()>,
}

pub(super) struct Direct {
    /// Dropped with the store, which ends the thread.
    jobs: mpsc::Sender<Job>,
}

impl Direct {
    /// Opens the already migrated database file and starts the writer thread.
    pub(super) fn open(path: &str, synchronous: Synchronous) -> anyhow::Result<Self> {
        let conn = connect(path)?;
        conn.pragma_update(None, "synchronous", synchronous.pragma_value())?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
        // Each job's savepoint keeps the pages it changes in a sub-journal:
        // in memory, not in a temporary file.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // The writer touches every account's index pages; a larger cache
        // than the default 2 MiB keeps them.
        conn.pragma_update(None, "cache_size", WRITER_CACHE_KIB)?;
        conn.set_prepared_statement_cache_capacity(32);
        let (jobs, queue) = mpsc::channel();
        let (wake, woken) = mpsc::sync_channel(1);
        let copied = Arc::new(AtomicBool::new(false));
        let checkpointer = Checkpointer {
            wake,
            copied: copied.clone(),
            commits: 0,
            asked: false,
        };
        let bulk = connect(path)?;
        std::thread::Builder::new()
            .name("usher-sqlite-checkpoint".into())
            .spawn(move || run_checkpointer(bulk, woken, copied))?;
        std::thread::Builder::new()
            .name("usher-sqlite-writer".into())
            .spawn(move || run_writer(conn, queue, checkpointer))?;
        Ok(Self { jobs })
    }

    /// Takes the store's write lock: waits until the writer thread is
    /// between batches and holds it there until the lock is dropped.
    pub(super) async fn lock(&self) -> StoreResult<WriteLock> {
        let (paused, is_paused) = oneshot::channel();
        let (resume, wait) = mpsc::channel();
        self.jobs
            .send(Job::Pause {
                paused,
                resume: wait,
            })
            .map_err(|_| stopped())?;
        is_paused.await.map_err(|_| stopped())?;
        Ok(WriteLock { _resume: resume })
    }

    /// Runs `work` as one job of the writer's next batch: committed with the
    /// batch if it returns `Ok`, rolled back alone otherwise. Answers once
    /// the batch has committed.
    ///
    /// The job is queued when this is called, not when it is first polled.
    pub(super) fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> impl std::future::Future<Output = StoreResult<T>> + Send + 'static {
        let (reply, answer) = oneshot::channel();
        let queued = self
            .jobs
            .send(Job::Write(Box::new(Pending { work, reply })));
        async move {
            queued.map_err(|_| stopped())?;
            // Dropped unanswered only if the job panicked (and was rolled back).
            answer.await.map_err(|_| {
                StoreError::Other(anyhow::anyhow!(
                    "a write failed on the SQLite writer thread"
                ))
            })?
        }
    }
}

fn not_committed(error: &str) -> StoreError {
    StoreError::Unavailable(anyhow::anyhow!("the write was not committed: {error}"))
}

fn stopped() -> StoreError {
    StoreError::Other(anyhow::anyhow!("the SQLite writer thread has stopped"))
}

/// The writer's side of the checkpoint thread.
struct Checkpointer {
    /// Asks for a bulk copy.
    wake: mpsc::SyncSender<()>,
    /// Set when a bulk copy is done: the writer finishes it.
    copied: Arc<AtomicBool>,
    /// Commits since the last copy was asked for or finished.
    commits: u32,
    /// A bulk copy is asked for and not yet finished.
    asked: bool,
}

/// Copies the WAL into the database file when the writer asks, without
/// stopping it; ends when the writer does.
fn run_checkpointer(conn: Connection, woken: mpsc::Receiver<()>, copied: Arc<AtomicBool>) {
    while woken.recv().is_ok() {
        checkpoint(&conn);
        copied.store(true, Ordering::Release);
    }
}

impl Checkpointer {
    /// After each batch: asks for a bulk copy every [`CHECKPOINT_AFTER`]
    /// commits and finishes it once done. If the copy is late (its thread
    /// starved of CPU), the writer copies itself, so the WAL stays bounded.
    fn after_commit(&mut self, conn: &Connection) {
        self.commits += 1;
        if self.copied.swap(false, Ordering::Acquire)
            || (self.asked && self.commits >= CHECKPOINT_LATE)
        {
            // What was committed while the bulk copy ran (or all of it).
            checkpoint(conn);
            self.commits = 0;
            self.asked = false;
        } else if !self.asked && self.commits >= CHECKPOINT_AFTER {
            self.asked = true;
            // Full: a copy is asked for already.
            let _ = self.wake.try_send(());
        }
    }

    /// When the writer is idle: copies what is left.
    fn when_idle(&mut self, conn: &Connection) {
        checkpoint(conn);
        self.copied.store(false, Ordering::Relaxed);
        self.commits = 0;
        self.asked = false;
    }
}

fn run_writer(mut conn: Connection, queue: mpsc::Receiver<Job>, mut checkpointer: Checkpointer) {
    loop {
        let first = match queue.recv_timeout(CHECKPOINT_EVERY) {
            Ok(job) => job,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                checkpointer.when_idle(&conn);
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Pause { paused, resume } => {
                    if paused.send(()).is_ok() {
                        // Err once the lock is dropped.
                        let _ = resume.recv();
                    }
                }
                Job::Write(work) => {
                    let mut batch = vec![work];
                    while batch.len() < BATCH {
                        match queue.try_recv() {
                            Ok(Job::Write(work)) => batch.push(work),
                            Ok(pause) => {
                                next = Some(pause);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    run_batch(&mut conn, batch);
                    checkpointer.after_commit(&conn);
                }
            }
        }
    }
}

/// Runs the jobs in one transaction, each in its own savepoint, commits,
/// and answers them.
fn run_batch(conn: &mut Connection, batch: Vec<Box<dyn WriteJob>>) {
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let e = e.to_string();
            tracing::error!(error = %e, "the SQLite writer could not begin a transaction");
            for job in batch {
                job.fail(&e);
            }
            return;
        }
    };
    let mut answers = Vec::with_capacity(batch.len());
    for job in batch {
        if let Err(e) = execute(&tx, "SAVEPOINT job", &[]) {
            job.fail(&e.to_string());
            continue;
        }
        let keep = match catch_unwind(AssertUnwindSafe(|| job.run(&tx))) {
            Ok((ok, answer)) => {
                answers.push(answer);
                ok
            }
            // The caller sees its answer dropped: "the writer has stopped".
            Err(_) => {
                tracing::error!("a write job panicked; it was rolled back");
                false
            }
        };
        let undone = if keep {
            Ok(0)
        } else {
            execute(&tx, "ROLLBACK TO job", &[])
        };
        if let Err(e) = undone.and_then(|_| execute(&tx, "RELEASE job", &[])) {
            tracing::error!(error = %e, "the SQLite writer could not end a savepoint");
        }
    }
    let committed = tx.commit().map_err(|e| e.to_string());
    if let Err(e) = &committed {
        tracing::error!(error = %e, "the SQLite writer could not commit a batch");
    }
    for answer in answers {
        answer(committed.as_ref().map(|_| ()).map_err(String::as_str));
    }
}

/// Copies the WAL back into the database file. PASSIVE never waits for a
/// reader or a writer; one that finds another checkpoint running skips.
fn checkpoint(conn: &Connection) {
    match conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)") {
        Ok(()) => {}
        Err(e) if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) => {}
        Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
    }
}

fn connect(path: &str) -> anyhow::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

/// A cached statement with its `$N` parameters bound.
fn statement<'c>(
    conn: &'c Connection,
    sql: &str,
    params: &[&dyn ToSql],
) -> StoreResult<CachedStatement<'c>> {
    let mut stmt = conn.prepare_cached(sql).map_err(classify)?;
    for (name, value) in PARAMETERS.iter().zip(params) {
        if let Some(index) = stmt.parameter_index(name).map_err(classify)? {
            stmt.raw_bind_parameter(index, value).map_err(classify)?;
        }
    }
    Ok(stmt)
}

/// Runs a statement; the number of rows it changed.
pub(super) fn execute(conn: &Connection, sql: &str, params: &[&dyn ToSql]) -> StoreResult<usize> {
    statement(conn, sql, params)?
        .raw_execute()
        .map_err(classify)
}

/// Every row a statement returns, each mapped by `map`.
pub(super) fn fetch_all<T>(
    conn: &Connection,
    sql: &str,
    params: &[&dyn ToSql],
    mut map: impl FnMut(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut stmt = statement(conn, sql, params)?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(classify)? {
        out.push(map(row)?);
    }
    Ok(out)
}

/// The first row a statement returns, mapped by `map`.
pub(super) fn fetch_optional<T>(
    conn: &Connection,
    sql: &str,
    params: &[&dyn ToSql],
    map: impl FnOnce(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let mut stmt = statement(conn, sql, params)?;
    let mut rows = stmt.raw_query();
    match rows.next().map_err(classify)? {
        Some(row) => map(row).map(Some),
        None => Ok(None),
    }
}

/// Sorts an SQLite error as `rows::classify` sorts sqlx's.
pub(super) fn classify(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error() {
        Some(err)
            if err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            StoreError::Conflict
        }
        Some(err)
            if matches!(
                err.code,
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked
            ) =>
        {
            StoreError::Unavailable(e.into())
        }
        _ => StoreError::Other(e.into()),
    }
}

impl Columns for Row<'_> {
    fn text(&self, col: &str) -> StoreResult<String> {
        self.get(col).map_err(classify)
    }
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>> {
        self.get(col).map_err(classify)
    }
    fn int(&self, col: &str) -> StoreResult<i64> {
        self.get(col).map_err(classify)
    }
    fn opt_int(&self, col: &str) -> StoreResult<Option<i64>> {
        self.get(col).map_err(classify)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> (tempfile::TempDir, String, Direct) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db").display().to_string();
        let setup = Connection::open(&path).unwrap();
        setup
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT);",
            )
            .unwrap();
        let direct = Direct::open(&path, Synchronous::Normal).unwrap();
        (dir, path, direct)
    }

    fn insert(key: &'static str) -> impl FnOnce(&Connection) -> StoreResult<()> + Send {
        move |conn| execute(conn, "INSERT INTO t (k) VALUES ($1)", &[&key]).map(|_| ())
    }

    fn keys(path: &str) -> Vec<String> {
        let conn = Connection::open(path).unwrap();
        let mut stmt = conn.prepare("SELECT k FROM t ORDER BY k").unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap();
        rows.map(Result::unwrap).collect()
    }

    /// Three writes queued while the writer is held share one batch; the
    /// one that fails halfway is undone alone.
    #[tokio::test]
    async fn a_failing_write_is_rolled_back_without_the_others_in_its_batch() {
        let (_dir, path, direct) = open();
        let held = direct.lock().await.unwrap();
        let a = direct.write(insert("a"));
        let b = direct.write(|conn| {
            insert("b")(conn)?;
            // A conflict after the first statement: "b" must not stay.
            insert("a")(conn)
        });
        let c = direct.write(insert("c"));
        drop(held);
        let (a, b, c) = tokio::join!(a, b, c);
        assert!(a.is_ok() && c.is_ok(), "{a:?} {c:?}");
        assert!(matches!(b, Err(StoreError::Conflict)), "{b:?}");
        assert_eq!(keys(&path), ["a", "c"]);
    }

    #[tokio::test]
    async fn a_write_that_panics_is_undone_and_the_writer_goes_on() {
        let (_dir, path, direct) = open();
        let held = direct.lock().await.unwrap();
        let a = direct.write(insert("a"));
        let boom = direct.write(|conn| -> StoreResult<()> {
            insert("b")(conn)?;
            panic!("a bug in a store function");
        });
        drop(held);
        let (a, boom) = tokio::join!(a, boom);
        assert!(a.is_ok(), "{a:?}");
        assert!(matches!(boom, Err(StoreError::Other(_))), "{boom:?}");
        direct.write(insert("c")).await.unwrap();
        assert_eq!(keys(&path), ["a", "c"]);
    }

    /// While an sqlx transaction holds the write lock, no job runs.
    #[tokio::test]
    async fn jobs_wait_while_the_write_lock_is_held() {
        let (_dir, path, direct) = open();
        let held = direct.lock().await.unwrap();
        let mut a = Box::pin(direct.write(insert("a")));
        // The job is queued behind the pause: not answered, not written.
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(std::future::Future::poll(a.as_mut(), &mut cx).is_pending());
        assert!(keys(&path).is_empty());
        drop(held);
        a.await.unwrap();
        assert_eq!(keys(&path), ["a"]);
    }

    /// Under a continuous stream of writes the WAL is checkpointed and
    /// started again, so it does not grow without bound.
    #[tokio::test]
    async fn the_wal_stays_bounded_under_continuous_writes() {
        let (_dir, path, direct) = open();
        let blob = "x".repeat(3000);
        for round in 0..4000 {
            let blob = blob.clone();
            direct
                .write(move |conn| {
                    let sql = "INSERT INTO t (k, v) VALUES ($1, $2)";
                    execute(conn, sql, &[&round.to_string(), &blob]).map(|_| ())
                })
                .await
                .unwrap();
        }
        let wal = std::fs::metadata(format!("{path}-wal")).unwrap().len();
        // Each commit writes a new table page and an index page: 4,000 of
        // them, never checkpointed, would be over 30 MB. However late the
        // checkpoint thread, the writer copies after at most CHECKPOINT_LATE
        // (512) commits, about 4 MB.
        assert!(wal < 8 << 20, "the WAL grew to {wal} bytes");
    }
}
