//! Bodies of `/v1/devices…`: the device list, renaming, signing out.
//!
//! The answers are read leniently (members this crate does not model are
//! kept in `extra`, parts the server always writes are still `Option`), so a
//! newer server stays readable; written back, they give the server's JSON.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::profiles::ProfileRef;
use crate::{timestamp, DeviceType};

/// One signed-in device, as listed by `GET /v1/devices` (and answered by
/// `PATCH /v1/devices/{session_id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Device {
    /// Its session id (`ses_…`).
    pub session_id: String,
    /// Display name.
    pub name: String,
    /// Kind of device.
    #[serde(rename = "type")]
    pub device_type: DeviceType,
    /// Hardware model.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub model: Option<String>,
    /// Player app version.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub app_version: Option<String>,
    /// When it signed in.
    #[serde(with = "timestamp::millis")]
    pub signed_in_at: DateTime<Utc>,
    /// Its last authenticated call.
    #[serde(with = "timestamp::millis")]
    pub last_active_at: DateTime<Utc>,
    /// Last IP address seen.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub ip: Option<String>,
    /// Approximate location of `ip`, when known.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub location: Option<Location>,
    /// What it is playing now.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub streaming: Option<NowStreaming>,
    /// The profile it is on.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub profile: Option<ProfileRef>,
    /// True for the device making the call.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub current: bool,
}

/// Approximate location from the IP database; any part may be unknown.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Location {
    /// City name.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub city: Option<String>,
    /// Region (state, province).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub region: Option<String>,
    /// Country name.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub country: Option<String>,
    /// ISO 3166-1 alpha-2 country code, upper case.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true, pattern = r"^[A-Z]{2}$"))]
    pub country_code: Option<String>,
    /// A private or loopback address: the label is "local network".
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub local: bool,
    /// The server's text for it ("Lisbon, Lisbon, Portugal", "local network");
    /// the server always writes it.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = true))]
    pub label: Option<String>,
    /// Members this crate does not model.
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub extra: Map<String, Value>,
}

impl fmt::Display for Location {
    /// The server's label, or "City, Region, Country" with the unknown parts left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(label) = self.label.as_deref().filter(|l| !l.is_empty()) {
            return f.write_str(label);
        }
        let parts: Vec<&str> = [&self.city, &self.region, &self.country]
            .into_iter()
            .filter_map(|p| p.as_deref())
            .filter(|p| !p.is_empty())
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// The stream a device is playing (the server writes every member).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NowStreaming {
    /// The stream (`str_…`).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = true))]
    pub stream_id: Option<String>,
    /// What is playing.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = true))]
    pub title: Option<String>,
    /// When it started.
    #[serde(default, with = "timestamp::optional_millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = DateTime<Utc>, required = true))]
    pub started_at: Option<DateTime<Utc>>,
    /// Members this crate does not model.
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub extra: Map<String, Value>,
}

/// `GET /v1/devices` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceList {
    /// Every signed-in device of the account.
    pub devices: Vec<Device>,
}

/// `PATCH /v1/devices/{session_id}` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RenameDevice {
    /// The new display name: at most 64 characters as sent, not empty once
    /// surrounding whitespace is trimmed (the server keeps it trimmed), no
    /// control characters (`422 invalid_device_name`).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub name: String,
}

/// `POST /v1/devices/sign-out-all` body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignOutAll {
    /// Also sign out the calling device (`false` when absent).
    #[serde(default)]
    pub include_current: bool,
}

/// `POST /v1/devices/sign-out-all` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedOutCount {
    /// How many device sessions ended.
    pub signed_out: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::assert_round_trip;

    /// `GET /v1/devices` of a TV that plays and a phone that does not.
    const DEVICE_LIST: &str = r#"{"devices":[{"app_version":null,"current":true,"ip":"127.0.0.1",
        "last_active_at":"2026-12-01T07:04:46.433Z","location":{"city":null,"country":null,
        "country_code":null,"label":"local network","local":true,"region":null},"model":"Bravia XR",
        "name":"Living Room TV","profile":{"name":"ada","profile_id":"prf_01a2306b70d475a6a598da4943adebb7"},
        "session_id":"ses_01a2306b795f73798b0866615a984cf0","signed_in_at":"2026-12-01T07:04:39.519Z",
        "streaming":{"started_at":"2026-12-01T07:04:46.384Z","stream_id":"str_01a2306b9430761fbbcbe1b2742502d3",
        "title":"Dune"},"type":"tv"},{"app_version":null,"current":false,"ip":"127.0.0.1",
        "last_active_at":"2026-12-01T07:04:42.465Z","location":{"city":null,"country":null,
        "country_code":null,"label":"local network","local":true,"region":null},"model":null,
        "name":"Phone","profile":{"name":"ada","profile_id":"prf_01a2306b70d475a6a598da4943adebb7"},
        "session_id":"ses_01a2306b84e170b5a001c280dc6caf1f","signed_in_at":"2026-12-01T07:04:42.465Z",
        "streaming":null,"type":"phone"}]}"#;

    #[test]
    fn device_list_as_the_server_writes_it() {
        let list: DeviceList = assert_round_trip(DEVICE_LIST);
        let [tv, phone] = &list.devices[..] else {
            panic!("two devices expected: {list:?}");
        };
        assert!(tv.current);
        assert_eq!(tv.device_type, DeviceType::Tv);
        let playing = tv.streaming.as_ref().expect("the TV plays");
        assert_eq!(playing.title.as_deref(), Some("Dune"));
        assert_eq!(
            tv.location.as_ref().expect("a location").to_string(),
            "local network"
        );
        assert_eq!(phone.model, None);
        assert_eq!(phone.streaming, None);
    }

    #[test]
    fn renamed_device_as_the_server_writes_it() {
        // With a whole-second timestamp, to show `.000` is written back.
        let device: Device = assert_round_trip(
            r#"{"session_id":"ses_01a2306b795f73798b0866615a984cf0","name":"Den TV","type":"tv",
                "model":"Bravia XR","app_version":null,"signed_in_at":"2026-12-01T07:04:39.000Z",
                "last_active_at":"2026-12-01T07:04:46.514Z","ip":"127.0.0.1","location":{"city":"Lisbon",
                "region":"Lisbon","country":"Portugal","country_code":"PT","local":false,
                "label":"Lisbon, Lisbon, Portugal"},"streaming":null,"profile":null,"current":false}"#,
        );
        assert_eq!(device.name, "Den TV");
        assert_eq!(device.signed_in_at.timestamp_subsec_millis(), 0);
    }

    #[test]
    fn newer_members_and_missing_labels_are_tolerated() {
        let location: Location =
            serde_json::from_str(r#"{"city":"Lyon","country":"FR","continent":"EU"}"#)
                .expect("parses");
        assert_eq!(location.to_string(), "Lyon, FR");
        assert_eq!(location.extra.get("continent"), Some(&Value::from("EU")));
    }

    #[test]
    fn sign_out_all_bodies() {
        let answer: SignedOutCount = assert_round_trip(r#"{"signed_out":1}"#);
        assert_eq!(answer.signed_out, 1);
        let body: SignOutAll = serde_json::from_str("{}").expect("parses");
        assert!(!body.include_current);
        assert_round_trip::<SignOutAll>(r#"{"include_current":true}"#);
        assert_round_trip::<RenameDevice>(r#"{"name":"Den TV"}"#);
    }
}
