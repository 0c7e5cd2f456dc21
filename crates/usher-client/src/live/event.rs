//! Events of the live channel.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::types::{SignOutReason, StreamStopReason};

/// Close code the server uses after `signed_out`.
pub const CLOSE_SIGNED_OUT: u16 = 4001;
/// Close code of a server shutting down; the device should reconnect.
pub const CLOSE_GOING_AWAY: u16 = 1001;

/// Something that happened on the live channel.
///
/// The first five variants are the server's JSON frames, tagged by `type`.
/// `Unknown` keeps frames of a type this client does not know, and `Closed`
/// reports the close frame that ends the connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    /// Sent once, right after the connection opens.
    Hello {
        /// The device session the connection belongs to.
        session_id: String,
    },
    /// This device was signed out; the server closes the connection next.
    SignedOut {
        /// Why.
        reason: SignOutReason,
        /// When.
        at: DateTime<Utc>,
    },
    /// A stream of this device was stopped.
    StreamStopped {
        /// The stream.
        stream_id: String,
        /// Why.
        reason: StreamStopReason,
    },
    /// The profile in use was locked; go back to the profile picker.
    ProfileLocked {
        /// The locked profile.
        profile_id: String,
    },
    /// The account's device list changed (only with `watch_devices`).
    DevicesChanged,
    /// A JSON frame whose `type` this client does not know.
    #[serde(skip)]
    Unknown {
        /// The frame as parsed.
        raw: Value,
    },
    /// The server closed the connection. `code` is 1005 when the close frame
    /// carried no code.
    #[serde(skip)]
    Closed {
        /// WebSocket close code (4001 after sign-out, 1001 on shutdown, …).
        code: u16,
        /// Close reason text.
        reason: String,
    },
}

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
    pub fn from_json(text: &str) -> Result<Self> {
        let invalid = |source| Error::InvalidEvent {
            text: text.to_owned(),
            source,
        };
        let value: Value = serde_json::from_str(text).map_err(invalid)?;
        let known = value
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| KNOWN_TYPES.contains(&t));
        if known {
            serde_json::from_value(value).map_err(invalid)
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
                    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
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

    #[test]
    fn parses_every_documented_event() {
        let cases = [
            (
                r#"{"type":"hello","session_id":"ses_1"}"#,
                "hello session_id=ses_1",
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
                r#"{"type":"profile_locked","profile_id":"pro_1"}"#,
                "profile_locked profile_id=pro_1",
            ),
            (r#"{"type":"devices_changed"}"#, "devices_changed"),
        ];
        for (json, line) in cases {
            let event = LiveEvent::from_json(json).expect(json);
            assert!(!matches!(event, LiveEvent::Unknown { .. }), "{json}");
            assert_eq!(event.to_string(), line);
        }
    }

    #[test]
    fn signed_out_is_typed() {
        let event = LiveEvent::from_json(
            r#"{"type":"signed_out","reason":"all_devices","at":"2026-11-21T08:03:26Z"}"#,
        )
        .expect("parses");
        let LiveEvent::SignedOut { reason, .. } = event else {
            panic!("not signed_out: {event:?}");
        };
        assert_eq!(reason, SignOutReason::AllDevices);
    }

    #[test]
    fn unknown_types_are_kept() {
        let event = LiveEvent::from_json(r#"{"type":"volume_changed","level":3}"#).expect("parses");
        assert_eq!(event.kind(), "volume_changed");
        assert!(matches!(event, LiveEvent::Unknown { .. }));
        let untyped = LiveEvent::from_json(r#"{"hello":1}"#).expect("parses");
        assert_eq!(untyped.kind(), "unknown");
    }

    #[test]
    fn malformed_known_events_are_errors() {
        for bad in [
            r#"{"type":"hello"}"#,
            r#"{"type":"signed_out","reason":"remote","at":"yesterday"}"#,
            "not json",
        ] {
            assert!(
                matches!(LiveEvent::from_json(bad), Err(Error::InvalidEvent { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn serializes_known_events_with_type_tag() {
        let json = serde_json::to_value(LiveEvent::DevicesChanged).expect("serializes");
        assert_eq!(json, serde_json::json!({"type": "devices_changed"}));
    }
}
