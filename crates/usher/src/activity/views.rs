//! The JSON of `GET /v1/activity`, built from the history's records.

use serde::Serialize;

use super::ActivityPage;
use crate::domain::{rfc3339, ActivityKind, EventId, SessionId};
use crate::store::ActivityRecord;

/// One event as the API shows it.
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
pub struct ActivityPageView {
    pub events: Vec<ActivityView>,
    /// Pass as `before` for the next (older) page; `None` on the last page.
    pub next: Option<EventId>,
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
            detail: r.detail.to_json(),
        }
    }
}

impl From<ActivityPage> for ActivityPageView {
    fn from(page: ActivityPage) -> Self {
        Self {
            events: page.events.into_iter().map(Into::into).collect(),
            next: page.next,
        }
    }
}
