//! Why a session ended. Shown to the device and recorded for the owner.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignOutReason {
    /// Signed out from another device or the account page.
    Remote,
    /// "Sign out of all devices".
    AllDevices,
    /// The account password was changed.
    PasswordChanged,
    /// A rotated refresh token was presented again: treated as theft.
    TokenReused,
    /// Unused for longer than the idle period.
    IdleExpired,
    /// An operator ended it.
    Admin,
    /// The device signed itself out.
    #[serde(rename = "self")]
    SelfSignOut,
}

impl SignOutReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Remote => "remote",
            Self::AllDevices => "all_devices",
            Self::PasswordChanged => "password_changed",
            Self::TokenReused => "token_reused",
            Self::IdleExpired => "idle_expired",
            Self::Admin => "admin",
            Self::SelfSignOut => "self",
        }
    }

    /// A sentence a device can show its user.
    pub fn explain(self) -> &'static str {
        match self {
            Self::Remote => "This device was signed out from another device.",
            Self::AllDevices => "This account was signed out of all devices.",
            Self::PasswordChanged => "The account password was changed.",
            Self::TokenReused => "This session was ended because its sign-in was used twice, which can mean it was copied.",
            Self::IdleExpired => "This device was signed out after a long time without use.",
            Self::Admin => "This device was signed out by the service operator.",
            Self::SelfSignOut => "This device signed out.",
        }
    }
}

impl fmt::Display for SignOutReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SignOutReason {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        [
            Self::Remote,
            Self::AllDevices,
            Self::PasswordChanged,
            Self::TokenReused,
            Self::IdleExpired,
            Self::Admin,
            Self::SelfSignOut,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
        .ok_or(())
    }
}
