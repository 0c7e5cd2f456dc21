//! The JSON of `GET /v1/alerts`: the `usher_api` types, built from open
//! alerts.

use serde::de::DeserializeOwned;
use serde_json::Value;
use usher_api as api;

use super::OpenAlert;
use crate::http::wire::timestamp;

impl From<OpenAlert> for api::Alert {
    fn from(open: OpenAlert) -> Self {
        let r = open.alert;
        // The stored body is the webhook's JSON; the API shows its parts.
        let field = |name: &str| r.body.to_json().get(name).cloned().unwrap_or_default();
        api::Alert {
            alert_id: r.id.to_string(),
            at: timestamp(r.at),
            reasons: part(field("reasons")),
            device: field("device"),
            ip: part(field("ip")),
            location: part(field("location")),
            device_signed_in: open.device_signed_in,
        }
    }
}

/// A part of the stored body in its wire type; the server wrote the body, so
/// a part of another shape does not occur, and reads as empty if it did.
fn part<T: DeserializeOwned + Default>(value: Value) -> T {
    serde_json::from_value(value).unwrap_or_default()
}

/// `{"alerts": […]}`
pub fn alert_list(open: Vec<OpenAlert>) -> api::AlertList {
    api::AlertList {
        alerts: open.into_iter().map(Into::into).collect(),
    }
}
