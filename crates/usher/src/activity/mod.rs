//! The account's append-only activity history. (Scaffold: storage, the API
//! and the page come with the activity work.)

use std::net::IpAddr;

use crate::core::Usher;
use crate::domain::{AccountId, DeviceType, SessionId};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActivityKind {
    SignIn,
    SignInFailed,
    SignedOut,
    StreamStarted,
    StreamStopped,
    StreamRefused,
    PasswordChanged,
    DeviceRenamed,
    ProfileCreated,
    ProfileRenamed,
    ProfileDeleted,
    ProfilePinSet,
    ProfilePinRemoved,
    Alert,
}

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

impl Usher {
    /// Appends an event to the account's history.
    pub async fn record(&self, event: NewActivity) {
        let _ = event;
    }
}
