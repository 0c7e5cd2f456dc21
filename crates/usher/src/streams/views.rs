//! The JSON of leases and active streams, built from their records.

use serde::Serialize;

use super::Lease;
use crate::domain::{rfc3339, DeviceType, SessionId, StreamId};
use crate::profiles::views::ProfileRefView;
use crate::store::ActiveStream;

/// A slot held: what the device needs to keep it.
#[derive(Debug, Serialize)]
pub struct LeaseView {
    pub stream_id: StreamId,
    /// Seconds between heartbeats.
    pub heartbeat_interval: u64,
    pub expires_at: String,
}

impl From<Lease> for LeaseView {
    fn from(l: Lease) -> Self {
        Self {
            stream_id: l.stream_id,
            heartbeat_interval: l.heartbeat_interval,
            expires_at: rfc3339(l.expires_at),
        }
    }
}

/// A stream as other devices of the account see it.
#[derive(Debug, Clone, Serialize)]
pub struct ActiveStreamView {
    pub stream_id: StreamId,
    pub device: StreamDevice,
    pub title: String,
    pub profile: Option<ProfileRefView>,
    pub started_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StreamDevice {
    pub session_id: SessionId,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: DeviceType,
}

impl From<ActiveStream> for ActiveStreamView {
    fn from(a: ActiveStream) -> Self {
        Self {
            stream_id: a.stream.id,
            device: StreamDevice {
                session_id: a.stream.session_id,
                name: a.device_name,
                kind: a.device_type,
            },
            title: a.stream.title,
            profile: a.profile.map(Into::into),
            started_at: rfc3339(a.stream.started_at),
        }
    }
}

/// `{"streams": […]}`
#[derive(Debug, Serialize)]
pub struct StreamList {
    pub streams: Vec<ActiveStreamView>,
}
