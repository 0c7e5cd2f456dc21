//! [`NewActivity`]: an event to append to an account's history.

use std::net::IpAddr;

use crate::domain::{AccountId, ActivityKind, DeviceType, SessionId};
use crate::sessions::cache::CachedSession;

/// The device an event is about (or that caused it).
#[derive(Debug, Clone)]
pub struct ActivityDevice {
    pub session_id: Option<SessionId>,
    pub name: String,
    pub kind: DeviceType,
}

/// An event to append.
#[derive(Debug, Clone)]
pub struct NewActivity {
    pub account_id: AccountId,
    pub kind: ActivityKind,
    pub device: Option<ActivityDevice>,
    pub ip: Option<IpAddr>,
    /// Kind-specific details (reason, title, profile, who caused it …).
    pub detail: serde_json::Value,
}

impl ActivityDevice {
    /// How an event's `detail` names a device that caused it (`by`).
    pub fn as_json(&self) -> serde_json::Value {
        serde_json::json!({
            "session_id": self.session_id,
            "name": self.name,
            "type": self.kind.as_str(),
        })
    }

    /// The device of a signed-in session.
    pub fn of(session: &CachedSession) -> Self {
        let device = session.device();
        Self {
            session_id: Some(session.id),
            name: device.name.as_str().to_owned(),
            kind: device.kind,
        }
    }
}

impl NewActivity {
    /// An event of `kind` done by `session` from `ip`.
    pub fn by(session: &CachedSession, kind: ActivityKind, ip: Option<IpAddr>) -> Self {
        Self {
            account_id: session.account_id,
            kind,
            device: Some(ActivityDevice::of(session)),
            ip,
            detail: serde_json::json!({}),
        }
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }
}
