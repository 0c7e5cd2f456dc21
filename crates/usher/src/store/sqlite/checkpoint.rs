//! Copying the WAL back into the database file.
//!
//! The writer connection never checkpoints on commit. After every
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

use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode};

/// Commits between checkpoints (a batch of stream starts writes some tens
/// of WAL frames, so the WAL stays within a few megabytes).
const CHECKPOINT_AFTER: u32 = 128;
/// Commits after asking for a bulk copy before the writer stops waiting
/// for it and copies itself.
const CHECKPOINT_LATE: u32 = 4 * CHECKPOINT_AFTER;
/// How long the writer waits idle before it checkpoints what its last
/// commits (or another process's) left in the WAL.
pub(super) const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);
/// How long a writer whose copy is late waits for the copying thread to
/// finish (then it tries again after its next batch).
const LATE_WAIT: Duration = Duration::from_secs(5);
/// The WAL file is cut back to this size after a checkpoint that emptied it.
const WAL_SIZE_LIMIT: i64 = 64 << 20;

/// The writer's side of the checkpoint thread.
pub(super) struct Checkpointer {
    /// Asks for a bulk copy.
    wake: mpsc::SyncSender<()>,
    /// A message when a bulk copy is done: the writer finishes it.
    copied: mpsc::Receiver<()>,
    /// Commits since the last copy was asked for or finished.
    commits: u32,
    /// A bulk copy is asked for and not yet finished.
    asked: bool,
}

impl Checkpointer {
    /// Turns automatic checkpoints off on the writer's connection and
    /// starts the copying thread on `bulk`; it ends when the writer does.
    pub(super) fn start(writer: &Connection, bulk: Connection) -> anyhow::Result<Self> {
        writer.pragma_update(None, "wal_autocheckpoint", 0)?;
        writer.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
        let (wake, woken) = mpsc::sync_channel(1);
        let (done, copied) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("usher-sqlite-checkpoint".into())
            .spawn(move || run_checkpointer(bulk, woken, done))?;
        Ok(Self {
            wake,
            copied,
            commits: 0,
            asked: false,
        })
    }

    /// After each batch: asks for a bulk copy every [`CHECKPOINT_AFTER`]
    /// commits and finishes it once done. If the copy is late (its thread
    /// starved of CPU), the writer copies itself; if the copying thread
    /// holds the checkpoint meanwhile (SQLite lets one checkpoint run at a
    /// time and never waits for another), the writer waits for it to finish
    /// and copies the rest. So the WAL stays bounded at about
    /// [`CHECKPOINT_LATE`] commits however busy the machine: the writer slows
    /// down instead.
    pub(super) fn after_commit(&mut self, conn: &Connection) {
        self.commits += 1;
        let copied = self.copied.try_recv().is_ok();
        let late = self.asked && self.commits >= CHECKPOINT_LATE;
        if copied || late {
            // What was committed while the bulk copy ran (or all of it).
            let mut done = checkpoint(conn);
            if !done && late && self.copied.recv_timeout(LATE_WAIT).is_ok() {
                done = checkpoint(conn);
            }
            // If it could not run, the next batch tries again.
            if done {
                self.commits = 0;
                self.asked = false;
            }
        } else if !self.asked && self.commits >= CHECKPOINT_AFTER {
            self.asked = true;
            // Full: a copy is asked for already.
            let _ = self.wake.try_send(());
        }
    }

    /// When the writer is idle: copies what is left.
    pub(super) fn when_idle(&mut self, conn: &Connection) {
        if checkpoint(conn) {
            while self.copied.try_recv().is_ok() {}
            self.commits = 0;
            self.asked = false;
        }
    }
}

/// Copies the WAL into the database file when the writer asks, without
/// stopping it; ends when the writer does.
fn run_checkpointer(conn: Connection, woken: mpsc::Receiver<()>, copied: mpsc::SyncSender<()>) {
    while woken.recv().is_ok() {
        checkpoint(&conn);
        // Full: the writer has not seen the last one yet; one is enough.
        let _ = copied.try_send(());
    }
}

/// Copies the WAL back into the database file; false when it could not
/// (another checkpoint held it: PASSIVE never waits for a reader, a writer
/// or another checkpoint) or failed.
fn checkpoint(conn: &Connection) -> bool {
    // The pragma answers (busy, frames in the WAL, frames copied).
    match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        row.get::<_, i64>(0)
    }) {
        Ok(busy) => busy == 0,
        Err(e) if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) => false,
        Err(e) => {
            tracing::warn!(error = %e, "WAL checkpoint failed");
            false
        }
    }
}
