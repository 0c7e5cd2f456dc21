//! The SQLite writer thread: the engine's only write path. One thread, one
//! connection, group commit.
//!
//! - A caller sends its whole transaction as one job and awaits the answer:
//!   one round trip, however many statements.
//! - The thread runs every job waiting in one SQLite transaction, each inside
//!   its own savepoint (a job that fails is rolled back alone), commits once,
//!   and only then answers each caller. Jobs that arrive together share one
//!   commit, and a B-tree page several of them change is written once.
//!
//! An answer is sent after the commit, so an acknowledged write is in the
//! WAL (and survives `kill -9`, as with every commit in WAL mode).
//!
//! Every write of the process is a job here, so writes are serial with no
//! lock of our own; another process writing the file (the `usher` CLI) is
//! serialised by SQLite: batches begin `IMMEDIATE`, taking the file's write
//! lock before any job reads, and wait for it up to the busy timeout.
//!
//! The WAL is copied back into the database file by the writer and a helper
//! thread together (see `checkpoint.rs`).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::oneshot;

use super::checkpoint::{Checkpointer, CHECKPOINT_EVERY};
use super::in_flight::{InFlight, Started};
use crate::store::{StoreError, StoreResult};

/// Jobs per transaction at most.
const BATCH: usize = 256;
/// Prepared statements the writer keeps (every write statement of the store).
const STATEMENT_CACHE: usize = 128;
/// The writer connection's page cache (a negative `cache_size` is KiB).
const WRITER_CACHE_KIB: i64 = -32 * 1024;

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

/// A job on its way to the writer thread: counted as waiting until the
/// thread takes it into a batch (or it is dropped untaken).
struct Queued {
    job: Box<dyn WriteJob>,
    _waiting: Started,
}

impl Queued {
    /// The job, taken into the batch being written: it waits no more.
    fn into_batch(self) -> Box<dyn WriteJob> {
        self.job
    }
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
            let _ = reply.send(answer(result, committed));
        });
        (ok, answer)
    }

    fn fail(self: Box<Self>, error: &str) {
        let _ = self.reply.send(Err(not_committed(error)));
    }
}

/// What a job that ran is answered once its batch has committed (or failed
/// to). A job that failed on its own gets its own error, already counted in
/// `usher_database_errors_total` when it was made: the batch's failure is
/// not counted for it a second time.
fn answer<T>(result: StoreResult<T>, committed: Result<(), &str>) -> StoreResult<T> {
    match (result, committed) {
        (Err(own), _) => Err(own),
        (Ok(_), Err(e)) => Err(not_committed(e)),
        (Ok(done), Ok(())) => Ok(done),
    }
}

/// The handle to the writer thread; dropping it (with the store) ends the
/// thread once the queued jobs are done.
pub(super) struct Writer {
    jobs: mpsc::Sender<Queued>,
    /// Jobs queued and not yet taken into a batch.
    waiting: InFlight,
    /// Whether the thread is writing a batch.
    writing: Arc<AtomicBool>,
}

impl Writer {
    /// Starts the writer thread on `conn` (migrated, in WAL mode) and its
    /// checkpoint helper on `bulk` (a second connection to the same file).
    pub(super) fn start(conn: Connection, bulk: Connection) -> anyhow::Result<Self> {
        // Each job's savepoint keeps the pages it changes in a sub-journal:
        // in memory, not in a temporary file.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // The writer touches every account's index pages; a larger cache
        // than the default 2 MiB keeps them.
        conn.pragma_update(None, "cache_size", WRITER_CACHE_KIB)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let checkpointer = Checkpointer::start(&conn, bulk)?;
        let (jobs, queue) = mpsc::channel();
        let writing = Arc::new(AtomicBool::new(false));
        let thread_writing = Arc::clone(&writing);
        std::thread::Builder::new()
            .name("usher-sqlite-writer".into())
            .spawn(move || run_writer(conn, queue, checkpointer, &thread_writing))?;
        Ok(Self {
            jobs,
            waiting: InFlight::default(),
            writing,
        })
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
        let queued = self.jobs.send(Queued {
            job: Box::new(Pending { work, reply }),
            _waiting: self.waiting.start(),
        });
        async move {
            queued.map_err(|_| stopped())?;
            // Dropped unanswered only if the job panicked (and was rolled back).
            answer.await.map_err(|_| {
                StoreError::other(anyhow::anyhow!(
                    "a write failed on the SQLite writer thread"
                ))
            })?
        }
    }
}

impl Writer {
    /// Whether a batch is being written (0 or 1), and jobs waiting for the
    /// next (those of the batch being written are not waiting).
    pub(super) fn use_now(&self) -> (u32, u32) {
        let writing = u32::from(self.writing.load(Ordering::Relaxed));
        (writing, self.waiting.now())
    }
}

fn not_committed(error: &str) -> StoreError {
    StoreError::unavailable(anyhow::anyhow!("the write was not committed: {error}"))
}

fn stopped() -> StoreError {
    StoreError::other(anyhow::anyhow!("the SQLite writer thread has stopped"))
}

fn run_writer(
    mut conn: Connection,
    queue: mpsc::Receiver<Queued>,
    mut checkpointer: Checkpointer,
    writing: &AtomicBool,
) {
    loop {
        let first = match queue.recv_timeout(CHECKPOINT_EVERY) {
            Ok(job) => job,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                checkpointer.when_idle(&conn);
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        writing.store(true, Ordering::Relaxed);
        let mut batch = vec![first.into_batch()];
        while batch.len() < BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job.into_batch()),
                Err(_) => break,
            }
        }
        run_batch(&mut conn, batch);
        writing.store(false, Ordering::Relaxed);
        checkpointer.after_commit(&conn);
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
    let mut jobs = batch.into_iter();
    let mut rolled_back = false;
    for job in jobs.by_ref() {
        if let Err(e) = tx.execute_batch("SAVEPOINT job") {
            job.fail(&e.to_string());
            continue;
        }
        let keep = match catch_unwind(AssertUnwindSafe(|| job.run(&tx))) {
            Ok((ok, answer)) => {
                answers.push(answer);
                ok
            }
            // The caller sees its answer dropped: "a write failed".
            Err(_) => {
                tracing::error!("a write job panicked; it was rolled back");
                false
            }
        };
        let undone = if keep {
            Ok(())
        } else {
            tx.execute_batch("ROLLBACK TO job")
        };
        if let Err(e) = undone.and_then(|_| tx.execute_batch("RELEASE job")) {
            tracing::error!(error = %e, "the SQLite writer could not end a savepoint");
        }
        // SQLite rolls a whole transaction back on its own after some errors
        // (disk full, I/O, out of memory): then nothing of the batch is
        // committed, and the jobs left must not run, each would commit alone.
        if tx.is_autocommit() {
            rolled_back = true;
            break;
        }
    }
    let committed = if rolled_back {
        let e = "the batch's transaction was rolled back by SQLite".to_owned();
        for job in jobs {
            job.fail(&e);
        }
        Err(e)
    } else {
        tx.commit().map_err(|e| e.to_string())
    };
    if let Err(e) = &committed {
        tracing::error!(error = %e, "the SQLite writer could not commit a batch");
    }
    for answer in answers {
        answer(committed.as_ref().map(|_| ()).map_err(String::as_str));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::connect;

    fn open() -> (tempfile::TempDir, String, Writer) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db").display().to_string();
        let conn = connect(&path, super::super::Synchronous::Normal).unwrap();
        conn.execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT);")
            .unwrap();
        let bulk = connect(&path, super::super::Synchronous::Normal).unwrap();
        let writer = Writer::start(conn, bulk).unwrap();
        (dir, path, writer)
    }

    fn insert(key: &'static str) -> impl FnOnce(&Connection) -> StoreResult<()> + Send {
        move |conn| {
            conn.execute("INSERT INTO t (k) VALUES (?1)", [key])?;
            Ok(())
        }
    }

    fn keys(path: &str) -> Vec<String> {
        let conn = Connection::open(path).unwrap();
        let mut stmt = conn.prepare("SELECT k FROM t ORDER BY k").unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap();
        rows.map(Result::unwrap).collect()
    }

    /// Holds the writer thread inside a job until the returned sender is
    /// dropped, so the jobs queued meanwhile share the next batch.
    async fn hold(writer: &Writer) -> mpsc::Sender<()> {
        let (held, is_started, release) = holding_job(writer);
        tokio::spawn(held);
        is_started.await.unwrap();
        release
    }

    /// A job that, once the writer starts it, says so and then waits for
    /// the returned sender to be dropped.
    fn holding_job(
        writer: &Writer,
    ) -> (
        impl std::future::Future<Output = StoreResult<()>> + Send + 'static,
        oneshot::Receiver<()>,
        mpsc::Sender<()>,
    ) {
        let (started, is_started) = oneshot::channel();
        let (release, wait) = mpsc::channel::<()>();
        let held = writer.write(move |_| {
            let _ = started.send(());
            let _ = wait.recv();
            Ok(())
        });
        (held, is_started, release)
    }

    /// Three writes queued while the writer is busy share one batch; the
    /// one that fails halfway is undone alone.
    #[tokio::test]
    async fn a_failing_write_is_rolled_back_without_the_others_in_its_batch() {
        let (_dir, path, writer) = open();
        let held = hold(&writer).await;
        let a = writer.write(insert("a"));
        let b = writer.write(|conn| {
            insert("b")(conn)?;
            // A conflict after the first statement: "b" must not stay.
            insert("a")(conn)
        });
        let c = writer.write(insert("c"));
        drop(held);
        let (a, b, c) = tokio::join!(a, b, c);
        assert!(a.is_ok() && c.is_ok(), "{a:?} {c:?}");
        assert!(matches!(b, Err(StoreError::Conflict)), "{b:?}");
        assert_eq!(keys(&path), ["a", "c"]);
    }

    /// When SQLite itself rolls the batch's transaction back (as it does
    /// after a full disk or an I/O error; here a job does it), no job of the
    /// batch is answered as done and none left runs on its own, outside it.
    #[tokio::test]
    async fn a_batch_that_sqlite_rolled_back_commits_nothing() {
        let (_dir, path, writer) = open();
        let held = hold(&writer).await;
        let a = writer.write(insert("a"));
        let b = writer.write(|conn| {
            insert("b")(conn)?;
            conn.execute_batch("ROLLBACK")?;
            Ok(())
        });
        let c = writer.write(insert("c"));
        drop(held);
        let (a, b, c) = tokio::join!(a, b, c);
        assert!(a.is_err() && b.is_err() && c.is_err(), "{a:?} {b:?} {c:?}");
        assert!(keys(&path).is_empty(), "{:?}", keys(&path));
        writer.write(insert("d")).await.unwrap();
        assert_eq!(keys(&path), ["d"]);
    }

    #[tokio::test]
    async fn a_write_that_panics_is_undone_and_the_writer_goes_on() {
        let (_dir, path, writer) = open();
        let held = hold(&writer).await;
        let a = writer.write(insert("a"));
        let boom = writer.write(|conn| -> StoreResult<()> {
            insert("b")(conn)?;
            panic!("a bug in a store function");
        });
        drop(held);
        let (a, boom) = tokio::join!(a, boom);
        assert!(a.is_ok(), "{a:?}");
        assert!(matches!(boom, Err(StoreError::Other(_))), "{boom:?}");
        writer.write(insert("c")).await.unwrap();
        assert_eq!(keys(&path), ["a", "c"]);
    }

    /// A job is answered only once its batch has committed: while the
    /// batch before it runs, it is neither answered nor written.
    #[tokio::test]
    async fn a_write_is_answered_after_its_commit() {
        let (_dir, path, writer) = open();
        let held = hold(&writer).await;
        let mut a = Box::pin(writer.write(insert("a")));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(std::future::Future::poll(a.as_mut(), &mut cx).is_pending());
        assert!(keys(&path).is_empty());
        drop(held);
        a.await.unwrap();
        assert_eq!(keys(&path), ["a"]);
    }

    /// Jobs taken into the batch being written are written, not waiting:
    /// only those queued behind it wait.
    #[tokio::test]
    async fn only_jobs_behind_the_batch_being_written_wait() {
        let (_dir, path, writer) = open();
        let first = hold(&writer).await;
        let (held, is_started, release) = holding_job(&writer);
        let b = writer.write(insert("b"));
        let c = writer.write(insert("c"));
        assert_eq!(writer.use_now(), (1, 3), "three jobs behind the first");
        drop(first);
        is_started.await.unwrap();
        assert_eq!(
            writer.use_now(),
            (1, 0),
            "the three share the batch being written"
        );
        drop(release);
        let (held, b, c) = tokio::join!(held, b, c);
        assert!(held.is_ok() && b.is_ok() && c.is_ok());
        assert_eq!(keys(&path), ["b", "c"]);
    }

    /// A job that failed on its own is answered with its own error when
    /// its batch then fails to commit: one failure, counted once.
    #[test]
    fn a_failed_job_in_a_batch_that_failed_is_counted_once() {
        use metrics_util::debugging::{DebugValue, DebuggingRecorder};
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let (own, uncommitted) = metrics::with_local_recorder(&recorder, || {
            let own = answer::<()>(
                Err(StoreError::Other(anyhow::anyhow!("its own bug"))),
                Err("disk I/O error"),
            );
            let uncommitted = answer(Ok(()), Err("disk I/O error"));
            (own, uncommitted)
        });
        assert!(matches!(own, Err(StoreError::Other(_))), "{own:?}");
        assert!(
            matches!(uncommitted, Err(StoreError::Unavailable(_))),
            "{uncommitted:?}"
        );
        let counted: u64 = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .filter(|(key, ..)| key.key().name() == crate::telemetry::series::DATABASE_ERRORS)
            .map(|(.., value)| match value {
                DebugValue::Counter(n) => n,
                _ => 0,
            })
            .sum();
        assert_eq!(
            counted, 1,
            "only the job that ran well and was not committed"
        );
    }

    /// Under a continuous stream of writes the WAL is checkpointed and
    /// started again, so it does not grow without bound.
    #[tokio::test]
    async fn the_wal_stays_bounded_under_continuous_writes() {
        let (_dir, path, writer) = open();
        let blob = "x".repeat(3000);
        for round in 0..8000 {
            let blob = blob.clone();
            writer
                .write(move |conn| {
                    let sql = "INSERT INTO t (k, v) VALUES (?1, ?2)";
                    conn.execute(sql, (round.to_string(), blob))?;
                    Ok(())
                })
                .await
                .unwrap();
        }
        let wal = std::fs::metadata(format!("{path}-wal")).unwrap().len();
        // Each commit here adds about 17 KB of WAL frames: 8,000 of them,
        // never checkpointed, would be over 100 MB. However late the
        // checkpoint thread, the writer copies (waiting for that thread if it
        // holds the checkpoint) after at most CHECKPOINT_LATE (512) commits:
        // about 9 MB.
        assert!(wal < 16 << 20, "the WAL grew to {wal} bytes");
    }
}
