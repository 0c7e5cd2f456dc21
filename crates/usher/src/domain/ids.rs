//! Prefixed, typed identifiers (`acc_…`, `ses_…`): an id of one kind can never
//! be passed where another is expected, and a malformed id never gets past
//! the edge.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// The string was not an id of the expected kind.
#[derive(Debug, Clone, thiserror::Error)]
#[error("not a valid {kind} id")]
pub struct InvalidId {
    pub kind: &'static str,
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh id; UUIDv7 so ids sort by creation time and index well.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0.simple())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let hex = s.strip_prefix($prefix).ok_or(InvalidId { kind: $kind })?;
                if hex.len() != 32 {
                    return Err(InvalidId { kind: $kind });
                }
                Uuid::try_parse(hex).map(Self).map_err(|_| InvalidId { kind: $kind })
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

prefixed_id!(
    /// An account: one customer, one password, one plan.
    AccountId, "acc_", "account"
);
prefixed_id!(
    /// A device session: one signed-in device.
    SessionId, "ses_", "session"
);
prefixed_id!(
    /// A stream: one slot of the plan's concurrent streams, held by a lease.
    StreamId, "str_", "stream"
);
prefixed_id!(
    /// A profile: one viewer of the account, optionally locked with a PIN.
    ProfileId, "prf_", "profile"
);
prefixed_id!(
    /// An entry of the account's activity history.
    EventId, "evt_", "event"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_its_string_form() {
        let id = SessionId::new();
        let text = id.to_string();
        assert!(text.starts_with("ses_"));
        assert_eq!(text.parse::<SessionId>().unwrap(), id);
    }

    #[test]
    fn rejects_other_kinds_and_garbage() {
        let account = AccountId::new().to_string();
        assert!(account.parse::<SessionId>().is_err());
        assert!("ses_".parse::<SessionId>().is_err());
        assert!("ses_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
            .parse::<SessionId>()
            .is_err());
        assert!("../../etc/passwd".parse::<SessionId>().is_err());
    }
}
