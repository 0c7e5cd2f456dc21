//! The JSON of `GET /v1/activity`: the `usher_api` types, built from the
//! history's records.

use usher_api as api;

use super::ActivityPage;
use crate::http::wire::timestamp;
use crate::store::ActivityRecord;

/// An event's `detail` as the record holds it; the view passes it through
/// untouched, so it serializes as the record's own JSON.
pub type Detail = serde_json::Value;

impl From<ActivityRecord> for api::ActivityEvent<Detail> {
    fn from(r: ActivityRecord) -> Self {
        let verified = r.device_verified();
        api::ActivityEvent {
            event_id: r.id.to_string(),
            kind: r.kind.as_str().to_owned(),
            at: timestamp(r.at),
            device: r.device_name.map(|name| api::EventDevice {
                session_id: r.session_id.map(|id| id.to_string()),
                name,
                device_type: r.device_type.map_or("other", |t| t.as_str()).to_owned(),
                verified,
            }),
            ip: r.ip.map(|ip| ip.to_string()),
            location: r.location,
            detail: r.detail.to_json(),
        }
    }
}

impl From<ActivityPage> for api::ActivityPage<Detail> {
    fn from(page: ActivityPage) -> Self {
        api::ActivityPage {
            events: page.events.into_iter().map(Into::into).collect(),
            next: page.next.map(|id| id.to_string()),
        }
    }
}
