//! The password policy. A `NewPassword` can only exist if it passed it.

use super::Email;

/// Minimum length in characters (NIST SP 800-63B recommends at least 8; we ask
/// for 10 because streaming accounts are shared and often targeted).
pub const MIN_LEN: usize = 10;
/// Maximum length in bytes: long enough for any passphrase, short enough that
/// hashing cost cannot be driven up by the caller.
pub const MAX_BYTES: usize = 256;

const COMMON: &[&str] = &[
    "1234567890",
    "12345678910",
    "123456789a",
    "0123456789",
    "qwertyuiop",
    "password12",
    "password123",
    "password1234",
    "iloveyou12",
    "letmein123",
    "1q2w3e4r5t",
    "qwerty1234",
    "abcdefghij",
    "netflix123",
    "welcome123",
    "changeme123",
    "aaaaaaaaaa",
];

/// A password that satisfies the policy. Never logged, never displayed.
pub struct NewPassword(String);

#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct WeakPassword(pub &'static str);

impl NewPassword {
    pub fn parse(raw: String, email: &Email) -> Result<Self, WeakPassword> {
        if raw.chars().count() < MIN_LEN {
            return Err(WeakPassword(
                "the password must be at least 10 characters long",
            ));
        }
        if raw.len() > MAX_BYTES {
            return Err(WeakPassword("the password must be at most 256 bytes long"));
        }
        let lower = raw.to_lowercase();
        if COMMON.contains(&lower.as_str()) {
            return Err(WeakPassword("this password is too common"));
        }
        let mut chars = lower.chars();
        let first = chars.next();
        if chars.all(|c| Some(c) == first) {
            return Err(WeakPassword("the password must not repeat one character"));
        }
        let local = email.local_part();
        if local.len() >= 4 && lower.contains(local) {
            return Err(WeakPassword(
                "the password must not contain the email address",
            ));
        }
        Ok(Self(raw))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> Email {
        Email::parse("rosalind@example.com").unwrap()
    }

    #[test]
    fn accepts_a_reasonable_passphrase() {
        assert!(NewPassword::parse("correct horse battery".into(), &email()).is_ok());
    }

    #[test]
    fn rejects_short_common_repeated_and_personal_passwords() {
        for bad in [
            "short",
            "password123",
            "zzzzzzzzzzzz",
            "Rosalind2024!",
            &"x".repeat(300),
        ] {
            assert!(
                NewPassword::parse(bad.to_string(), &email()).is_err(),
                "{bad:?}"
            );
        }
    }
}
