//! The activity history (`GET /v1/activity`): its kinds, events and pages.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::timestamp;
use crate::wire_enum::wire_enum;

wire_enum! {
    /// What an activity event records: its `kind`, and the values of the
    /// `kind` filter of `GET /v1/activity`.
    pub enum ActivityKind, error UnknownActivityKind {
        /// A device (or the account pages) signed in.
        SignIn => "sign_in",
        /// A sign-in was refused (wrong password, throttled).
        SignInFailed => "sign_in_failed",
        /// A device session ended.
        SignedOut => "signed_out",
        /// A stream took a slot.
        StreamStarted => "stream_started",
        /// A stream gave its slot back.
        StreamStopped => "stream_stopped",
        /// A stream was refused (every slot in use).
        StreamRefused => "stream_refused",
        /// The account password changed.
        PasswordChanged => "password_changed",
        /// A device was renamed.
        DeviceRenamed => "device_renamed",
        /// A profile was added.
        ProfileCreated => "profile_created",
        /// A profile was renamed.
        ProfileRenamed => "profile_renamed",
        /// A profile was deleted.
        ProfileDeleted => "profile_deleted",
        /// A profile was locked with a PIN (or its PIN changed).
        ProfilePinSet => "profile_pin_set",
        /// A profile's PIN was removed.
        ProfilePinRemoved => "profile_pin_removed",
        /// A signed-in device entered a wrong account password (changing
        /// the password, a PIN or the profile settings).
        PasswordCheckFailed => "password_check_failed",
        /// An alert was raised.
        Alert => "alert",
    }
}

/// The name is not an [`ActivityKind`]; the message (the `detail` of
/// `422 invalid_kind`) quotes at most 40 characters of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown activity kind {0:?}")]
pub struct UnknownActivityKind(pub String);

impl From<&str> for UnknownActivityKind {
    fn from(s: &str) -> Self {
        UnknownActivityKind(s.chars().take(40).collect())
    }
}

/// The query of `GET /v1/activity`; every member is optional.
///
/// `L` is how `limit` is read: a client writes a number; the server reads
/// `ActivityParams<String>`, so a bad limit is answered `422 invalid_limit`
/// rather than as a malformed query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ActivityParams<L = u32> {
    /// Page size, 1 to 200 (50 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        param(value_type = Option<u32>, minimum = 1, maximum = 200)
    )]
    pub limit: Option<L>,
    /// The `next` of the previous page: start after that event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// Only these kinds, comma-separated (`ActivityKind` values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

impl<L> Default for ActivityParams<L> {
    fn default() -> Self {
        ActivityParams {
            limit: None,
            before: None,
            kind: None,
        }
    }
}

/// One entry of the account's history. `D` is its `detail`: any JSON
/// object for a reader, the server's typed record when it writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(description = "One entry of the account's history; `detail` depends on its `kind`.")
)]
pub struct ActivityEvent<D = Value> {
    /// The event (`evt_…`).
    pub event_id: String,
    /// What it records (read as text, so a kind a newer server adds is
    /// still listed).
    #[cfg_attr(feature = "openapi", schema(value_type = ActivityKind))]
    pub kind: String,
    /// When it happened.
    #[serde(with = "timestamp::millis")]
    pub at: DateTime<Utc>,
    /// The device it is about, if any.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub device: Option<EventDevice>,
    /// The address it came from, if known.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub ip: Option<String>,
    /// Where `ip` was when it happened, if known.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<crate::Location>, required = true)
    )]
    pub location: Option<Value>,
    /// Kind-specific details (`reason`, `cause`, `by`, `title`, `stream_id`,
    /// …); the server's document gives each kind's shape.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: D,
}

/// The device an activity event is about (or, in `detail.by`, that caused it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventDevice {
    /// Its session, if it had one.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub session_id: Option<String>,
    /// Its name at the time.
    pub name: String,
    /// Its kind (read as text, so a type a newer server adds is still listed).
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(value_type = crate::DeviceType))]
    pub device_type: String,
    /// False when no signed-in device said this: the name and type of a
    /// refused sign-in are whatever its caller sent, so show them as such
    /// (quoted, labelled), never as the owner's device. Older servers do
    /// not send it (read as true).
    #[serde(default = "verified")]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub verified: bool,
}

fn verified() -> bool {
    true
}

/// A page of history, newest first; `D` as in [`ActivityEvent`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(description = "A page of history, newest first.")
)]
pub struct ActivityPage<D = Value> {
    /// The events of this page.
    // Named without its type argument in the document (`ActivityEvent`).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<ActivityEvent>))]
    pub events: Vec<ActivityEvent<D>>,
    /// Pass as `before` for the next, older page; `null` on the last page.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub next: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::assert_round_trip;

    #[test]
    fn kinds_round_trip_and_unknown_ones_are_quoted_short() {
        for kind in ActivityKind::ALL {
            assert_eq!(kind.as_str().parse::<ActivityKind>(), Ok(kind));
            assert_eq!(
                serde_json::to_value(kind).expect("serializes"),
                kind.as_str()
            );
        }
        let err = "nope".parse::<ActivityKind>().expect_err("refused");
        assert_eq!(err.to_string(), r#"unknown activity kind "nope""#);
        let long = "x"
            .repeat(100)
            .parse::<ActivityKind>()
            .expect_err("refused");
        assert_eq!(long.0.len(), 40);
    }

    #[test]
    fn page_as_the_server_writes_it() {
        let page: ActivityPage = assert_round_trip(
            r#"{"events":[{"event_id":"evt_01a2306bbe0675deb81b6abd0c59a7b9","kind":"signed_out",
                "at":"2026-12-01T07:04:57.094Z","device":{"session_id":"ses_01a2306b84e170b5a001c280dc6caf1f",
                "name":"Phone","type":"phone","verified":true},"ip":"127.0.0.1","location":{"city":null,"country":null,
                "country_code":null,"label":"local network","local":true,"region":null},
                "detail":{"by":{"name":"Den TV","session_id":"ses_01a2306b795f73798b0866615a984cf0","type":"tv"},
                "cause":"sign_out_all","reason":"all_devices"}},{"event_id":"evt_01a2306b84f771ddb59638c71e3268ff",
                "kind":"sign_in","at":"2026-12-01T07:04:42.487Z","device":{"session_id":"ses_01a2306b84e170b5a001c280dc6caf1f",
                "name":"Phone","type":"phone","verified":true},"ip":"127.0.0.1","location":null,"detail":{"via":"app"}}],
                "next":"evt_01a2306b84f771ddb59638c71e3268ff"}"#,
        );
        assert_eq!(page.events[0].kind, ActivityKind::SignedOut.as_str());
        assert_eq!(page.events[0].detail["reason"], "all_devices");
        assert_eq!(
            page.next.as_deref(),
            Some("evt_01a2306b84f771ddb59638c71e3268ff")
        );
        let last: ActivityPage = assert_round_trip(r#"{"events":[],"next":null}"#);
        assert_eq!(last.next, None);
    }

    #[test]
    fn a_refused_sign_in_names_its_device_unverified_and_older_servers_read_as_verified() {
        let stranger: EventDevice = assert_round_trip(
            r#"{"session_id":null,"name":"URGENT: call 1-800-555-0100","type":"phone","verified":false}"#,
        );
        assert!(!stranger.verified);
        let older: EventDevice =
            serde_json::from_str(r#"{"session_id":null,"name":"TV","type":"tv"}"#)
                .expect("an older server's device");
        assert!(older.verified);
    }

    #[test]
    fn the_server_reads_the_limit_as_text() {
        let params: ActivityParams<String> =
            serde_json::from_str(r#"{"limit":"lots","kind":"sign_in"}"#).expect("parses");
        assert_eq!(params.limit.as_deref(), Some("lots"));
        assert_eq!(params.before, None);
    }

    #[test]
    fn params_leave_out_absent_members() {
        let params = ActivityParams {
            limit: Some(2),
            kind: Some("signed_out,sign_in".into()),
            ..ActivityParams::default()
        };
        assert_eq!(
            serde_json::to_value(&params).expect("serializes"),
            serde_json::json!({"limit": 2, "kind": "signed_out,sign_in"})
        );
    }
}
