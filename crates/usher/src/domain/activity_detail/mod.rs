//! [`ActivityDetail`]: what an activity history entry says beyond its kind,
//! typed per kind. It serializes to the JSON the history has always stored
//! and sent (the store keeps it as JSON text); a stored detail this version
//! cannot read exactly is kept as it is ([`ActivityDetail::Unreadable`]), so
//! rows written by older or newer versions never fail a page. Each detail's
//! schema (`ToSchema`) is that JSON's, for the API document.

mod parts;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ActivityKind, ProfileId, SignOutReason, StreamEndReason, StreamId};
pub use parts::{
    ActivityDevice, AlertReason, PasswordCheck, SignInFailure, SignInVia, SignOutCause,
    StreamRefusal,
};

/// The kind-specific part of an activity entry: one variant per
/// [`ActivityKind`], plus the fallback for a detail this version cannot read.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ActivityDetail {
    SignIn(SignInDetail),
    SignInFailed(SignInFailedDetail),
    SignedOut(SignedOutDetail),
    StreamStarted(StreamStartedDetail),
    StreamStopped(StreamStoppedDetail),
    StreamRefused(StreamRefusedDetail),
    PasswordChanged(PasswordChangedDetail),
    DeviceRenamed(DeviceRenamedDetail),
    ProfileCreated(ProfileDetail),
    ProfileRenamed(ProfileDetail),
    ProfileDeleted(ProfileDetail),
    ProfilePinSet(ProfilePinSetDetail),
    ProfilePinRemoved(ProfileDetail),
    PasswordCheckFailed(PasswordCheckFailedDetail),
    Alert(AlertDetail),
    /// A stored detail of another shape (an older or newer version wrote
    /// it): shown exactly as stored.
    #[serde(serialize_with = "as_stored")]
    Unreadable {
        kind: ActivityKind,
        json: serde_json::Value,
    },
}

/// `sign_in`: how the device signed in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SignInDetail {
    pub via: SignInVia,
}

/// `sign_in_failed`: why it was refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SignInFailedDetail {
    pub reason: SignInFailure,
}

/// `signed_out`: why, and the other device that caused it (`null` when
/// none did).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SignedOutDetail {
    pub reason: SignOutReason,
    pub cause: SignOutCause,
    #[schema(required = true)]
    pub by: Option<ActivityDevice>,
}

/// `stream_started`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StreamStartedDetail {
    #[schema(value_type = String)]
    pub stream_id: StreamId,
    pub title: String,
    #[schema(value_type = Option<String>, required = true)]
    pub profile_id: Option<ProfileId>,
}

/// `stream_stopped`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StreamStoppedDetail {
    #[schema(value_type = String)]
    pub stream_id: StreamId,
    pub reason: StreamEndReason,
    /// The other device that stopped it: `null` when none did; absent for a
    /// stream a sign-out ended, whose sign-out entry names the cause.
    // `Some(None)` is the `null`, `None` the absent member.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    #[schema(value_type = Option<ActivityDevice>)]
    pub by: Option<Option<ActivityDevice>>,
}

/// `stream_refused`: every stream of the plan was in use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StreamRefusedDetail {
    pub title: String,
    pub reason: StreamRefusal,
    /// The plan's number of streams.
    pub limit: u32,
}

/// `password_changed`: how many devices it signed out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PasswordChangedDetail {
    #[schema(value_type = u64)]
    pub signed_out: usize,
}

/// `device_renamed`: the names before and after, and the other device that
/// renamed it (`null` when it renamed itself or the account page did).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeviceRenamedDetail {
    pub from: String,
    pub to: String,
    #[schema(required = true)]
    pub by: Option<ActivityDevice>,
}

/// `profile_created`, `profile_renamed`, `profile_deleted`,
/// `profile_pin_removed`: the profile and its (new) name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProfileDetail {
    #[schema(value_type = String)]
    pub profile_id: ProfileId,
    pub name: String,
}

/// `profile_pin_set`: the profile and its name, and whether an existing PIN
/// was replaced (rather than a first lock).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProfilePinSetDetail {
    #[schema(value_type = String)]
    pub profile_id: ProfileId,
    pub name: String,
    pub changed: bool,
}

/// `password_check_failed`: a signed-in device entered a wrong account
/// password, and what for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PasswordCheckFailedDetail {
    pub during: PasswordCheck,
}

/// `alert`: what was new about the sign-in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AlertDetail {
    pub reasons: Vec<AlertReason>,
    /// ISO 3166-1 alpha-2 of the sign-in's address, when known.
    #[schema(required = true)]
    pub country: Option<String>,
}

impl ActivityDetail {
    /// The kind of entry this detail belongs to.
    pub fn kind(&self) -> ActivityKind {
        use ActivityDetail as D;
        use ActivityKind as K;
        match self {
            D::SignIn(_) => K::SignIn,
            D::SignInFailed(_) => K::SignInFailed,
            D::SignedOut(_) => K::SignedOut,
            D::StreamStarted(_) => K::StreamStarted,
            D::StreamStopped(_) => K::StreamStopped,
            D::StreamRefused(_) => K::StreamRefused,
            D::PasswordChanged(_) => K::PasswordChanged,
            D::DeviceRenamed(_) => K::DeviceRenamed,
            D::ProfileCreated(_) => K::ProfileCreated,
            D::ProfileRenamed(_) => K::ProfileRenamed,
            D::ProfileDeleted(_) => K::ProfileDeleted,
            D::ProfilePinSet(_) => K::ProfilePinSet,
            D::ProfilePinRemoved(_) => K::ProfilePinRemoved,
            D::PasswordCheckFailed(_) => K::PasswordCheckFailed,
            D::Alert(_) => K::Alert,
            D::Unreadable { kind, .. } => *kind,
        }
    }

    /// Reads the stored detail of an entry of `kind`. It is typed only when
    /// the typed form writes back exactly what was stored; otherwise it is
    /// kept as stored, so nothing is lost or changed on the way out.
    pub fn read(kind: ActivityKind, json: serde_json::Value) -> Self {
        use ActivityDetail as D;
        use ActivityKind as K;
        let typed = match kind {
            K::SignIn => parse(&json).map(D::SignIn),
            K::SignInFailed => parse(&json).map(D::SignInFailed),
            K::SignedOut => parse(&json).map(D::SignedOut),
            K::StreamStarted => parse(&json).map(D::StreamStarted),
            K::StreamStopped => parse(&json).map(D::StreamStopped),
            K::StreamRefused => parse(&json).map(D::StreamRefused),
            K::PasswordChanged => parse(&json).map(D::PasswordChanged),
            K::DeviceRenamed => parse(&json).map(D::DeviceRenamed),
            K::ProfileCreated => parse(&json).map(D::ProfileCreated),
            K::ProfileRenamed => parse(&json).map(D::ProfileRenamed),
            K::ProfileDeleted => parse(&json).map(D::ProfileDeleted),
            K::ProfilePinSet => parse(&json).map(D::ProfilePinSet),
            K::ProfilePinRemoved => parse(&json).map(D::ProfilePinRemoved),
            K::PasswordCheckFailed => parse(&json).map(D::PasswordCheckFailed),
            K::Alert => parse(&json).map(D::Alert),
        };
        match typed {
            Some(detail) if detail.to_json() == json => detail,
            _ => D::Unreadable { kind, json },
        }
    }

    /// The detail as the JSON the history stores and the API sends.
    pub fn to_json(&self) -> serde_json::Value {
        // Plain data with string keys: serializing it cannot fail.
        serde_json::to_value(self).unwrap_or_default()
    }
}

fn parse<T: serde::de::DeserializeOwned>(json: &serde_json::Value) -> Option<T> {
    T::deserialize(json).ok()
}

/// An unreadable detail is written back as it was stored.
fn as_stored<S: serde::Serializer>(
    _kind: &ActivityKind,
    json: &serde_json::Value,
    s: S,
) -> Result<S::Ok, S::Error> {
    json.serialize(s)
}

/// Tells a present `null` (`Some(None)`) from an absent member (`None`,
/// through `#[serde(default)]`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
