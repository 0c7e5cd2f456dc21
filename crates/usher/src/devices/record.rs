//! [`Device`]: one signed-in device of an account, as the device list, the
//! account pages and a refused sign-in describe it.

use std::net::IpAddr;

use crate::domain::{DeviceInfo, Millis, SessionId, StreamId};
use crate::geo::Location;
use crate::store::ProfileRef;

/// One signed-in device.
#[derive(Debug, Clone)]
pub struct Device {
    pub session_id: SessionId,
    pub device: DeviceInfo,
    pub signed_in_at: Millis,
    /// The freshest last-active time this node knows (memory or store).
    pub last_active_at: Millis,
    pub ip: Option<IpAddr>,
    pub location: Option<Location>,
    pub streaming: Option<NowPlaying>,
    pub profile: Option<ProfileRef>,
    /// Whether this is the device asking.
    pub current: bool,
}

/// What a device is playing now.
#[derive(Debug, Clone)]
pub struct NowPlaying {
    pub stream_id: StreamId,
    pub title: String,
    pub started_at: Millis,
}
