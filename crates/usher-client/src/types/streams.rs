//! Bodies of `/v1/streams…`: taking, keeping and listing stream slots.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{DeviceType, ProfileRef};

/// `POST /v1/streams` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartStream {
    /// What is being played (1 to 200 characters).
    pub title: String,
    /// The profile watching; none when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<String>,
}

/// A stream slot held by this device: the answer to `POST /v1/streams` and to
/// each heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The stream (`str_…`).
    pub stream_id: String,
    /// Seconds between heartbeats.
    pub heartbeat_interval: u64,
    /// When the slot is given back unless a heartbeat arrives first.
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
pub struct ActiveStream {
    /// The stream (`str_…`); stop it with [`crate::Client::stop_stream`].
    pub stream_id: String,
    /// The device playing it.
    pub device: StreamDeviceRef,
    /// What is playing.
    pub title: String,
    /// The profile watching, if any.
    #[serde(default)]
    pub profile: Option<ProfileRef>,
    /// When it started.
    pub started_at: DateTime<Utc>,
}

/// The device that holds a stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct StreamList {
    /// Every stream of the account that holds a slot now.
    pub streams: Vec<ActiveStream>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn start_body_omits_absent_profile() {
        let body = StartStream {
            title: "Dune".into(),
            profile_id: None,
        };
        assert_eq!(
            serde_json::to_value(&body).expect("serializes"),
            json!({"title": "Dune"})
        );
        let body = StartStream {
            profile_id: Some("pro_1".into()),
            ..body
        };
        assert_eq!(
            serde_json::to_value(&body).expect("serializes"),
            json!({"title": "Dune", "profile_id": "pro_1"})
        );
    }

    #[test]
    fn lease_decodes_and_never_asks_for_a_zero_interval() {
        let lease: Lease = serde_json::from_value(json!({
            "stream_id": "str_1", "heartbeat_interval": 20,
            "expires_at": "2026-11-21T08:04:26.123Z"
        }))
        .expect("parses");
        assert_eq!(lease.heartbeat_every(), Duration::from_secs(20));
        assert_eq!(lease.expires_at.timestamp_subsec_millis(), 123);
        let zero = Lease {
            heartbeat_interval: 0,
            ..lease
        };
        assert_eq!(zero.heartbeat_every(), Duration::from_secs(1));
    }

    #[test]
    fn active_streams_with_and_without_profile() {
        let list: StreamList = serde_json::from_value(json!({"streams": [
            {"stream_id": "str_1", "device": {"session_id": "ses_1", "name": "Living Room TV", "type": "tv"},
             "title": "Dune", "profile": null, "started_at": "2026-11-21T08:03:26Z"},
            {"stream_id": "str_2", "device": {"session_id": "ses_2", "name": "Phone", "type": "phone"},
             "title": "Arrival", "profile": {"profile_id": "pro_1", "name": "Kids"},
             "started_at": "2026-11-21T08:05:00Z", "future_member": true}
        ]}))
        .expect("parses");
        let [first, second] = &list.streams[..] else {
            panic!("two streams expected: {list:?}");
        };
        assert_eq!(first.device.device_type, DeviceType::Tv);
        assert_eq!(first.profile, None);
        let profile = second.profile.as_ref().expect("a profile");
        assert_eq!(profile.profile_id.as_deref(), Some("pro_1"));
        assert_eq!(profile.name.as_deref(), Some("Kids"));
    }
}
