//! Reading the history: pages, newest first, filtered by kind.

use serde::Serialize;

use super::ActivityKind;
use crate::core::Usher;
use crate::domain::{rfc3339, AccountId, EventId, SessionId};
use crate::error::{Error, Result};
use crate::store::{ActivityQuery, ActivityRecord};

/// Events per page unless the caller asks for another number.
pub const DEFAULT_PAGE: u32 = 50;
/// The largest page.
pub const MAX_PAGE: u32 = 200;

/// A page request, parsed from the query string.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub limit: Option<String>,
    pub before: Option<String>,
    /// Comma-separated kinds.
    pub kind: Option<String>,
}

/// One event as the API and the pages show it.
#[derive(Debug, Serialize)]
pub struct ActivityView {
    pub event_id: EventId,
    pub kind: ActivityKind,
    pub at: String,
    pub device: Option<EventDevice>,
    pub ip: Option<String>,
    pub location: Option<serde_json::Value>,
    pub detail: serde_json::Value,
}

#[derive(Debug, Serialize)]
pub struct EventDevice {
    pub session_id: Option<SessionId>,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[derive(Debug, Serialize)]
pub struct ActivityPage {
    pub events: Vec<ActivityView>,
    /// Pass as `before` for the next (older) page; `None` on the last page.
    pub next: Option<EventId>,
}

fn invalid(code: &'static str, detail: impl Into<String>) -> Error {
    Error::InvalidParameter {
        code,
        detail: detail.into(),
    }
}

impl PageRequest {
    fn parse(&self, account: AccountId) -> Result<ActivityQuery> {
        let limit = match self.limit.as_deref() {
            None | Some("") => DEFAULT_PAGE,
            Some(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or_else(|| {
                    invalid("invalid_limit", format!("limit must be 1 to {MAX_PAGE}."))
                })?,
        };
        let before = match self.before.as_deref() {
            None | Some("") => None,
            Some(raw) => Some(raw.parse::<EventId>().map_err(|_| {
                invalid(
                    "invalid_cursor",
                    "before must be a `next` value from an earlier page.",
                )
            })?),
        };
        let mut kinds = Vec::new();
        for name in self.kind.iter().flat_map(|k| k.split(',')) {
            let name = name.trim();
            if name.is_empty() {
                continue;
            }
            let kind = name
                .parse::<ActivityKind>()
                .map_err(|e| invalid("invalid_kind", e.to_string()))?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        Ok(ActivityQuery {
            account,
            before,
            kinds,
            limit,
        })
    }
}

impl From<ActivityRecord> for ActivityView {
    fn from(r: ActivityRecord) -> Self {
        ActivityView {
            event_id: r.id,
            kind: r.kind,
            at: rfc3339(r.at),
            device: r.device_name.map(|name| EventDevice {
                session_id: r.session_id,
                name,
                kind: r.device_type.map_or("other", |t| t.as_str()),
            }),
            ip: r.ip.map(|ip| ip.to_string()),
            location: r.location,
            detail: r.detail,
        }
    }
}

impl Usher {
    /// A page of the account's history, newest first.
    pub async fn activity_page(
        &self,
        account: AccountId,
        request: &PageRequest,
    ) -> Result<ActivityPage> {
        let mut query = request.parse(account)?;
        let limit = query.limit as usize;
        // One more than asked tells whether an older page exists.
        query.limit += 1;
        let mut records = self.store.activity(&query).await?;
        let next = if records.len() > limit {
            records.truncate(limit);
            records.last().map(|r| r.id)
        } else {
            None
        };
        Ok(ActivityPage {
            events: records.into_iter().map(ActivityView::from).collect(),
            next,
        })
    }

    /// Deletes events older than the retention period.
    pub async fn prune_activity(&self) -> Result<u64> {
        let retention_ms = i64::from(self.config.activity.retention_days) * 24 * 3600 * 1000;
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
