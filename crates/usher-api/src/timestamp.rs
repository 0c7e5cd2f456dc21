//! Timestamps on the wire: RFC 3339, UTC, always with milliseconds
//! (`2026-11-21T08:03:26.000Z`), as the server writes them. chrono's own serde
//! form drops a zero fraction, so the bodies use these helpers instead.
//! Reading accepts any RFC 3339 timestamp.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// The wire text of a timestamp.
pub fn to_wire(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `#[serde(with = "usher_api::timestamp::millis")]` for `DateTime<Utc>`.
pub mod millis {
    use super::*;

    /// Writes the timestamp with milliseconds and `Z`.
    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&to_wire(at))
    }

    /// Reads any RFC 3339 timestamp.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        DateTime::<Utc>::deserialize(d)
    }
}

/// `#[serde(with = "usher_api::timestamp::optional_millis")]` for
/// `Option<DateTime<Utc>>`: `None` is `null`.
pub mod optional_millis {
    use super::*;

    /// Writes the timestamp with milliseconds and `Z`, or `null`.
    pub fn serialize<S: Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => s.serialize_some(&to_wire(at)),
            None => s.serialize_none(),
        }
    }

    /// Reads any RFC 3339 timestamp, or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<DateTime<Utc>>::deserialize(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_milliseconds_even_when_zero() {
        let at: DateTime<Utc> = "2026-11-21T08:03:26Z".parse().expect("parses");
        assert_eq!(to_wire(&at), "2026-11-21T08:03:26.000Z");
        let at: DateTime<Utc> = "2026-11-21T09:03:26.123+01:00".parse().expect("parses");
        assert_eq!(to_wire(&at), "2026-11-21T08:03:26.123Z");
    }
}
