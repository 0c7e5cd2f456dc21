//! [`Activity`]: appends events to the history (through its group-commit
//! log writer), reads it in pages, newest first, and prunes it.

use std::sync::Arc;

use super::log::ActivityLog;
use super::NewActivity;
use crate::clock::SharedClock;
use crate::domain::{AccountId, ActivityKind, EventId};
use crate::error::Result;
use crate::geo::Geo;
use crate::store::{ActivityQuery, ActivityRecord, SharedStore};

/// Events per page unless the caller asks for another number.
pub const DEFAULT_PAGE: u32 = 50;
/// The largest page.
pub const MAX_PAGE: u32 = 200;

/// Which events of an account to read: already parsed and in range.
#[derive(Debug, Clone)]
pub struct ActivityFilter {
    /// 1 to [`MAX_PAGE`].
    pub limit: u32,
    /// Only events older than this one.
    pub before: Option<EventId>,
    /// Only these kinds; empty means every kind.
    pub kinds: Vec<ActivityKind>,
}

impl Default for ActivityFilter {
    fn default() -> Self {
        Self {
            limit: DEFAULT_PAGE,
            before: None,
            kinds: Vec::new(),
        }
    }
}

/// A page of the history, newest first.
#[derive(Debug)]
pub struct ActivityPage {
    pub events: Vec<ActivityRecord>,
    /// The cursor of the next (older) page; `None` on the last page.
    pub next: Option<EventId>,
}

/// The history service.
pub struct Activity {
    store: SharedStore,
    clock: SharedClock,
    geo: Arc<Geo>,
    log: ActivityLog,
    retention_days: u32,
}

impl Activity {
    /// Starts the history's log writer on `store`.
    pub fn new(store: SharedStore, clock: SharedClock, geo: Arc<Geo>, retention_days: u32) -> Self {
        Self {
            log: ActivityLog::start(Arc::clone(&store)),
            store,
            clock,
            geo,
            retention_days,
        }
    }

    /// Appends an event to the account's history and waits until it is
    /// stored. A failure is logged, never returned: the change it describes
    /// has already been made.
    pub async fn record(&self, event: NewActivity) {
        let record = self.stored(event);
        if !self.log.append(record).await {
            tracing::warn!("an activity event could not be recorded");
        }
    }

    /// Queues an event without waiting for its commit: for a failed sign-in,
    /// whose answer must take as long for an unknown email (which records
    /// nothing) as for a wrong password. It is committed with the next
    /// batch, milliseconds later.
    pub async fn record_detached(&self, event: NewActivity) {
        let record = self.stored(event);
        self.log.append_detached(record).await;
    }

    /// Appends several events and waits for all of them (queued together,
    /// they usually share a commit).
    pub async fn record_all(&self, events: Vec<NewActivity>) {
        futures_util::future::join_all(events.into_iter().map(|e| self.record(e))).await;
    }

    /// The stored form of an event, located and timestamped now (for events
    /// written in another transaction, like an alert's).
    pub fn stored(&self, event: NewActivity) -> ActivityRecord {
        let location = event
            .ip
            .and_then(|ip| self.geo.locate(ip))
            .and_then(|l| serde_json::to_value(l).ok());
        ActivityRecord {
            id: EventId::new(),
            account_id: event.account_id,
            at: self.clock.now(),
            kind: event.kind(),
            session_id: event.device.as_ref().and_then(|d| d.session_id),
            device_name: event.device.as_ref().map(|d| d.name.clone()),
            device_type: event.device.as_ref().map(|d| d.kind),
            ip: event.ip,
            location,
            detail: event.detail,
        }
    }

    /// A page of the account's history, newest first.
    pub async fn page(&self, account: AccountId, filter: ActivityFilter) -> Result<ActivityPage> {
        let limit = filter.limit as usize;
        let query = ActivityQuery {
            account,
            before: filter.before,
            kinds: filter.kinds,
            // One more than asked tells whether an older page exists.
            limit: filter.limit + 1,
        };
        let mut events = self.store.activity(&query).await?;
        let next = if events.len() > limit {
            events.truncate(limit);
            events.last().map(|r| r.id)
        } else {
            None
        };
        Ok(ActivityPage { events, next })
    }

    /// Deletes events older than the retention period.
    pub async fn prune(&self) -> Result<u64> {
        let retention_ms = i64::from(self.retention_days) * 24 * 3600 * 1000;
        let cutoff = self.clock.now() - retention_ms;
        let mut total = 0;
        loop {
            let n = self.store.prune_activity(cutoff, 5_000).await?;
            total += n;
            if n < 5_000 {
                return Ok(total);
            }
        }
    }
}
