//! Operations queued for or running on one of the engine's threads, for the
//! metrics' view of its connections (`Store::pool_use`).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// How many operations a thread (or a group of them) has been handed and
/// not finished.
#[derive(Default)]
pub(super) struct InFlight(Arc<AtomicU32>);

impl InFlight {
    /// Counts one operation until the returned guard is dropped: moved into
    /// the job, it is dropped when the job has run, or with the job if it
    /// never runs.
    pub(super) fn start(&self) -> Started {
        self.0.fetch_add(1, Ordering::Relaxed);
        Started(Arc::clone(&self.0))
    }

    /// How many are counted now.
    pub(super) fn now(&self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }

    /// Of `n` operations handed to `threads` threads, how many run and how
    /// many wait.
    pub(super) fn split(&self, threads: u32) -> (u32, u32) {
        let n = self.now();
        (n.min(threads), n.saturating_sub(threads))
    }
}

/// One operation counted by [`InFlight::start`].
pub(super) struct Started(Arc<AtomicU32>);

impl Drop for Started {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
