//! The small types activity details are made of; their serde spellings are
//! the stored (and sent) ones.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{DeviceInfo, DeviceType, SessionId, SignOutReason};

/// A device an entry names: the one it is about, or the one that caused it
/// (a detail's `by`).
// Named `ActingDevice` in the API document, beside the event's own `EventDevice`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ActingDevice)]
pub struct ActivityDevice {
    /// `null` for a device that never got a session (a refused sign-in): its name and type are what an unauthenticated caller said,
    /// so they are shown as unverified, never as the owner's device.
    #[schema(value_type = Option<String>, required = true)]
    pub session_id: Option<SessionId>,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: DeviceType,
}

impl ActivityDevice {
    /// A device as a caller who proved nothing described it (a refused
    /// sign-in): stored without a session, so shown as unverified.
    pub fn unverified(device: &DeviceInfo) -> Self {
        Self {
            session_id: None,
            name: device.name.as_str().to_owned(),
            kind: device.kind,
        }
    }

    /// Whether a signed-in session said this (rather than a stranger).
    pub fn is_verified(&self) -> bool {
        self.session_id.is_some()
    }
}

/// How a device signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignInVia {
    /// An app, with a refresh token.
    App,
    /// The account pages, with a browser session.
    Browser,
}

/// Why a sign-in was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignInFailure {
    WrongPassword,
    /// The plan's device limit is reached.
    DeviceLimitReached,
}

/// Who, in words, caused a sign-out (what the history page says).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignOutCause {
    ThisDevice,
    AnotherDevice,
    SignOutAll,
    PasswordChange,
    TokenReuse,
    IdleExpiry,
    Operator,
}

impl SignOutCause {
    /// The cause of a sign-out with this reason.
    pub fn of(reason: SignOutReason) -> Self {
        use SignOutReason as R;
        match reason {
            R::SelfSignOut => Self::ThisDevice,
            R::Remote => Self::AnotherDevice,
            R::AllDevices => Self::SignOutAll,
            R::PasswordChanged => Self::PasswordChange,
            R::TokenReused => Self::TokenReuse,
            R::IdleExpired => Self::IdleExpiry,
            // Revoking a key is an operator's act.
            R::Admin | R::KeyRevoked => Self::Operator,
        }
    }
}

/// Why a stream could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StreamRefusal {
    /// Every stream of the plan was in use.
    TooManyStreams,
}

/// What an alert is about: the wire type, whose spellings are also the
/// stored ones.
pub use usher_api::AlertReason;

/// What a signed-in device re-entered the account password for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PasswordCheck {
    /// Changing the password.
    PasswordChange,
    /// Locking a profile with a PIN, or changing its PIN.
    PinSet,
    /// Removing a profile's PIN.
    PinRemoval,
    /// Changing the profile settings ("require PIN to add profiles").
    ProfileSettings,
    /// Renaming or deleting a PIN-locked profile.
    LockedProfileChange,
}
