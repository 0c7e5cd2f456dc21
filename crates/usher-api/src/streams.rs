//! Bodies of `/v1/streams…`: taking, keeping and listing stream slots.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::profiles::ProfileRef;
use crate::{timestamp, DeviceType};

/// `POST /v1/streams` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StartStream {
    /// What is being played: at most 200 characters as sent, not empty once
    /// trimmed, no control characters (`422 invalid_title`).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub title: String,
    /// The profile watching; the device's own when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<String>,
}

/// A stream slot held by this device: the answer to `POST /v1/streams`
/// (`201`) and to each heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Lease {
    /// The stream (`str_…`).
    pub stream_id: String,
    /// Seconds between heartbeats.
    pub heartbeat_interval: u64,
    /// When the slot is given back unless a heartbeat arrives first.
    #[serde(with = "timestamp::millis")]
    pub expires_at: DateTime<Utc>,
}

impl Lease {
    /// How long to wait before the next heartbeat; never zero, so a
    /// misconfigured server cannot make a client spin.
    pub fn heartbeat_every(&self) -> Duration {
        Duration::from_secs(self.heartbeat_interval.max(1))
    }
}

/// A stream that counts against the account's plan, as any of its devices
/// sees it (`GET /v1/streams`, and the `active` member of `409 too_many_streams`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActiveStream {
    /// The stream (`str_…`).
    pub stream_id: String,
    /// The device playing it.
    pub device: StreamDeviceRef,
    /// What is playing.
    pub title: String,
    /// The profile watching, if any.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub profile: Option<ProfileRef>,
    /// When it started.
    #[serde(with = "timestamp::millis")]
    pub started_at: DateTime<Utc>,
}

/// The device that holds a stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamDeviceRef {
    /// Its session (`ses_…`).
    pub session_id: String,
    /// Display name.
    pub name: String,
    /// Kind of device.
    #[serde(rename = "type")]
    pub device_type: DeviceType,
}

/// `GET /v1/streams` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamList {
    /// Every stream of the account that holds a slot now.
    pub streams: Vec<ActiveStream>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::assert_round_trip;
    use serde_json::json;

    #[test]
    fn start_body_leaves_out_absent_profile() {
        let body = StartStream {
            title: "Dune".into(),
            profile_id: None,
        };
        assert_eq!(
            serde_json::to_value(&body).expect("serializes"),
            json!({"title": "Dune"})
        );
        let body = StartStream {
            profile_id: Some("prf_1".into()),
            ..body
        };
        assert_eq!(
            serde_json::to_value(&body).expect("serializes"),
            json!({"title": "Dune", "profile_id": "prf_1"})
        );
    }

    #[test]
    fn lease_as_the_server_writes_it() {
        let lease: Lease = assert_round_trip(
            r#"{"stream_id":"str_01a2306b9430761fbbcbe1b2742502d3","heartbeat_interval":20,
                "expires_at":"2026-12-01T07:05:46.384Z"}"#,
        );
        assert_eq!(lease.heartbeat_every(), Duration::from_secs(20));
        assert_eq!(lease.expires_at.timestamp_subsec_millis(), 384);
        let zero = Lease {
            heartbeat_interval: 0,
            ..lease
        };
        assert_eq!(zero.heartbeat_every(), Duration::from_secs(1));
    }

    #[test]
    fn stream_list_as_the_server_writes_it() {
        let list: StreamList = assert_round_trip(
            r#"{"streams":[{"device":{"name":"Living Room TV","session_id":"ses_01a2306b795f73798b0866615a984cf0",
                "type":"tv"},"profile":{"name":"ada","profile_id":"prf_01a2306b70d475a6a598da4943adebb7"},
                "started_at":"2026-12-01T07:04:46.384Z","stream_id":"str_01a2306b9430761fbbcbe1b2742502d3",
                "title":"Dune"},{"device":{"name":"Phone","session_id":"ses_2","type":"phone"},
                "profile":null,"started_at":"2026-12-01T07:05:00.000Z","stream_id":"str_2","title":"Arrival"}]}"#,
        );
        let [first, second] = &list.streams[..] else {
            panic!("two streams expected: {list:?}");
        };
        assert_eq!(first.device.device_type, DeviceType::Tv);
        let profile = first.profile.as_ref().expect("a profile");
        assert_eq!(profile.name.as_deref(), Some("ada"));
        assert_eq!(second.profile, None);
    }
}
