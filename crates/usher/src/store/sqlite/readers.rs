//! Reads: a few reader threads, each owning one read-only connection, fed
//! by one shared queue.
//!
//! Why threads and not a pool used from `spawn_blocking`: a read is one hop
//! to a thread that already holds its connection (no checkout, no lock
//! around the connection, no blocking-pool thread spawned under load), and
//! each connection keeps its prepared statements warm. Reads never queue
//! behind writes: in WAL mode a reader sees the last commit without waiting
//! for the writer, and every read statement starts a fresh snapshot, so a
//! write is visible to any read issued after its answer.

use std::sync::{mpsc, Arc, Mutex};

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::in_flight::InFlight;
use crate::store::{StoreError, StoreResult};

/// Reader threads (and connections).
pub(super) const READERS: usize = 4;
/// Prepared statements each reader keeps.
const STATEMENT_CACHE: usize = 64;

type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

/// The handle to the reader threads; dropping it ends them.
pub(super) struct Readers {
    jobs: mpsc::Sender<ReadJob>,
    in_flight: InFlight,
}

impl Readers {
    /// Starts the reader threads, each with a connection from `open`.
    pub(super) fn start(open: impl Fn() -> anyhow::Result<Connection>) -> anyhow::Result<Self> {
        let (jobs, queue) = mpsc::channel::<ReadJob>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..READERS {
            let conn = open()?;
            conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("usher-sqlite-reader-{n}"))
                .spawn(move || run_reader(conn, &queue))?;
        }
        Ok(Self {
            jobs,
            in_flight: InFlight::default(),
        })
    }

    /// Runs `work` on a reader connection.
    pub(super) async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let (reply, answer) = oneshot::channel();
        let started = self.in_flight.start();
        self.jobs
            .send(Box::new(move |conn| {
                let _ = reply.send(work(conn));
                drop(started);
            }))
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

impl Readers {
    /// Reads running, and reads waiting for a reader.
    pub(super) fn use_now(&self) -> (u32, u32) {
        self.in_flight.split(READERS as u32)
    }
}

fn run_reader(conn: Connection, queue: &Mutex<mpsc::Receiver<ReadJob>>) {
    loop {
        // The lock is held only while waiting for the next job.
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        // A panicking read drops its answer (the caller sees an error); the
        // thread and its connection go on.
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&conn))).is_err() {
            tracing::error!("a read job panicked");
        }
    }
}

fn stopped() -> StoreError {
    StoreError::other(anyhow::anyhow!(
        "an SQLite read failed or its thread has stopped"
    ))
}
