//! The password policy (NIST SP 800-63B screening). A `NewPassword` can only
//! exist if it passed it.
//!
//! No composition rules: a length floor, no control characters, and a
//! strength estimate (zxcvbn, which knows some 30,000 common passwords,
//! English words, names, keyboard walks, dates, repeats and l33t spellings)
//! that must put the password beyond 10^8 guesses, with the account's email
//! and the service's name counted as words an attacker would try first.

use zxcvbn::Score;

use super::Email;

/// Minimum length in characters (NIST SP 800-63B recommends at least 8; we ask
/// for 10 because streaming accounts are shared and often targeted).
pub const MIN_LEN: usize = 10;
/// Maximum length in bytes: long enough for any passphrase, short enough that
/// hashing cost cannot be driven up by the caller.
pub const MAX_BYTES: usize = 256;
/// The policy, as every refusal states it.
pub const POLICY: &str = "A password needs at least 10 characters (at most 256 bytes), must not be a common or easily guessed password, and must not contain control characters.";

/// zxcvbn's "safely unguessable" threshold: an estimated 10^8 guesses or more.
const MIN_SCORE: Score = Score::Three;
/// The strength estimate reads this many characters at most: its cost grows
/// faster than the length (tens of milliseconds at 100), and a passphrase
/// whose first 64 characters are hard to guess is hard to guess.
const ESTIMATED_CHARS: usize = 64;
/// Words an attacker tries first against this service, whatever the account.
const SERVICE_WORDS: &[&str] = &["usher", "netflix", "streaming", "stream", "account"];

/// A password that satisfies the policy. Never logged, never displayed.
pub struct NewPassword(String);

/// Why a password was refused. Its text is a sentence naming the reason,
/// then the whole [`POLICY`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    #[error("This password is shorter than 10 characters. {POLICY}")]
    TooShort,
    #[error("This password is longer than 256 bytes. {POLICY}")]
    TooLong,
    #[error("This password contains a control or invisible character (such as a NUL byte, a tab, a line break or a zero-width space). {POLICY}")]
    ControlCharacter,
    #[error("This password contains the email address. {POLICY}")]
    ContainsEmail,
    /// zxcvbn's warning, when it has one (`"This is a top-100 common password."`).
    #[error("This password is too easy to guess.{} {POLICY}", warning.as_ref().map(|w| format!(" {w}")).unwrap_or_default())]
    Guessable { warning: Option<String> },
}

/// A control character, or one that shows nothing and so cannot be typed
/// again with confidence: line and paragraph separators, zero-width and
/// direction marks, word joiners, the byte-order mark.
fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}' | '\u{FEFF}'
        )
}

impl NewPassword {
    /// [`NewPassword::parse`] off the async threads: the estimator's cost
    /// grows with the input, and a request must not stall session checks.
    pub async fn screen(raw: String, email: Email) -> Result<Self, WeakPassword> {
        tokio::task::spawn_blocking(move || Self::parse(raw, &email))
            .await
            .unwrap_or(Err(WeakPassword::TooLong))
    }

    pub fn parse(raw: String, email: &Email) -> Result<Self, WeakPassword> {
        if raw.chars().count() < MIN_LEN {
            return Err(WeakPassword::TooShort);
        }
        if raw.len() > MAX_BYTES {
            return Err(WeakPassword::TooLong);
        }
        if raw.chars().any(invisible) {
            return Err(WeakPassword::ControlCharacter);
        }
        let lower = raw.to_lowercase();
        let local = email.local_part();
        if local.chars().count() >= 4 && lower.contains(local) {
            return Err(WeakPassword::ContainsEmail);
        }
        let estimated: String = raw.chars().take(ESTIMATED_CHARS).collect();
        let mut words: Vec<&str> = vec![email.as_str(), local];
        words.extend(email.domain().split('.'));
        words.extend(SERVICE_WORDS);
        let estimate = zxcvbn::zxcvbn(&estimated, &words);
        if estimate.score() < MIN_SCORE {
            let warning = estimate
                .feedback()
                .and_then(|feedback| feedback.warning())
                .map(|warning| warning.to_string());
            return Err(WeakPassword::Guessable { warning });
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

    fn refusal(password: &str) -> WeakPassword {
        match NewPassword::parse(password.to_owned(), &email()) {
            Ok(_) => panic!("{password:?} should be refused"),
            Err(weak) => weak,
        }
    }

    #[test]
    fn accepts_passphrases_and_random_passwords() {
        for good in [
            "correct horse battery staple",
            "tangerine submarine orchestra",
            "pV8#kq2!Zr4w",
            "ein sehr langes Passwort für den Fernseher",
        ] {
            assert!(
                NewPassword::parse(good.into(), &email()).is_ok(),
                "{good:?}"
            );
        }
    }

    #[test]
    fn refuses_what_the_review_got_accepted() {
        for weak in ["qwerty12345", "Password1!", "Password123!"] {
            assert!(
                matches!(refusal(weak), WeakPassword::Guessable { .. }),
                "{weak:?}"
            );
        }
        assert_eq!(refusal(&"\0".repeat(12)), WeakPassword::ControlCharacter);
    }

    #[test]
    fn refuses_short_long_control_repeated_common_and_personal_passwords() {
        assert_eq!(refusal("short"), WeakPassword::TooShort);
        assert_eq!(refusal(&"x".repeat(300)), WeakPassword::TooLong);
        for invisible in [
            "a tab\there and there",
            "tangerine\u{200B}submarine orchestra",
            "tangerine\u{2028}submarine orchestra",
            "tangerine submarine\u{202E} orchestra",
            "\u{FEFF}tangerine submarine orchestra",
        ] {
            assert_eq!(
                refusal(invisible),
                WeakPassword::ControlCharacter,
                "{invisible:?}"
            );
        }
        assert_eq!(refusal("Rosalind2024!"), WeakPassword::ContainsEmail);
        for guessable in [
            "password123",
            "zzzzzzzzzzzz",
            "1234567890",
            "qwertyuiop",
            "netflix2024",
            "example.com1",
        ] {
            assert!(
                matches!(refusal(guessable), WeakPassword::Guessable { .. }),
                "{guessable:?}"
            );
        }
    }

    #[test]
    fn every_refusal_states_the_policy() {
        for weak in ["short", "Password1!", "Rosalind2024!", "with a\nline break"] {
            let text = refusal(weak).to_string();
            assert!(text.ends_with(POLICY), "{text}");
        }
        assert_eq!(
            refusal("password123").to_string(),
            format!("This password is too easy to guess. This is a very common password. {POLICY}")
        );
    }
}
