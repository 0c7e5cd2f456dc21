//! Appends activity with group commit: events recorded at the same time by
//! many requests share one transaction, so the history costs the single
//! SQLite writer one commit per batch rather than one per request. A caller
//! waits until its event is committed, so an acknowledged change has its
//! history entry on disk.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::store::{ActivityRecord, SharedStore};

/// Events per transaction at most.
const BATCH: usize = 500;
/// Attempts of one batch while the database is away, then it is logged and dropped.
const ATTEMPTS: u32 = 5;

struct Pending {
    record: ActivityRecord,
    /// Told once the batch is committed (or given up); `None` for an event
    /// nobody waits for.
    done: Option<oneshot::Sender<bool>>,
}

/// The writer's queue.
pub struct ActivityLog {
    queue: mpsc::Sender<Pending>,
}

impl ActivityLog {
    /// Starts the writer task; it ends when the log is dropped.
    pub fn start(store: SharedStore) -> Self {
        let (queue, rx) = mpsc::channel(4 * BATCH);
        tokio::spawn(write_batches(store, rx));
        Self { queue }
    }

    /// Appends one event; true once it is committed.
    pub async fn append(&self, record: ActivityRecord) -> bool {
        let (done, committed) = oneshot::channel();
        let pending = Pending {
            record,
            done: Some(done),
        };
        if self.queue.send(pending).await.is_err() {
            return false;
        }
        committed.await.unwrap_or(false)
    }

    /// Queues one event for the next batch without waiting for its commit.
    pub async fn append_detached(&self, record: ActivityRecord) {
        let pending = Pending { record, done: None };
        if self.queue.send(pending).await.is_err() {
            tracing::warn!("the activity writer has stopped; an event is lost");
        }
    }
}

async fn write_batches(store: SharedStore, mut rx: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let records: Vec<ActivityRecord> = batch.iter().map(|p| p.record.clone()).collect();
        let mut committed = false;
        for attempt in 1..=ATTEMPTS {
            match store.append_activity(&records).await {
                Ok(()) => {
                    committed = true;
                    break;
                }
                Err(e) if attempt == ATTEMPTS => {
                    tracing::error!(error = %e, events = records.len(), "could not record activity");
                }
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "recording activity failed; retrying");
                    tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
                }
            }
        }
        for pending in batch.drain(..) {
            if let Some(done) = pending.done {
                let _ = done.send(committed);
            }
        }
    }
}
