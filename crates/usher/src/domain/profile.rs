//! Profiles: who is watching, and the PIN that may lock one.

use std::fmt;

/// A profile's name as shown in the picker: at most 50 characters as sent
/// (before trimming, as the API document's `maxLength` counts), not empty
/// once trimmed, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileName(String);

#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct InvalidProfileName(pub &'static str);

impl ProfileName {
    pub const MAX_CHARS: usize = 50;

    pub fn parse(raw: &str) -> Result<Self, InvalidProfileName> {
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(InvalidProfileName(
                "the profile name must be at most 50 characters",
            ));
        }
        let name = raw.trim();
        if name.is_empty() {
            return Err(InvalidProfileName("the profile name must not be empty"));
        }
        if name.chars().any(char::is_control) {
            return Err(InvalidProfileName(
                "the profile name must not contain control characters",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name of an account's first profile: the local part of its email
    /// (what the owner is most likely called), cut to fit.
    pub fn first_for(email: &crate::domain::Email) -> Self {
        let local = email.as_str().split('@').next().unwrap_or_default();
        let cut: String = local.chars().take(Self::MAX_CHARS).collect();
        Self::parse(&cut).unwrap_or_else(|_| Self("Main".to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A profile lock: exactly four ASCII digits. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(String);

#[derive(Debug, Clone, thiserror::Error)]
#[error("a PIN is exactly four digits (0-9)")]
pub struct InvalidPin;

impl Pin {
    /// Not trimmed: `" 1234"` is a typo the device should show, not fix.
    pub fn parse(raw: &str) -> Result<Self, InvalidPin> {
        if raw.len() == 4 && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidPin)
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(****)")
    }
}

/// What opens a locked profile for a change (a rename, a deletion): its
/// PIN, or the account password. Never printed.
pub enum ProfileUnlock {
    Pin(Pin),
    Password(String),
}

impl ProfileUnlock {
    /// From the one field of a page's form: four digits are a PIN (no
    /// password is that short, see [`super::password::MIN_LEN`]), anything
    /// else is the password; nothing typed is nothing.
    pub fn from_entry(raw: String) -> Option<Self> {
        if raw.is_empty() {
            return None;
        }
        Some(match Pin::parse(&raw) {
            Ok(pin) => Self::Pin(pin),
            Err(_) => Self::Password(raw),
        })
    }
}

impl fmt::Debug for ProfileUnlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pin(_) => f.write_str("ProfileUnlock::Pin(****)"),
            Self::Password(_) => f.write_str("ProfileUnlock::Password(***)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_entry_of_four_digits_is_a_pin_and_anything_else_the_password() {
        assert!(matches!(
            ProfileUnlock::from_entry("0123".into()),
            Some(ProfileUnlock::Pin(_))
        ));
        assert!(matches!(
            ProfileUnlock::from_entry("correct horse battery".into()),
            Some(ProfileUnlock::Password(p)) if p == "correct horse battery"
        ));
        assert!(ProfileUnlock::from_entry(String::new()).is_none());
        let shown = format!("{:?}", ProfileUnlock::from_entry("hunter22hunter".into()));
        assert!(!shown.contains("hunter"), "{shown}");
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(ProfileName::parse("  Kids ").unwrap().as_str(), "Kids");
        assert!(ProfileName::parse("   ").is_err());
        assert!(ProfileName::parse(&"x".repeat(51)).is_err());
        assert!(ProfileName::parse(&"é".repeat(50)).is_ok());
        assert!(
            ProfileName::parse(&format!("{} ", "x".repeat(50))).is_err(),
            "counted as sent"
        );
        assert!(ProfileName::parse("a\nb").is_err());
    }

    #[test]
    fn pins_are_four_digits() {
        assert!(Pin::parse("0123").is_ok());
        for bad in ["123", "12345", "12a4", " 1234", "１２３４", ""] {
            assert!(Pin::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(format!("{:?}", Pin::parse("1234").unwrap()), "Pin(****)");
    }

    #[test]
    fn the_first_profile_is_named_after_the_email() {
        let email = crate::domain::Email::parse("ada@example.com").unwrap();
        assert_eq!(ProfileName::first_for(&email).as_str(), "ada");
    }
}
