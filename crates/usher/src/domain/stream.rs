//! What a stream is about and why it ended.

/// Why a stream ended: the wire type (its spellings are also the stored
/// ones), so the server and its clients cannot disagree on them.
pub use usher_api::StreamEndReason;

/// What is being played, as the device names it: at most 200 characters as
/// sent (before trimming, as the API document's `maxLength` counts), not
/// empty once trimmed, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamTitle(String);

#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct InvalidTitle(pub &'static str);

impl StreamTitle {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, InvalidTitle> {
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(InvalidTitle("the title must be at most 200 characters"));
        }
        let title = raw.trim();
        if title.is_empty() {
            return Err(InvalidTitle("the title must not be empty"));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(StreamTitle::parse(" Dune ").unwrap().as_str(), "Dune");
        assert!(StreamTitle::parse("").is_err());
        assert!(StreamTitle::parse(&"x".repeat(201)).is_err());
        assert!(StreamTitle::parse(&format!("{}\t", "x".repeat(200))).is_err());
        assert!(StreamTitle::parse("a\u{7}b").is_err());
    }
}
