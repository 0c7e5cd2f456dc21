//! An email address that has been normalised and validated once, at the edge.

use std::fmt;

/// A syntactically valid email address, trimmed and lower-cased.
///
/// Lower-casing the local part is a deliberate choice: streaming customers
/// type their address on TV remotes and phones, and `Bob@x` and `bob@x` being
/// two accounts is a support ticket, not a feature.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct InvalidEmail(&'static str);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        let normalised = raw.trim().to_lowercase();
        if normalised.is_empty() {
            return Err(InvalidEmail("an email address is required"));
        }
        if normalised.len() > 254 {
            return Err(InvalidEmail(
                "the email address is longer than 254 characters",
            ));
        }
        if !email_address::EmailAddress::is_valid(&normalised) {
            return Err(InvalidEmail("this is not a valid email address"));
        }
        // The RFC allows dotless domains and quoted local parts; a streaming
        // customer's address never has them, and accepting them only lets typos in.
        let domain = normalised.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        if !domain.contains('.') || normalised.contains('"') {
            return Err(InvalidEmail("this is not a valid email address"));
        }
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@`, used to reject passwords built from it.
    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or("")
    }

    /// The part after the `@`, likewise.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }
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

    #[test]
    fn normalises_case_and_whitespace() {
        assert_eq!(
            Email::parse("  Bob@Example.COM ").unwrap().as_str(),
            "bob@example.com"
        );
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
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }
}
