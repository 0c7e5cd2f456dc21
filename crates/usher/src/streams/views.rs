//! The JSON of leases and active streams: the `usher_api` types, built from
//! their records.

use usher_api as api;

use super::Lease;
use crate::http::wire::timestamp;
use crate::store::ActiveStream;

impl From<Lease> for api::Lease {
    fn from(l: Lease) -> Self {
        api::Lease {
            stream_id: l.stream_id.to_string(),
            heartbeat_interval: l.heartbeat_interval,
            expires_at: timestamp(l.expires_at),
        }
    }
}

impl From<ActiveStream> for api::ActiveStream {
    fn from(a: ActiveStream) -> Self {
        api::ActiveStream {
            stream_id: a.stream.id.to_string(),
            device: api::StreamDeviceRef {
                session_id: a.stream.session_id.to_string(),
                name: a.device_name,
                device_type: a.device_type,
            },
            title: a.stream.title,
            profile: a.profile.map(Into::into),
            started_at: timestamp(a.stream.started_at),
        }
    }
}

/// `{"streams": […]}`
pub fn stream_list(streams: Vec<ActiveStream>) -> api::StreamList {
    api::StreamList {
        streams: streams.into_iter().map(Into::into).collect(),
    }
}
