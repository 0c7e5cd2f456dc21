//! Alerts (`/v1/alerts…`): a sign-in from a new country or a new kind of
//! device, or several wrong passwords entered on signed-in devices.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::timestamp;

/// An open alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    /// The alert (`evt_…`, the id of its `alert` activity event).
    pub alert_id: String,
    /// When the sign-in happened (or the wrong password was entered).
    #[serde(with = "timestamp::millis")]
    pub at: DateTime<Utc>,
    /// Why it is unusual: `new_country`, `new_device_type` (a sign-in);
    /// `wrong_passwords` (several wrong passwords entered on `device`).
    pub reasons: Vec<String>,
    /// The device that signed in (or the wrong password was entered on):
    /// `{session_id, name, type, model}`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub device: Value,
    /// The address it signed in from, if known.
    pub ip: Option<String>,
    /// The location of `ip` (a [`crate::Location`] object), if known.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::Location>))]
    pub location: Option<Value>,
    /// Whether that device is still signed in (so it can be signed out).
    pub device_signed_in: bool,
}

/// `GET /v1/alerts` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertList {
    /// Open alerts, newest first.
    pub alerts: Vec<Alert>,
}

/// `POST /v1/alerts/{alert_id}/sign-out-device` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertDeviceSignedOut {
    /// True when the device was still signed in and is now signed out.
    pub signed_out: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::assert_round_trip;

    #[test]
    fn alerts_as_the_server_writes_them() {
        let list: AlertList = assert_round_trip(
            r#"{"alerts":[{"alert_id":"evt_01a2306b84f873aabb537b83ff8b92fd","at":"2026-12-01T07:04:42.488Z",
                "device":{"model":null,"name":"Phone","session_id":"ses_01a2306b84e170b5a001c280dc6caf1f","type":"phone"},
                "device_signed_in":true,"ip":"127.0.0.1","location":{"city":null,"country":null,"country_code":null,
                "label":"local network","local":true,"region":null},"reasons":["new_device_type"]}]}"#,
        );
        assert_eq!(list.alerts[0].reasons, ["new_device_type"]);
        assert_eq!(list.alerts[0].device["name"], "Phone");
        let answer: AlertDeviceSignedOut = assert_round_trip(r#"{"signed_out":false}"#);
        assert!(!answer.signed_out);
    }
}
