//! The live channel (`GET /v1/live`, a WebSocket): its subprotocols, the
//! events the server sends, and its close codes.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{timestamp, LenientSignOutReason, LenientStreamEndReason};

/// The subprotocol usher speaks on the live channel.
pub const SUBPROTOCOL: &str = "usher.v1";
/// Prefix of the subprotocol that carries a browser's access token
/// (`usher.bearer.<token>`), since browsers cannot set headers on a WebSocket.
pub const BEARER_SUBPROTOCOL_PREFIX: &str = "usher.bearer.";
/// Close code the server sends after `signed_out` (application range).
pub const CLOSE_SIGNED_OUT: u16 = 4001;
/// Close code of a server shutting down; the device should reconnect.
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code of a connection replaced by a newer one: its session (or its
/// account) opened more live connections than the server allows, and the
/// oldest goes. Do not reconnect on it by yourself, or the connections of one
/// session take turns replacing each other; reconnect on a user's action.
pub const CLOSE_REPLACED: u16 = 4008;
/// Close code (RFC 6455's "Try Again Later") of a node that can no longer
/// show it has seen every recent sign-out (cut off from its database and
/// bus): reconnect, and the load balancer takes the device to a node that can.
pub const CLOSE_TRY_AGAIN_LATER: u16 = 1013;

/// The close codes of the live channel, as a schema of the OpenAPI document
/// (a WebSocket close frame is no HTTP body, so nothing derives it).
#[cfg(feature = "openapi")]
pub struct LiveCloseCode;

#[cfg(feature = "openapi")]
impl LiveCloseCode {
    /// Every close code the server sends, with what a device should do.
    pub const ALL: [(u16, &'static str); 7] = [
        (CLOSE_GOING_AWAY, "the server is shutting down: reconnect"),
        (
            1002,
            "the device sent a frame against RFC 6455 (protocol error)",
        ),
        (1007, "the device sent text that is not UTF-8"),
        (1009, "the device sent a message larger than 4 KiB"),
        (
            CLOSE_TRY_AGAIN_LATER,
            "this node cannot show it has seen every recent sign-out: reconnect, with backoff",
        ),
        (
            CLOSE_SIGNED_OUT,
            "sent after `signed_out`: the device was signed out; do not reconnect",
        ),
        (
            CLOSE_REPLACED,
            "replaced by a newer connection of the session or account; reconnect only on a user's action",
        ),
    ];
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for LiveCloseCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let described: Vec<String> = Self::ALL
            .iter()
            .map(|(code, meaning)| format!("- `{code}`: {meaning}"))
            .collect();
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .description(Some(format!(
                "The code of the close frame that ends a live connection:\n{}",
                described.join("\n")
            )))
            .enum_values(Some(Self::ALL.iter().map(|(code, _)| *code)))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for LiveCloseCode {}

/// Something that happened on the live channel.
///
/// The first five variants are the server's JSON frames, tagged by `type`.
/// The last two are never sent: a reader reports with `Unknown` a frame of a
/// type it does not know, and with `Closed` the close frame that ends the
/// connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(description = "A text frame of the live channel (`GET /v1/live`), tagged by `type`.")
)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    /// Sent once, right after the connection opens.
    Hello {
        /// The device session the connection belongs to.
        session_id: String,
    },
    /// This device was signed out; the server then closes the connection
    /// with code 4001 (`CLOSE_SIGNED_OUT`).
    SignedOut {
        /// Why.
        #[cfg_attr(feature = "openapi", schema(value_type = crate::SignOutReason))]
        reason: LenientSignOutReason,
        /// When.
        #[serde(with = "timestamp::millis")]
        at: DateTime<Utc>,
    },
    /// A stream of this device was stopped.
    StreamStopped {
        /// The stream.
        stream_id: String,
        /// Why (never `stopped`: the device that stopped it needs no event).
        #[cfg_attr(feature = "openapi", schema(value_type = crate::StreamEndReason))]
        reason: LenientStreamEndReason,
    },
    /// The profile in use was locked; go back to the profile picker.
    ProfileLocked {
        /// The locked profile.
        profile_id: String,
    },
    /// The account's device list changed (only with `?watch=devices`).
    DevicesChanged,
    /// A JSON frame whose `type` this crate does not know.
    #[serde(skip)]
    Unknown {
        /// The frame as parsed.
        raw: Value,
    },
    /// The server closed the connection. `code` is 1005 when the close frame
    /// carried no code.
    #[serde(skip)]
    Closed {
        /// WebSocket close code (4001 after sign-out, 1001 on shutdown, 4008
        /// when replaced by a newer connection, …).
        code: u16,
        /// Close reason text.
        reason: String,
    },
}

/// The `type`s of the frames the server sends.
const KNOWN_TYPES: [&str; 5] = [
    "hello",
    "signed_out",
    "stream_stopped",
    "profile_locked",
    "devices_changed",
];

impl LiveEvent {
    /// Parses one text frame. A frame with an unknown (or no) `type` becomes
    /// [`LiveEvent::Unknown`]; a known type with a malformed body is an error.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        let value: Value = serde_json::from_str(text)?;
        let known = value
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| KNOWN_TYPES.contains(&t));
        if known {
            serde_json::from_value(value)
        } else {
            Ok(LiveEvent::Unknown { raw: value })
        }
    }

    /// The event's `type` (`"closed"` for [`LiveEvent::Closed`]; the frame's own
    /// type, or `"unknown"`, for [`LiveEvent::Unknown`]).
    pub fn kind(&self) -> &str {
        match self {
            LiveEvent::Hello { .. } => "hello",
            LiveEvent::SignedOut { .. } => "signed_out",
            LiveEvent::StreamStopped { .. } => "stream_stopped",
            LiveEvent::ProfileLocked { .. } => "profile_locked",
            LiveEvent::DevicesChanged => "devices_changed",
            LiveEvent::Unknown { raw } => {
                raw.get("type").and_then(Value::as_str).unwrap_or("unknown")
            }
            LiveEvent::Closed { .. } => "closed",
        }
    }
}

impl fmt::Display for LiveEvent {
    /// One line, `kind key=value …`, e.g. `signed_out reason=remote at=…`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LiveEvent::Hello { session_id } => write!(f, "hello session_id={session_id}"),
            LiveEvent::SignedOut { reason, at } => {
                write!(
                    f,
                    "signed_out reason={reason} at={}",
                    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                )
            }
            LiveEvent::StreamStopped { stream_id, reason } => {
                write!(f, "stream_stopped stream_id={stream_id} reason={reason}")
            }
            LiveEvent::ProfileLocked { profile_id } => {
                write!(f, "profile_locked profile_id={profile_id}")
            }
            LiveEvent::DevicesChanged => f.write_str("devices_changed"),
            LiveEvent::Unknown { raw } => write!(f, "{} {raw}", self.kind()),
            LiveEvent::Closed { code, reason } if reason.is_empty() => {
                write!(f, "closed code={code}")
            }
            LiveEvent::Closed { code, reason } => write!(f, "closed code={code} reason={reason:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SignOutReason, StreamEndReason};

    /// The frames as the server writes them (`live/mod.rs`, `live/socket.rs`).
    const FRAMES: [(&str, &str); 5] = [
        (
            r#"{"type":"hello","session_id":"ses_01a2306b795f73798b0866615a984cf0"}"#,
            "hello session_id=ses_01a2306b795f73798b0866615a984cf0",
        ),
        (
            r#"{"type":"signed_out","reason":"remote","at":"2026-11-21T08:03:26.123Z"}"#,
            "signed_out reason=remote at=2026-11-21T08:03:26.123Z",
        ),
        (
            r#"{"type":"stream_stopped","stream_id":"str_1","reason":"lease_expired"}"#,
            "stream_stopped stream_id=str_1 reason=lease_expired",
        ),
        (
            r#"{"type":"profile_locked","profile_id":"prf_1"}"#,
            "profile_locked profile_id=prf_1",
        ),
        (r#"{"type":"devices_changed"}"#, "devices_changed"),
    ];

    #[test]
    fn every_frame_round_trips() {
        for (json, line) in FRAMES {
            let event = LiveEvent::from_json(json).expect(json);
            assert!(!matches!(event, LiveEvent::Unknown { .. }), "{json}");
            assert_eq!(event.to_string(), line);
            let written = serde_json::to_value(&event).expect("serializes");
            assert_eq!(
                written,
                serde_json::from_str::<Value>(json).expect("json"),
                "{json}"
            );
        }
    }

    #[test]
    fn a_server_writes_whole_seconds_with_milliseconds() {
        let event = LiveEvent::SignedOut {
            reason: SignOutReason::AllDevices.into(),
            at: "2026-11-21T08:03:26Z".parse().expect("parses"),
        };
        assert_eq!(
            serde_json::to_string(&event).expect("serializes"),
            r#"{"type":"signed_out","reason":"all_devices","at":"2026-11-21T08:03:26.000Z"}"#
        );
        let stopped = LiveEvent::StreamStopped {
            stream_id: "str_1".into(),
            reason: StreamEndReason::SignedOut.into(),
        };
        assert_eq!(
            serde_json::to_string(&stopped).expect("serializes"),
            r#"{"type":"stream_stopped","stream_id":"str_1","reason":"signed_out"}"#
        );
    }

    #[test]
    fn unknown_types_and_reasons_are_kept() {
        let event = LiveEvent::from_json(r#"{"type":"volume_changed","level":3}"#).expect("parses");
        assert_eq!(event.kind(), "volume_changed");
        assert!(matches!(event, LiveEvent::Unknown { .. }));
        let untyped = LiveEvent::from_json(r#"{"hello":1}"#).expect("parses");
        assert_eq!(untyped.kind(), "unknown");
        let event = LiveEvent::from_json(
            r#"{"type":"signed_out","reason":"solar_flare","at":"2026-11-21T08:03:26Z"}"#,
        )
        .expect("parses");
        let LiveEvent::SignedOut { reason, .. } = event else {
            panic!("not signed_out: {event:?}");
        };
        assert_eq!(reason, LenientSignOutReason::Other("solar_flare".into()));
    }

    #[test]
    fn malformed_known_events_are_errors() {
        for bad in [
            r#"{"type":"hello"}"#,
            r#"{"type":"signed_out","reason":"remote","at":"yesterday"}"#,
            "not json",
        ] {
            assert!(LiveEvent::from_json(bad).is_err(), "{bad}");
        }
    }
}
