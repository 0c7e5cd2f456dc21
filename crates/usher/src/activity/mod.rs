//! The account's append-only activity history: who did what, from which
//! device, address and place. Events are appended, paged newest first and
//! pruned after the retention period; nothing edits them.

pub mod http;
pub mod log;
pub mod service;

use std::net::IpAddr;

use crate::core::Usher;
use crate::domain::{AccountId, DeviceType, EventId, SessionId};
use crate::sessions::cache::CachedSession;
use crate::store::ActivityRecord;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
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

impl ActivityKind {
    pub const ALL: [ActivityKind; 14] = [
        ActivityKind::SignIn,
        ActivityKind::SignInFailed,
        ActivityKind::SignedOut,
        ActivityKind::StreamStarted,
        ActivityKind::StreamStopped,
        ActivityKind::StreamRefused,
        ActivityKind::PasswordChanged,
        ActivityKind::DeviceRenamed,
        ActivityKind::ProfileCreated,
        ActivityKind::ProfileRenamed,
        ActivityKind::ProfileDeleted,
        ActivityKind::ProfilePinSet,
        ActivityKind::ProfilePinRemoved,
        ActivityKind::Alert,
    ];

    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::SignIn => "sign_in",
            ActivityKind::SignInFailed => "sign_in_failed",
            ActivityKind::SignedOut => "signed_out",
            ActivityKind::StreamStarted => "stream_started",
            ActivityKind::StreamStopped => "stream_stopped",
            ActivityKind::StreamRefused => "stream_refused",
            ActivityKind::PasswordChanged => "password_changed",
            ActivityKind::DeviceRenamed => "device_renamed",
            ActivityKind::ProfileCreated => "profile_created",
            ActivityKind::ProfileRenamed => "profile_renamed",
            ActivityKind::ProfileDeleted => "profile_deleted",
            ActivityKind::ProfilePinSet => "profile_pin_set",
            ActivityKind::ProfilePinRemoved => "profile_pin_removed",
            ActivityKind::Alert => "alert",
        }
    }
}

/// The name is not an activity kind.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown activity kind {0:?}")]
pub struct UnknownKind(pub String);

impl std::str::FromStr for ActivityKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ActivityKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKind(s.chars().take(40).collect()))
    }
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

impl Usher {
    /// Appends an event to the account's history and waits until it is
    /// stored. A failure is logged, never returned: the change it describes
    /// has already been made.
    pub async fn record(&self, event: NewActivity) {
        let record = self.activity_record(event);
        if !self.activity.append(record).await {
            tracing::warn!("an activity event could not be recorded");
        }
    }

    /// Queues an event without waiting for its commit: for a failed sign-in,
    /// whose answer must take as long for an unknown email (which records
    /// nothing) as for a wrong password. It is committed with the next
    /// batch, milliseconds later.
    pub async fn record_detached(&self, event: NewActivity) {
        let record = self.activity_record(event);
        self.activity.append_detached(record).await;
    }

    /// The stored form of an event, located and timestamped now.
    pub(crate) fn activity_record(&self, event: NewActivity) -> ActivityRecord {
        let location = event
            .ip
            .and_then(|ip| self.geo.locate(ip))
            .and_then(|l| serde_json::to_value(l).ok());
        ActivityRecord {
            id: EventId::new(),
            account_id: event.account_id,
            at: self.clock.now(),
            kind: event.kind,
            session_id: event.device.as_ref().and_then(|d| d.session_id),
            device_name: event.device.as_ref().map(|d| d.name.clone()),
            device_type: event.device.as_ref().map(|d| d.kind),
            ip: event.ip,
            location,
            detail: event.detail,
        }
    }
}

impl Usher {
    /// Records sign-outs (and the streams they ended) with who caused them.
    pub(crate) async fn record_sign_outs(
        &self,
        revoked: &[crate::store::RevokedSession],
        by: crate::core::Actor<'_>,
    ) {
        let by_device = by.session.map(ActivityDevice::of);
        let mut events = Vec::new();
        for r in revoked {
            let device = r.device.as_ref().map(|d| ActivityDevice {
                session_id: Some(r.session_id),
                name: d.name.clone(),
                kind: d.kind,
            });
            let ip = by.ip.or(r.device.as_ref().and_then(|d| d.last_ip));
            let cause_by = by_device
                .as_ref()
                .filter(|d| d.session_id != Some(r.session_id));
            events.push(NewActivity {
                account_id: r.account_id,
                kind: ActivityKind::SignedOut,
                device: device.clone(),
                ip,
                detail: serde_json::json!({
                    "reason": r.reason.as_str(),
                    "cause": sign_out_cause(r.reason),
                    "by": cause_by.map(ActivityDevice::as_json),
                }),
            });
            if let Some(stream_id) = r.ended_stream {
                events.push(NewActivity {
                    account_id: r.account_id,
                    kind: ActivityKind::StreamStopped,
                    device,
                    ip,
                    detail: serde_json::json!({ "stream_id": stream_id, "reason": "signed_out" }),
                });
            }
        }
        self.record_all(events).await;
    }

    /// Appends several events and waits for all of them (queued together,
    /// they usually share a commit).
    pub async fn record_all(&self, events: Vec<NewActivity>) {
        futures_util::future::join_all(events.into_iter().map(|e| self.record(e))).await;
    }
}

/// Who, in words, caused a sign-out with this reason.
fn sign_out_cause(reason: crate::domain::SignOutReason) -> &'static str {
    use crate::domain::SignOutReason as R;
    match reason {
        R::SelfSignOut => "this_device",
        R::Remote => "another_device",
        R::AllDevices => "sign_out_all",
        R::PasswordChanged => "password_change",
        R::TokenReused => "token_reuse",
        R::IdleExpired => "idle_expiry",
        R::Admin => "operator",
    }
}
