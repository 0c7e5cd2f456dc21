//! What a stream is about and why it ended.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What is being played, as the device names it: 1 to 200 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamTitle(String);

#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct InvalidTitle(pub &'static str);

impl StreamTitle {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, InvalidTitle> {
        let title = raw.trim();
        if title.is_empty() {
            return Err(InvalidTitle("the title must not be empty"));
        }
        if title.chars().count() > Self::MAX_CHARS {
            return Err(InvalidTitle("the title must be at most 200 characters"));
        }
        if title.chars().any(char::is_control) {
            return Err(InvalidTitle(
                "the title must not contain control characters",
            ));
        }
        Ok(Self(title.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a stream ended. All but `Stopped` are told to the device that was playing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamEndReason {
    /// The device stopped it itself.
    Stopped,
    /// Another device of the account stopped it.
    Remote,
    /// The device was signed out.
    SignedOut,
    /// The device stopped sending heartbeats.
    LeaseExpired,
    /// The device started another stream.
    Replaced,
    /// The profile it played on was locked, had its PIN changed or was deleted.
    ProfileLocked,
}

impl StreamEndReason {
    const ALL: [Self; 6] = [
        Self::Stopped,
        Self::Remote,
        Self::SignedOut,
        Self::LeaseExpired,
        Self::Replaced,
        Self::ProfileLocked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stopped => "stopped",
            Self::Remote => "remote",
            Self::SignedOut => "signed_out",
            Self::LeaseExpired => "lease_expired",
            Self::Replaced => "replaced",
            Self::ProfileLocked => "profile_locked",
        }
    }
}

impl fmt::Display for StreamEndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StreamEndReason {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|r| r.as_str() == s).ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(StreamTitle::parse(" Dune ").unwrap().as_str(), "Dune");
        assert!(StreamTitle::parse("").is_err());
        assert!(StreamTitle::parse(&"x".repeat(201)).is_err());
        assert!(StreamTitle::parse("a\u{7}b").is_err());
    }

    #[test]
    fn reasons_round_trip() {
        for r in StreamEndReason::ALL {
            assert_eq!(r.as_str().parse::<StreamEndReason>(), Ok(r));
        }
    }
}
