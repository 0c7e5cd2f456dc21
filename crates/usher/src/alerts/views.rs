//! The JSON of `GET /v1/alerts`, built from open alerts.

use serde::Serialize;

use super::OpenAlert;
use crate::domain::{rfc3339, EventId};

/// An open alert, as the API shows it.
#[derive(Debug, Serialize)]
pub struct AlertView {
    pub alert_id: EventId,
    pub at: String,
    pub reasons: serde_json::Value,
    pub device: serde_json::Value,
    pub ip: serde_json::Value,
    pub location: serde_json::Value,
    /// Whether the device is still signed in (so it can be signed out).
    pub device_signed_in: bool,
}

impl From<OpenAlert> for AlertView {
    fn from(open: OpenAlert) -> Self {
        let r = open.alert;
        // The stored body is the webhook's JSON; the API shows its parts.
        let field = |name: &str| r.body.to_json().get(name).cloned().unwrap_or_default();
        AlertView {
            alert_id: r.id,
            at: rfc3339(r.at),
            reasons: field("reasons"),
            device: field("device"),
            ip: field("ip"),
            location: field("location"),
            device_signed_in: open.device_signed_in,
        }
    }
}
