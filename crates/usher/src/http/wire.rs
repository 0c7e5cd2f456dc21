//! Helpers the JSON views share when they build `usher_api` types from
//! domain records.

use chrono::{DateTime, Utc};

use crate::domain::Millis;

/// A record's time as the wire types hold it (they write it as RFC 3339 with
/// milliseconds and `Z`).
pub fn timestamp(ms: Millis) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
