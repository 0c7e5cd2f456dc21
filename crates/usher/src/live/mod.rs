//! The live channel: each device's WebSocket, and the fan-out that tells
//! devices about revocations and changes the moment they happen. Frames are
//! [`LiveEvent`]s, the wire type `usher-client` reads.

pub mod dispatch;
pub mod registry;
pub mod socket;

pub use registry::{Caps, Crowded, LiveRegistry, MessageKind, Outbound};

use std::sync::Arc;

use usher_api::LiveEvent;

use crate::domain::{Millis, ProfileId, SignOutReason, StreamEndReason, StreamId};
use crate::http::wire::timestamp;

/// The text frame of `event`.
pub(crate) fn frame(event: &LiveEvent) -> String {
    // Serializing these variants cannot fail: plain strings and a timestamp.
    serde_json::to_string(event).unwrap_or_default()
}

/// `signed_out`; the socket closes with 4001 after it.
pub fn signed_out_message(reason: SignOutReason, at: Millis) -> Outbound {
    let event = LiveEvent::SignedOut {
        reason: reason.into(),
        at: timestamp(at),
    };
    Outbound::SignedOut {
        text: Arc::from(frame(&event)),
        reason,
    }
}

/// `stream_stopped`: a stream of this device ended (never by itself).
pub fn stream_stopped_message(stream_id: StreamId, reason: StreamEndReason) -> Outbound {
    Outbound::Event {
        kind: MessageKind::StreamStopped,
        text: Arc::from(frame(&LiveEvent::StreamStopped {
            stream_id: stream_id.to_string(),
            reason: reason.into(),
        })),
    }
}

/// `profile_locked`: back to the profile picker.
pub fn profile_locked_message(profile_id: ProfileId) -> Outbound {
    Outbound::Event {
        kind: MessageKind::ProfileLocked,
        text: Arc::from(frame(&LiveEvent::ProfileLocked {
            profile_id: profile_id.to_string(),
        })),
    }
}

/// `devices_changed`, for connections that watch the device list.
pub fn devices_changed_message() -> Outbound {
    Outbound::Event {
        kind: MessageKind::DevicesChanged,
        text: Arc::from(frame(&LiveEvent::DevicesChanged)),
    }
}
