//! The client's error type and the RFC 9457 problem documents usher answers with.

use reqwest::header::{HeaderMap, RETRY_AFTER};
pub use usher_api::Problem;

use crate::types::{ActiveStream, StreamStopReason};

/// Result alias for everything in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Anything that can go wrong talking to usher.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an `application/problem+json` document.
    #[error("{0}")]
    Api(Box<Problem>),

    /// The server answered with an error status but without a usable problem
    /// document (a proxy page, an empty body, …).
    #[error("unexpected HTTP status {status}{}", body_excerpt(body))]
    UnexpectedStatus {
        /// HTTP status code.
        status: u16,
        /// The body as text (lossily decoded), possibly empty.
        body: String,
    },

    /// A successful answer whose body did not have the expected shape.
    #[error("could not decode the server's answer (HTTP {status}): {source}")]
    Decode {
        /// HTTP status code of the answer.
        status: u16,
        /// What serde reported.
        #[source]
        source: serde_json::Error,
    },

    /// A live-channel text frame that is not a JSON object with a `type`.
    #[error("invalid live event {text:?}: {source}")]
    InvalidEvent {
        /// The frame as received.
        text: String,
        /// What serde reported.
        #[source]
        source: serde_json::Error,
    },

    /// The base URL (or a raw path joined to it) is not a usable http(s) URL.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),

    /// A request could not be built (an invalid header name or value, …).
    #[error("invalid request: {0}")]
    InvalidRequest(String),

    /// The HTTP request failed before an answer arrived (connect, TLS, timeout, …).
    // The message carries the causes itself (see `with_causes`) rather than
    // exposing `source`, so error reports show each cause once.
    #[error("HTTP request failed: {}", with_causes(.0))]
    Transport(reqwest::Error),

    /// The live channel failed (handshake, protocol, I/O).
    #[error("live channel: {}", with_causes(.0))]
    WebSocket(tokio_tungstenite::tungstenite::Error),

    /// Nothing — not even a ping — arrived on the live channel for this long.
    #[error("live channel silent for {0:?}")]
    Idle(std::time::Duration),
}

impl Error {
    /// The problem document, if the server sent one.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Error::Api(problem) => Some(problem),
            _ => None,
        }
    }

    /// The problem's stable `code` (`"session_revoked"`, `"not_found"`, …).
    pub fn code(&self) -> Option<&str> {
        self.problem().map(|p| p.code.as_str())
    }

    /// The HTTP status of an error answer; `None` when no answer arrived.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(problem) => Some(problem.status),
            Error::UnexpectedStatus { status, .. } | Error::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The problem's `reason` member (e.g. the sign-out reason of `session_revoked`).
    pub fn reason(&self) -> Option<&str> {
        self.problem().and_then(|p| p.reason.as_deref())
    }

    /// The streams holding every slot, from a `409 too_many_streams`; see
    /// [`Problem::active_streams`].
    pub fn active_streams(&self) -> Option<Vec<ActiveStream>> {
        self.problem()?.active_streams()
    }

    /// Why the stream ended, from a `410 stream_ended`.
    pub fn stream_end_reason(&self) -> Option<StreamStopReason> {
        self.problem()?.stream_end_reason()
    }

    /// Builds the error for a non-success answer: a problem when the body is
    /// one, [`Error::UnexpectedStatus`] otherwise.
    pub(crate) fn from_answer(status: u16, headers: &HeaderMap, body: &[u8]) -> Self {
        match problem_from_answer(status, headers, body) {
            Some(problem) => Error::Api(Box::new(problem)),
            None => Error::UnexpectedStatus {
                status,
                body: String::from_utf8_lossy(body).into_owned(),
            },
        }
    }
}

impl From<reqwest::Error> for Error {
    fn from(e: reqwest::Error) -> Self {
        Error::Transport(e)
    }
}

impl From<tokio_tungstenite::tungstenite::Error> for Error {
    fn from(e: tokio_tungstenite::tungstenite::Error) -> Self {
        Error::WebSocket(e)
    }
}

/// `err` and its causes on one line, leaving out causes whose text the
/// message before them already includes.
fn with_causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        let message = c.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        cause = c.source();
    }
    text
}

fn body_excerpt(body: &str) -> String {
    const MAX: usize = 200;
    let body = body.trim();
    if body.is_empty() {
        return String::new();
    }
    match body.char_indices().nth(MAX) {
        Some((cut, _)) => format!(": {}…", &body[..cut]),
        None => format!(": {body}"),
    }
}

/// The problem document of an error answer, with `status` from the answer
/// and `retry_after` from its `Retry-After` header when there is one.
pub(crate) fn problem_from_answer(
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<Problem> {
    Problem::from_answer(status, body, retry_after_seconds(headers))
}

/// `Retry-After` in its delta-seconds form; usher never sends the date form.
fn retry_after_seconds(headers: &HeaderMap) -> Option<u64> {
    headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use serde_json::Value;

    #[test]
    fn parses_problem_with_extra_members() {
        let body = br#"{"type":"about:blank","title":"Too many streams","status":409,
            "code":"too_many_streams","detail":"All 2 streams are in use.","limit":2,"active":[]}"#;
        let problem = problem_from_answer(409, &HeaderMap::new(), body).expect("a problem");
        assert_eq!(problem.code, "too_many_streams");
        assert_eq!(problem.status, 409);
        assert_eq!(problem.title, "Too many streams");
        assert_eq!(problem.detail.as_deref(), Some("All 2 streams are in use."));
        assert_eq!(problem.get("limit"), Some(&Value::from(2)));
        assert!(problem.get("active").is_some_and(Value::is_array));
        assert!(!problem.extra.contains_key("code"));
    }

    #[test]
    fn too_many_streams_lists_who_is_watching() {
        let body = br#"{"type":"about:blank","title":"Too many streams","status":409,
            "code":"too_many_streams","detail":"All 1 streams of this plan are in use.","limit":1,
            "active":[{"stream_id":"str_1","device":{"session_id":"ses_1","name":"Living Room TV","type":"tv"},
                       "title":"Dune","profile":null,"started_at":"2026-11-21T08:03:26.123Z"}]}"#;
        let err = Error::from_answer(409, &HeaderMap::new(), body);
        let problem = err.problem().expect("a problem");
        assert_eq!(problem.limit(), Some(1));
        let active = err.active_streams().expect("active streams");
        assert_eq!(active.len(), 1);
        assert_eq!(active[0].stream_id, "str_1");
        assert_eq!(active[0].device.name, "Living Room TV");
        assert_eq!(active[0].title, "Dune");
        assert_eq!(err.stream_end_reason(), None);
    }

    #[test]
    fn active_streams_only_from_a_well_formed_too_many_streams() {
        let malformed = br#"{"code":"too_many_streams","limit":2,"active":[{"stream_id":1}]}"#;
        let problem = problem_from_answer(409, &HeaderMap::new(), malformed).expect("a problem");
        assert_eq!(problem.active_streams(), None);
        assert_eq!(problem.limit(), Some(2));

        let other = br#"{"code":"device_limit_reached","limit":3,"active":[]}"#;
        let problem = problem_from_answer(403, &HeaderMap::new(), other).expect("a problem");
        assert_eq!(problem.active_streams(), None);
        assert_eq!(problem.limit(), Some(3));
    }

    #[test]
    fn stream_ended_reason_is_typed() {
        for (wire, reason) in [
            ("stopped", StreamStopReason::Stopped),
            ("remote", StreamStopReason::Remote),
            ("signed_out", StreamStopReason::SignedOut),
            ("lease_expired", StreamStopReason::LeaseExpired),
            ("replaced", StreamStopReason::Replaced),
            ("comet", StreamStopReason::Other("comet".into())),
        ] {
            let body =
                format!(r#"{{"code":"stream_ended","title":"Stream ended","reason":"{wire}"}}"#);
            let err = Error::from_answer(410, &HeaderMap::new(), body.as_bytes());
            assert_eq!(err.stream_end_reason(), Some(reason), "{wire}");
        }
        let revoked = br#"{"code":"session_revoked","reason":"remote"}"#;
        let err = Error::from_answer(401, &HeaderMap::new(), revoked);
        assert_eq!(err.stream_end_reason(), None);
    }

    #[test]
    fn retry_after_header_wins_over_body_member() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("30"));
        let body =
            br#"{"title":"Slow down","status":429,"code":"too_many_attempts","retry_after":5}"#;
        let problem = problem_from_answer(429, &headers, body).expect("a problem");
        assert_eq!(problem.retry_after, Some(30));

        let problem = problem_from_answer(429, &HeaderMap::new(), body).expect("a problem");
        assert_eq!(problem.retry_after, Some(5));
    }

    #[test]
    fn http_status_is_authoritative() {
        let body = br#"{"title":"x","status":200,"code":"invalid_token"}"#;
        let problem = problem_from_answer(401, &HeaderMap::new(), body).expect("a problem");
        assert_eq!(problem.status, 401);
    }

    #[test]
    fn non_problem_bodies_become_unexpected_status() {
        for body in [
            &b""[..],
            b"<html>bad gateway</html>",
            b"{\"title\":\"no code\"}",
            b"[1]",
        ] {
            let err = Error::from_answer(502, &HeaderMap::new(), body);
            assert!(
                matches!(err, Error::UnexpectedStatus { status: 502, .. }),
                "{err:?}"
            );
            assert_eq!(err.status(), Some(502));
            assert_eq!(err.code(), None);
        }
    }

    #[test]
    fn error_accessors_and_display() {
        let body = br#"{"type":"about:blank","title":"Signed out","status":401,
            "code":"session_revoked","detail":"This device was signed out.","reason":"remote"}"#;
        let err = Error::from_answer(401, &HeaderMap::new(), body);
        assert_eq!(err.code(), Some("session_revoked"));
        assert_eq!(err.status(), Some(401));
        assert_eq!(err.reason(), Some("remote"));
        assert_eq!(
            err.to_string(),
            "Signed out (session_revoked): This device was signed out. [reason: remote]"
        );
    }

    #[test]
    fn long_bodies_are_cut_in_messages() {
        let err = Error::from_answer(500, &HeaderMap::new(), "é".repeat(1000).as_bytes());
        assert!(err.to_string().chars().count() < 260);
    }
}
