//! Why a session or a stream ended: told to the device (live events,
//! problem `reason`) and recorded in the store with the same spellings.

use crate::wire_enum::wire_enum;

wire_enum! {
    /// Why a device session ended.
    pub enum SignOutReason, error UnknownSignOutReason, lenient LenientSignOutReason {
        /// Signed out from another device or the account page.
        Remote => "remote",
        /// "Sign out of all devices".
        AllDevices => "all_devices",
        /// The account password was changed.
        PasswordChanged => "password_changed",
        /// A rotated refresh token was presented again: treated as theft.
        TokenReused => "token_reused",
        /// Unused for longer than the idle period.
        IdleExpired => "idle_expired",
        /// An operator ended it.
        Admin => "admin",
        /// The device signed itself out.
        SelfSignOut => "self",
        /// The operator revoked a compromised token-signing key that had
        /// signed one of the session's tokens.
        KeyRevoked => "key_revoked",
    }
}

impl SignOutReason {
    /// A sentence a device can show its user (the `detail` of
    /// `401 session_revoked`).
    pub fn explain(self) -> &'static str {
        match self {
            Self::Remote => "This device was signed out from another device.",
            Self::AllDevices => "This account was signed out of all devices.",
            Self::PasswordChanged => "The account password was changed.",
            Self::TokenReused => "This session was ended because its sign-in was used twice, which can mean it was copied.",
            Self::IdleExpired => "This device was signed out after a long time without use.",
            Self::Admin => "This device was signed out by the service operator.",
            Self::SelfSignOut => "This device signed out.",
            Self::KeyRevoked => "This device was signed out to protect the account after a security key of the service was replaced. Sign in again.",
        }
    }
}

wire_enum! {
    /// Why a stream ended: the `reason` of a live `stream_stopped` event and
    /// of a `410 stream_ended` answer. All but `Stopped` are told to the
    /// device that was playing.
    pub enum StreamEndReason, error UnknownStreamEndReason, lenient LenientStreamEndReason {
        /// The device stopped it itself (only seen in `410 stream_ended`: the
        /// device that stopped it needs no live event).
        Stopped => "stopped",
        /// Stopped from another device of the account.
        Remote => "remote",
        /// The device was signed out.
        SignedOut => "signed_out",
        /// Heartbeats stopped arriving.
        LeaseExpired => "lease_expired",
        /// The device started another stream.
        Replaced => "replaced",
        /// The profile it played on was locked, had its PIN changed or was
        /// deleted: pick a profile again.
        ProfileLocked => "profile_locked",
    }
}

/// The text is not a [`SignOutReason`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown sign-out reason {0:?}")]
pub struct UnknownSignOutReason(pub String);

impl From<&str> for UnknownSignOutReason {
    fn from(s: &str) -> Self {
        UnknownSignOutReason(s.to_owned())
    }
}

/// The text is not a [`StreamEndReason`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown stream end reason {0:?}")]
pub struct UnknownStreamEndReason(pub String);

impl From<&str> for UnknownStreamEndReason {
    fn from(s: &str) -> Self {
        UnknownStreamEndReason(s.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn closed_reasons_round_trip() {
        for r in SignOutReason::ALL {
            assert_eq!(r.as_str().parse::<SignOutReason>(), Ok(r));
            assert_eq!(
                serde_json::to_value(r).expect("serializes"),
                json!(r.as_str())
            );
        }
        for r in StreamEndReason::ALL {
            assert_eq!(r.as_str().parse::<StreamEndReason>(), Ok(r));
            assert_eq!(
                serde_json::to_value(r).expect("serializes"),
                json!(r.as_str())
            );
        }
        assert_eq!(SignOutReason::SelfSignOut.as_str(), "self");
        assert!("solar_flare".parse::<SignOutReason>().is_err());
        assert!(serde_json::from_value::<StreamEndReason>(json!("meteor")).is_err());
    }

    #[test]
    fn lenient_reasons_keep_unknown_values() {
        let known: LenientSignOutReason =
            serde_json::from_value(json!("all_devices")).expect("parses");
        assert_eq!(known, LenientSignOutReason::AllDevices);
        assert_eq!(known, SignOutReason::AllDevices);
        assert_eq!(known.known(), Some(SignOutReason::AllDevices));
        let unknown: LenientSignOutReason =
            serde_json::from_value(json!("solar_flare")).expect("parses");
        assert_eq!(unknown, LenientSignOutReason::Other("solar_flare".into()));
        assert_eq!(unknown.known(), None);
        assert_eq!(
            serde_json::to_value(&unknown).expect("serializes"),
            json!("solar_flare")
        );
        assert_eq!(LenientSignOutReason::SelfSignOut.to_string(), "self");
        assert_eq!(
            LenientStreamEndReason::from("lease_expired"),
            LenientStreamEndReason::LeaseExpired
        );
        assert_eq!(
            LenientStreamEndReason::from(StreamEndReason::Replaced),
            LenientStreamEndReason::Replaced
        );
        // A twin never holds a known spelling in `Other`.
        for r in StreamEndReason::ALL {
            assert_eq!(LenientStreamEndReason::from(r.as_str()).known(), Some(r));
        }
    }
}
