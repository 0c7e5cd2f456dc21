//! An email address that has been normalised and validated once, at the edge.
//!
//! One mailbox, one account: an address is reduced to a single normal form
//! before it is compared or stored, so that no spelling of an address an
//! account already has can create another account beside it.
//!
//! - the whole address is put in Unicode NFKC first (fullwidth `ｅ` is `e`,
//!   a fullwidth `＠` is `@`);
//! - the domain becomes its IDNA A-label (UTS #46: `exämple.com` and
//!   `xn--exmple-cua.com` are one domain), lower-case;
//! - the local part is NFKC-casefolded (full case folding: `ANN`, `ann` and
//!   `Ann` are one local part, and so are `straße` and `strasse`);
//! - a local part or domain label that mixes scripts the way a spoof does
//!   (Cyrillic `а` among Latin letters: UTS #39, above "highly restrictive"),
//!   or holds a character no identifier may (invisible joiners, direction
//!   overrides), is refused rather than normalised: it would look like
//!   another address.

use std::fmt;

use unicode_normalization::UnicodeNormalization;
use unicode_security::{GeneralSecurityProfile, RestrictionLevel, RestrictionLevelDetection};

/// A syntactically valid email address in its normal form (see the module).
///
/// Folding the case of the local part is a deliberate choice: streaming
/// customers type their address on TV remotes and phones, and `Bob@x` and
/// `bob@x` being two accounts is a support ticket, not a feature.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidEmail(&'static str);

const NOT_AN_ADDRESS: InvalidEmail = InvalidEmail("this is not a valid email address");
const TOO_LONG: InvalidEmail = InvalidEmail("the email address is longer than 254 characters");
const MIXED_SCRIPTS: InvalidEmail = InvalidEmail(
    "the email address mixes letters of different scripts (such as Latin and Cyrillic), so it could pass for another address",
);
const NOT_ALLOWED: InvalidEmail = InvalidEmail(
    "the email address contains a character that cannot be told apart or cannot be seen (such as an invisible joiner)",
);

/// The longest address, in characters: of the address as sent (before
/// anything is trimmed or normalised, which is what the API document's
/// `maxLength` counts, and keeps normalisation from being driven by the
/// caller's length), and of its normal form.
pub const MAX_CHARS: usize = 254;

impl Email {
    /// The normal form of `raw`, or why it is not an address usher accepts.
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        if raw.chars().nth(MAX_CHARS).is_some() {
            return Err(TOO_LONG);
        }
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(InvalidEmail("an email address is required"));
        }
        let composed: String = raw.nfkc().collect();
        // The RFC allows quoted local parts and dotless domains; a streaming
        // customer's address never has them, and accepting them only lets typos in.
        if composed.contains('"') {
            return Err(NOT_AN_ADDRESS);
        }
        let (local, domain) = composed.rsplit_once('@').ok_or(NOT_AN_ADDRESS)?;
        let local = fold_local_part(local);
        let domain = idna::domain_to_ascii_strict(domain).map_err(|_| NOT_AN_ADDRESS)?;
        check_scripts(&local)?;
        let (unicode_domain, _) = idna::domain_to_unicode(&domain);
        unicode_domain.split('.').try_for_each(check_scripts)?;
        let address = format!("{local}@{domain}");
        if address.chars().count() > MAX_CHARS {
            return Err(TOO_LONG);
        }
        if !domain.contains('.') || !email_address::EmailAddress::is_valid(&address) {
            return Err(NOT_AN_ADDRESS);
        }
        Ok(Self(address))
    }

    /// An address read back from storage, exactly as it was stored. Rows
    /// written before today's normalisation may hold another form (the
    /// start-up re-check, `accounts::emails`, rewrites or reports them);
    /// judging them again on every read would lock their owners out.
    pub fn from_stored(stored: String) -> Self {
        Self(stored)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@`, used to reject passwords built from it.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or(&self.0, |(local, _)| local)
    }

    /// The part after the `@` (an A-label), likewise.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }
}

/// NFKC, full case folding, NFKC again: folding can leave a string that is
/// not in NFKC (`ǰ` folds to `j` and a combining caron), and the normal
/// form must be a fixed point.
fn fold_local_part(local: &str) -> String {
    caseless::default_case_fold_str(local).nfkc().collect()
}

/// Refuses text (a local part, or one domain label in Unicode) that UTS #39
/// would flag: a character outside the General Security Profile's allowed
/// identifier characters, or a mix of scripts beyond "highly restrictive"
/// (one script, or Latin with Han and Japanese kana or Korean hangul).
/// ASCII punctuation (`.`, `+`, `-`, `_`, …) is the address's syntax, which
/// the syntax check judges; it is not a script.
fn check_scripts(text: &str) -> Result<(), InvalidEmail> {
    if text.is_ascii() {
        return Ok(());
    }
    if text
        .chars()
        .any(|c| !c.is_ascii() && !c.identifier_allowed())
    {
        return Err(NOT_ALLOWED);
    }
    let letters: String = text.chars().filter(|c| !c.is_ascii_punctuation()).collect();
    if letters.as_str().detect_restriction_level() > RestrictionLevel::HighlyRestrictive {
        return Err(MIXED_SCRIPTS);
    }
    Ok(())
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normal(raw: &str) -> String {
        match Email::parse(raw) {
            Ok(email) => email.0,
            Err(e) => panic!("{raw:?} should be accepted: {e}"),
        }
    }

    #[test]
    fn normalises_case_and_whitespace() {
        assert_eq!(normal("  Bob@Example.COM "), "bob@example.com");
    }

    #[test]
    fn every_spelling_of_one_mailbox_has_one_normal_form() {
        for spelling in [
            "ann@example.com",
            "ANN@EXAMPLE.COM",
            "ann@ｅxample.com",
            "ａｎｎ@example.com",
            "ann＠example.com",
            "ann@example。com",
        ] {
            assert_eq!(normal(spelling), "ann@example.com", "{spelling:?}");
        }
        for spelling in [
            "ann@exämple.com",
            "ann@EXÄMPLE.com",
            "ann@xn--exmple-cua.com",
            "ann@XN--EXMPLE-CUA.COM",
            // ä as a plus a combining diaeresis.
            "ann@exa\u{308}mple.com",
        ] {
            assert_eq!(normal(spelling), "ann@xn--exmple-cua.com", "{spelling:?}");
        }
        assert_eq!(normal("STRASSE@example.com"), normal("straße@example.com"));
        // Final sigma folds as sigma does.
        assert_eq!(
            normal("ΟΔΥΣΣΕΥΣ@example.com"),
            normal("οδυσσευς@example.com")
        );
    }

    #[test]
    fn addresses_in_one_script_are_welcome() {
        for address in [
            "анна@example.com",
            "σοφία@example.com",
            "山田たろう@example.com",
            "josé.garcía+tv@example.com",
            "ann@пример.рф",
        ] {
            Email::parse(address).unwrap_or_else(|e| panic!("{address:?}: {e}"));
        }
    }

    #[test]
    fn confusable_addresses_are_refused_with_a_reason() {
        // Cyrillic а (U+0430) before Latin "nn".
        assert_eq!(Email::parse("аnn@example.com"), Err(MIXED_SCRIPTS));
        // Cyrillic е in a Latin domain label.
        assert_eq!(Email::parse("ann@еxample.com"), Err(MIXED_SCRIPTS));
        // Greek ο among Latin letters.
        assert_eq!(Email::parse("bοb@example.com"), Err(MIXED_SCRIPTS));
        // An invisible joiner, a right-to-left override.
        assert_eq!(Email::parse("an\u{200d}n@example.com"), Err(NOT_ALLOWED));
        assert_eq!(Email::parse("ann\u{202e}@example.com"), Err(NOT_ALLOWED));
    }

    #[test]
    fn the_normal_form_is_a_fixed_point() {
        for raw in [
            "Ann@Example.com",
            "ǄURA@example.com",
            "ﬁnn@example.com",
            "ΣΟΦΊΑ@example.com",
            "ann@exämple.com",
            "ⓐnn@example.com",
        ] {
            let once = normal(raw);
            assert_eq!(normal(&once), once, "{raw:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parsing_a_normal_form_gives_it_back(
            raw in "[a-zA-Z0-9.+ÄäÖößẞǄǅǆﬁΣσςΆάАаЯяⅫ①ｅＥ]{1,16}@[a-zA-ZäÄöÖüﬁｅ]{1,12}\\.(com|de|рф)"
        ) {
            if let Ok(once) = Email::parse(&raw) {
                proptest::prop_assert_eq!(Email::parse(once.as_str()), Ok(once.clone()));
            }
        }
    }

    #[test]
    fn ascii_addresses_in_lower_case_are_already_normal() {
        // The start-up re-check relies on it: only stored addresses with
        // other characters (or an IDNA label) can have changed.
        for address in [
            "ada@example.com",
            "a.b+c_d-e@mail.example.co.uk",
            "x1@y2.io",
        ] {
            assert_eq!(normal(address), address);
        }
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        for bad in [
            "",
            "bob",
            "bob@",
            "@example.com",
            "bob@localhost",
            "a b@example.com",
            "\"q\"@example.com",
            "bob@exa_mple.com",
            "bob@-example.com",
            "bob@xn--zzzzz.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
        assert!(Email::parse(&"a".repeat(5000)).is_err());
    }
}
