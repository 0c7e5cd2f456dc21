//! The live channel: each device's WebSocket, and the fan-out that tells
//! devices about revocations and changes the moment they happen.

pub mod dispatch;
pub mod registry;
pub mod socket;

pub use registry::{LiveRegistry, Outbound};

use std::sync::Arc;

use crate::domain::{rfc3339, Millis, ProfileId, SignOutReason, StreamEndReason, StreamId};

/// `{"type":"signed_out","reason":R,"at":T}`
pub fn signed_out_message(reason: SignOutReason, at: Millis) -> Outbound {
    let text = serde_json::json!({ "type": "signed_out", "reason": reason, "at": rfc3339(at) });
    Outbound::SignedOut {
        text: Arc::from(text.to_string()),
        reason,
    }
}

/// `{"type":"stream_stopped","stream_id":S,"reason":R}`
pub fn stream_stopped_message(stream_id: StreamId, reason: StreamEndReason) -> Outbound {
    let text =
        serde_json::json!({ "type": "stream_stopped", "stream_id": stream_id, "reason": reason });
    Outbound::Event(Arc::from(text.to_string()))
}

/// `{"type":"profile_locked","profile_id":P}`: back to the profile picker.
pub fn profile_locked_message(profile_id: ProfileId) -> Outbound {
    let text = serde_json::json!({ "type": "profile_locked", "profile_id": profile_id });
    Outbound::Event(Arc::from(text.to_string()))
}

/// `{"type":"devices_changed"}`
pub fn devices_changed_message() -> Outbound {
    Outbound::Event(Arc::from(r#"{"type":"devices_changed"}"#))
}
