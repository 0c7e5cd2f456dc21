//! [`NewActivity`]: an event to append to an account's history.

use std::net::IpAddr;

pub use crate::domain::ActivityDevice;
use crate::domain::{AccountId, ActivityDetail, ActivityKind};
use crate::sessions::cache::CachedSession;

/// An event to append.
#[derive(Debug, Clone)]
pub struct NewActivity {
    pub account_id: AccountId,
    /// The device the event is about.
    pub device: Option<ActivityDevice>,
    pub ip: Option<IpAddr>,
    /// What happened; it also says the event's kind.
    pub detail: ActivityDetail,
}

impl ActivityDevice {
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
    /// An event done by `session` from `ip`.
    pub fn by(session: &CachedSession, ip: Option<IpAddr>, detail: ActivityDetail) -> Self {
        Self {
            account_id: session.account_id,
            device: Some(ActivityDevice::of(session)),
            ip,
            detail,
        }
    }

    /// The event's kind, from its detail.
    pub fn kind(&self) -> ActivityKind {
        self.detail.kind()
    }
}
