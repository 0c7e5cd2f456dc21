//! Domain types: parsed once at the edge, trusted everywhere inside.

mod activity_detail;
mod activity_kind;
mod address;
mod alert;
mod device;
mod email;
mod ids;
mod password;
mod plan;
mod profile;
mod reason;
mod stream;

pub use activity_detail::{
    ActivityDetail, ActivityDevice, AlertDetail, AlertReason, DeviceRenamedDetail,
    PasswordChangedDetail, PasswordCheck, PasswordCheckFailedDetail, ProfileDetail,
    ProfilePinSetDetail, SignInDetail, SignInFailedDetail, SignInFailure, SignInVia, SignOutCause,
    SignedOutDetail, StreamRefusal, StreamRefusedDetail, StreamStartedDetail, StreamStoppedDetail,
};
pub use activity_kind::{ActivityKind, UnknownActivityKind};
pub use address::ClientAddress;
pub use alert::{AlertBody, AlertDevice, AlertMessage, AlertType};
pub use device::{DeviceInfo, DeviceName, DeviceType, InvalidDeviceField};
pub use email::{Email, InvalidEmail};
pub use ids::{AccountId, EventId, InvalidId, ProfileId, SessionId, StreamId};
pub use password::{NewPassword, WeakPassword};
pub use plan::{Plan, PlanName, Plans};
pub use profile::{InvalidPin, InvalidProfileName, Pin, ProfileName, ProfileUnlock};
pub use reason::SignOutReason;
pub use stream::{InvalidTitle, StreamEndReason, StreamTitle};

/// Milliseconds since the Unix epoch, UTC: the one time representation in the
/// store and the domain (portable across SQLite and PostgreSQL).
pub type Millis = i64;

/// Renders milliseconds as the RFC 3339 timestamp used on the wire.
pub fn rfc3339(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
