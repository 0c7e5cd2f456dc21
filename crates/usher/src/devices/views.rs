//! The JSON of the device list (and of a refused sign-in's devices): the
//! `usher_api` types, built from [`Device`] records.

use usher_api as api;

use super::record::{Device, NowPlaying};
use crate::geo::Location;
use crate::http::wire::timestamp;

impl From<Device> for api::Device {
    fn from(d: Device) -> Self {
        api::Device {
            session_id: d.session_id.to_string(),
            name: d.device.name.as_str().to_owned(),
            device_type: d.device.kind,
            model: d.device.model,
            app_version: d.device.app_version,
            signed_in_at: timestamp(d.signed_in_at),
            last_active_at: timestamp(d.last_active_at),
            ip: d.ip.map(|ip| ip.to_string()),
            location: d.location.map(location),
            streaming: d.streaming.map(Into::into),
            profile: d.profile.map(Into::into),
            current: d.current,
        }
    }
}

impl From<NowPlaying> for api::NowStreaming {
    fn from(n: NowPlaying) -> Self {
        api::NowStreaming {
            stream_id: Some(n.stream_id.to_string()),
            title: Some(n.title),
            started_at: Some(timestamp(n.started_at)),
            extra: Default::default(),
        }
    }
}

/// A location with the label pages show beside it.
fn location(l: Location) -> api::Location {
    api::Location {
        label: Some(l.label()),
        city: l.city,
        region: l.region,
        country: l.country,
        country_code: l.country_code,
        local: l.local,
        extra: Default::default(),
    }
}

/// `{"devices": […]}`
pub fn device_list(devices: Vec<Device>) -> api::DeviceList {
    api::DeviceList {
        devices: devices.into_iter().map(Into::into).collect(),
    }
}
