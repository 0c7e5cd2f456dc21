//! The domain's errors: what went wrong in terms a caller can act on.
//! The HTTP layer maps each to a status and a stable `code`.

use std::time::Duration;

use crate::auth::passwords::HashError;
use crate::auth::tokens::TokenError;
use crate::domain::SignOutReason;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    InvalidEmail(String),
    #[error("{0}")]
    WeakPassword(String),
    #[error("no plan is called {0:?}")]
    UnknownPlan(String),
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("the email or password is wrong")]
    InvalidCredentials,
    #[error("too many attempts")]
    TooManyAttempts { retry_after: Duration },
    #[error("{0}")]
    InvalidDevice(String),
    #[error("{0}")]
    InvalidDeviceName(String),
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
        active: Vec<crate::streams::service::ActiveStreamView>,
    },
    #[error("the plan's device limit is reached")]
    DeviceLimitReached {
        limit: u32,
        devices: Vec<crate::devices::service::DeviceView>,
    },
    #[error("this stream has ended")]
    StreamEnded(crate::domain::StreamEndReason),
    #[error("{0}")]
    InvalidTitle(String),
    #[error("no such profile on this account")]
    UnknownProfile,
    /// A request parameter is malformed or out of range.
    #[error("{detail}")]
    InvalidParameter { code: &'static str, detail: String },
    #[error("{0}")]
    InvalidProfileName(String),
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
    #[error("a dependency is unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
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
