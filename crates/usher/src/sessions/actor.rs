//! [`Actor`]: who caused a change, for the account's history.

use std::net::IpAddr;

use super::cache::CachedSession;

/// Who caused a change: a signed-in device (from an address), or usher
/// itself (idle expiry, theft detection) when `session` is `None`.
#[derive(Clone, Copy, Default)]
pub struct Actor<'a> {
    pub session: Option<&'a CachedSession>,
    pub ip: Option<IpAddr>,
}

impl<'a> Actor<'a> {
    /// A signed-in device, on a request from `ip`.
    pub fn device(session: &'a CachedSession, ip: Option<IpAddr>) -> Self {
        Self {
            session: Some(session),
            ip,
        }
    }

    /// usher itself, on its own or on a request from `ip`.
    pub fn usher(ip: Option<IpAddr>) -> Self {
        Self { session: None, ip }
    }
}
