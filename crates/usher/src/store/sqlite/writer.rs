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
use std::sync::mpsc;

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
    /// Counted until the job is answered (or dropped unanswered).
    _started: Started,
}

impl<T, F> WriteJob for Pending<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> StoreResult<T> + Send,
{
    fn run(self: Box<Self>, conn: &Connection) -> (bool, Answer) {
        let Pending {
            work,
            reply,
            _started: started,
        } = *self;
        let result = work(conn);
        let ok = result.is_ok();
        let answer: Answer = Box::new(move |committed: Result<(), &str>| {
            let _ = reply.send(match committed {
                Ok(()) => result,
                Err(e) => result.and(Err(not_committed(e))),
            });
            drop(started);
        });
        (ok, answer)
    }

    fn fail(self: Box<Self>, error: &str) {
        let _ = self.reply.send(Err(not_committed(error)));
    }
}

/// The handle to the writer thread; dropping it (with the store) ends the
/// thread once the queued jobs are done.
pub(super) struct Writer {
    jobs: mpsc::Sender<Box<dyn WriteJob>>,
    in_flight: InFlight,
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
        std::thread::Builder::new()
            .name("usher-sqlite-writer".into())
            .spawn(move || run_writer(conn, queue, checkpointer))?;
        Ok(Self {
            jobs,
            in_flight: InFlight::default(),
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
        let queued = self.jobs.send(Box::new(Pending {
            work,
            reply,
            _started: self.in_flight.start(),
        }));
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
    /// Whether a batch is being written (0 or 1), and jobs waiting for it.
    pub(super) fn use_now(&self) -> (u32, u32) {
        self.in_flight.split(1)
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
    queue: mpsc::Receiver<Box<dyn WriteJob>>,
    mut checkpointer: Checkpointer,
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
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(&mut conn, batch);
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
        let (started, is_started) = oneshot::channel();
        let (release, wait) = mpsc::channel::<()>();
        let held = writer.write(move |_| {
            let _ = started.send(());
            let _ = wait.recv();
            Ok(())
        });
        tokio::spawn(held);
        is_started.await.unwrap();
        release
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
