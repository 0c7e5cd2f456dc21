//! The domain's errors: what went wrong in terms a caller can act on.
//! The HTTP layer maps each to a status and a stable `code`.

use std::time::Duration;

use crate::auth::passwords::HashError;
use crate::auth::tokens::TokenError;
use crate::devices::record::Device;
use crate::domain::{
    DeviceType, InvalidDeviceField, InvalidEmail, InvalidProfileName, InvalidTitle, SignOutReason,
    WeakPassword,
};
use crate::store::{ActiveStream, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    InvalidEmail(#[from] InvalidEmail),
    #[error("{0}")]
    WeakPassword(#[from] WeakPassword),
    #[error("no plan is called {0:?}")]
    UnknownPlan(String),
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("a public sign-up cannot choose a plan")]
    PlanNotAllowed,
    #[error("public sign-up is switched off")]
    SignUpDisabled,
    #[error("too many sign-ups from this address")]
    TooManySignUps { retry_after: Duration },
    #[error("the email or password is wrong")]
    InvalidCredentials,
    #[error("too many attempts")]
    TooManyAttempts { retry_after: Duration },
    #[error("{0}")]
    InvalidDevice(#[from] InvalidDevice),
    #[error("{0}")]
    InvalidDeviceName(InvalidDeviceField),
    #[error("no access token was sent")]
    MissingToken,
    #[error("{0}")]
    Token(#[from] TokenError),
    #[error("this device has been signed out")]
    SessionRevoked(SignOutReason),
    #[error("this refresh token was already used")]
    RefreshTokenReused,
    #[error("the refresh token is not valid")]
    InvalidRefreshToken,
    #[error("not found")]
    NotFound,
    #[error("the current password is wrong")]
    WrongPassword,
    #[error("every stream of the plan is in use")]
    TooManyStreams {
        limit: u32,
        active: Vec<ActiveStream>,
    },
    #[error("the plan's device limit is reached")]
    DeviceLimitReached { limit: u32, devices: Vec<Device> },
    #[error("this stream has ended")]
    StreamEnded(crate::domain::StreamEndReason),
    #[error("{0}")]
    InvalidTitle(#[from] InvalidTitle),
    #[error("no such profile on this account")]
    UnknownProfile,
    /// A request parameter is malformed or out of range.
    #[error("{detail}")]
    InvalidParameter {
        code: usher_api::ProblemCode,
        detail: String,
    },
    #[error("{0}")]
    InvalidProfileName(#[from] InvalidProfileName),
    #[error("a PIN is exactly four digits (0-9)")]
    InvalidPin,
    #[error("this account has {limit} profiles, the most it can have")]
    ProfileLimitReached { limit: u32 },
    #[error("this profile is locked: enter its PIN")]
    PinRequired,
    #[error("the PIN is wrong")]
    WrongPin,
    #[error("too many wrong PINs")]
    TooManyPinAttempts { retry_after: Duration },
    #[error("the only profile cannot be deleted")]
    LastProfile,
    #[error("the default profile cannot be deleted")]
    DefaultProfile,
    #[error("pick a profile first")]
    ProfileRequired,
    #[error("lock the default profile with a PIN first")]
    DefaultProfileUnlocked,
    #[error("the service is busy")]
    Overloaded,
    #[error("this node cannot show it has seen every recent sign-out")]
    StaleNode,
    #[error("a dependency is unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// A device described at sign-in that cannot be accepted.
#[derive(Debug, Clone, thiserror::Error)]
pub enum InvalidDevice {
    #[error("unknown device type {0:?}; expected one of: {list}", list = DeviceType::ALL.map(DeviceType::as_str).join(", "))]
    UnknownType(String),
    #[error("{0}")]
    Field(#[from] InvalidDeviceField),
}

impl From<crate::domain::InvalidPin> for Error {
    fn from(_: crate::domain::InvalidPin) -> Self {
        Error::InvalidPin
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            // Callers that expect a conflict map it themselves first.
            StoreError::Conflict => Error::Internal(anyhow::anyhow!("unexpected store conflict")),
            StoreError::Unavailable(e) => Error::Unavailable(e),
            StoreError::Other(e) => Error::Internal(e),
        }
    }
}

impl From<HashError> for Error {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Overloaded => Error::Overloaded,
            HashError::Failed(m) => Error::Internal(anyhow::anyhow!(m)),
        }
    }
}
