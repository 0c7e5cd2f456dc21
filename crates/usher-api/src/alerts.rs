//! Alerts (`/v1/alerts…`): a sign-in from a new country or a new kind of
//! device, or several wrong passwords entered on signed-in devices.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::wire_enum::wire_enum;
use crate::{timestamp, DeviceType};

wire_enum! {
    /// Why an alert was raised.
    pub enum AlertReason, error UnknownAlertReason {
        /// A sign-in from a country the account had not signed in from.
        NewCountry => "new_country",
        /// A sign-in from a kind of device the account had not used.
        NewDeviceType => "new_device_type",
        /// Several wrong account passwords entered on signed-in devices.
        WrongPasswords => "wrong_passwords",
    }
}

/// The text is not an [`AlertReason`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown alert reason {0:?}")]
pub struct UnknownAlertReason(pub String);

impl From<&str> for UnknownAlertReason {
    fn from(s: &str) -> Self {
        UnknownAlertReason(s.to_owned())
    }
}

/// The device an alert names: the one that signed in, or the one the wrong
/// passwords were entered on. [`Alert::device`] holds it as JSON, so an
/// alert a newer server shaped otherwise still lists; [`Alert::named_device`]
/// reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(
        description = "The device an alert names: the one that signed in, or the one the wrong passwords were entered on."
    )
)]
pub struct AlertDevice {
    /// Its session (`ses_…`).
    pub session_id: String,
    /// Its name when the alert was raised.
    pub name: String,
    /// Kind of device.
    #[serde(rename = "type")]
    pub device_type: DeviceType,
    /// Hardware model, if it said.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub model: Option<String>,
}

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
    /// Read as text, so a reason a newer server adds is still listed.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<AlertReason>))]
    pub reasons: Vec<String>,
    /// The device that signed in (or the wrong password was entered on).
    #[cfg_attr(feature = "openapi", schema(value_type = AlertDevice))]
    pub device: Value,
    /// The address it signed in from, if known.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub ip: Option<String>,
    /// Where `ip` was when it signed in, if known.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<crate::Location>, required = true)
    )]
    pub location: Option<Value>,
    /// Whether that device is still signed in (so it can be signed out).
    pub device_signed_in: bool,
}

impl Alert {
    /// The device the alert names; `None` if the server shaped it otherwise.
    pub fn named_device(&self) -> Option<AlertDevice> {
        AlertDevice::deserialize(&self.device).ok()
    }
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
        let named = list.alerts[0].named_device().expect("the device");
        assert_eq!((named.device_type, named.model), (DeviceType::Phone, None));
        for reason in AlertReason::ALL {
            assert_eq!(reason.as_str().parse::<AlertReason>(), Ok(reason));
        }
        let answer: AlertDeviceSignedOut = assert_round_trip(r#"{"signed_out":false}"#);
        assert!(!answer.signed_out);
    }
}
