//! The JSON of the device list (and of a refused sign-in's devices), built
//! from [`Device`] records.

use serde::Serialize;

use super::record::{Device, NowPlaying};
use crate::domain::{rfc3339, SessionId, StreamId};
use crate::geo::Location;
use crate::profiles::views::ProfileRefView;

/// One row of the device list.
#[derive(Debug, Serialize)]
pub struct DeviceView {
    pub session_id: SessionId,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub model: Option<String>,
    pub app_version: Option<String>,
    pub signed_in_at: String,
    pub last_active_at: String,
    pub ip: Option<String>,
    pub location: Option<Location>,
    pub streaming: Option<NowPlayingView>,
    pub profile: Option<ProfileRefView>,
    pub current: bool,
}

/// What a device is playing now.
#[derive(Debug, Serialize)]
pub struct NowPlayingView {
    pub stream_id: StreamId,
    pub title: String,
    pub started_at: String,
}

impl From<Device> for DeviceView {
    fn from(d: Device) -> Self {
        Self {
            session_id: d.session_id,
            name: d.device.name.as_str().to_owned(),
            kind: d.device.kind.as_str(),
            model: d.device.model,
            app_version: d.device.app_version,
            signed_in_at: rfc3339(d.signed_in_at),
            last_active_at: rfc3339(d.last_active_at),
            ip: d.ip.map(|ip| ip.to_string()),
            location: d.location,
            streaming: d.streaming.map(Into::into),
            profile: d.profile.map(Into::into),
            current: d.current,
        }
    }
}

impl From<NowPlaying> for NowPlayingView {
    fn from(n: NowPlaying) -> Self {
        Self {
            stream_id: n.stream_id,
            title: n.title,
            started_at: rfc3339(n.started_at),
        }
    }
}

/// `{"devices": […]}`
#[derive(Debug, Serialize)]
pub struct DeviceList {
    pub devices: Vec<DeviceView>,
}
