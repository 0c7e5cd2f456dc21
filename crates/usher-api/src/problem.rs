//! Error answers: RFC 9457 problem documents (`application/problem+json`)
//! with a stable `code`.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::wire_enum::wire_enum;
use crate::{ActiveStream, Device, LenientStreamEndReason};

/// The `Content-Type` of every error answer.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

wire_enum! {
    /// Every `code` the server answers with. Clients should branch on the
    /// code, never on `title` or `detail`.
    pub enum ProblemCode, error UnknownProblemCode {
        /// `422`: the email address is not valid.
        InvalidEmail => "invalid_email",
        /// `422`: the password is too weak.
        WeakPassword => "weak_password",
        /// `422`: no plan has that name.
        UnknownPlan => "unknown_plan",
        /// `409`: an account with this email exists.
        EmailTaken => "email_taken",
        /// `403`: a public sign-up may not choose its plan; an operator sets
        /// plans (`usher account create --plan`, `usher account set-plan`).
        PlanNotAllowed => "plan_not_allowed",
        /// `403`: this server does not take public sign-ups
        /// (`accounts.public_sign_up = false`).
        SignUpDisabled => "sign_up_disabled",
        /// `401`: wrong email or password.
        InvalidCredentials => "invalid_credentials",
        /// `429` with `Retry-After`: too many sign-in attempts, wrong PINs,
        /// or sign-ups from one address.
        TooManyAttempts => "too_many_attempts",
        /// `422`: the device description at sign-in is not valid.
        InvalidDevice => "invalid_device",
        /// `422`: the new device name is not valid.
        InvalidDeviceName => "invalid_device_name",
        /// `401`: no access token was sent.
        MissingToken => "missing_token",
        /// `401`: the access or refresh token is not valid.
        InvalidToken => "invalid_token",
        /// `401`: the access token has expired; refresh it.
        TokenExpired => "token_expired",
        /// `401`: this device was signed out; `reason` says why.
        SessionRevoked => "session_revoked",
        /// `401`: a used refresh token came back; the session is ended.
        RefreshTokenReused => "refresh_token_reused",
        /// `404`: no such resource (or path) for this account.
        NotFound => "not_found",
        /// `405`: the path does not take this method.
        MethodNotAllowed => "method_not_allowed",
        /// `403`: the current password is wrong.
        WrongPassword => "wrong_password",
        /// `409`: every stream slot is in use; `limit` and `active` list them.
        TooManyStreams => "too_many_streams",
        /// `403`: the plan's device cap is reached; `limit` and `devices`.
        DeviceLimitReached => "device_limit_reached",
        /// `410`: the stream has ended; `reason` says why.
        StreamEnded => "stream_ended",
        /// `422`: the stream title is not valid.
        InvalidTitle => "invalid_title",
        /// `422`: no such profile on this account.
        UnknownProfile => "unknown_profile",
        /// `422`: the activity page `limit` is out of range.
        InvalidLimit => "invalid_limit",
        /// `422`: the activity `before` cursor is not a `next` value.
        InvalidCursor => "invalid_cursor",
        /// `422`: an activity `kind` filter value is unknown.
        InvalidKind => "invalid_kind",
        /// `422`: the profile name is not valid.
        InvalidProfileName => "invalid_profile_name",
        /// `422`: a PIN is exactly four digits.
        InvalidPin => "invalid_pin",
        /// `409`: the account has as many profiles as allowed; `limit`.
        ProfileLimitReached => "profile_limit_reached",
        /// `403`: the profile is locked; send its PIN.
        PinRequired => "pin_required",
        /// `403`: the PIN is wrong.
        WrongPin => "wrong_pin",
        /// `409`: an account keeps at least one profile.
        LastProfile => "last_profile",
        /// `409`: the default profile cannot be deleted.
        DefaultProfile => "default_profile",
        /// `403`: this device is on no profile; pick one first.
        ProfileRequired => "profile_required",
        /// `409`: lock the default profile before requiring its PIN.
        DefaultProfileUnlocked => "default_profile_unlocked",
        /// `422`: the body is JSON of the wrong shape.
        InvalidBody => "invalid_body",
        /// `400`: the body is not JSON.
        MalformedJson => "malformed_json",
        /// `415`: the body was not sent as `application/json`.
        UnsupportedMediaType => "unsupported_media_type",
        /// `413`: the body is too large.
        PayloadTooLarge => "payload_too_large",
        /// `400`: the query string is not valid.
        InvalidQuery => "invalid_query",
        /// `426`: `GET /v1/live` needs a WebSocket upgrade.
        WebsocketRequired => "websocket_required",
        /// `408`: the request (its body included) was not received and
        /// answered in time; the connection is closed.
        RequestTimeout => "request_timeout",
        /// `429` with `Retry-After`: too many connections are open from the
        /// client's address; the connection is closed.
        TooManyConnections => "too_many_connections",
        /// `503` with `Retry-After`: the service is busy.
        Overloaded => "overloaded",
        /// `503` with `Retry-After`: a dependency (the database) is unreachable.
        Unavailable => "unavailable",
        /// `503` with `Retry-After`: this node cannot show it has seen every
        /// recent sign-out, so it checks no session; another node can.
        StaleNode => "stale_node",
        /// `500`: something went wrong on the server; it has been logged.
        Internal => "internal",
    }
}

impl ProblemCode {
    /// The HTTP status every answer with this code has: a code means one
    /// status, so a client (and the OpenAPI document) can rely on the pair.
    pub fn status(self) -> u16 {
        use ProblemCode as C;
        match self {
            C::MalformedJson | C::InvalidQuery => 400,
            C::InvalidCredentials
            | C::MissingToken
            | C::InvalidToken
            | C::TokenExpired
            | C::SessionRevoked
            | C::RefreshTokenReused => 401,
            C::PlanNotAllowed
            | C::SignUpDisabled
            | C::WrongPassword
            | C::DeviceLimitReached
            | C::PinRequired
            | C::WrongPin
            | C::ProfileRequired => 403,
            C::NotFound => 404,
            C::MethodNotAllowed => 405,
            C::RequestTimeout => 408,
            C::EmailTaken
            | C::TooManyStreams
            | C::ProfileLimitReached
            | C::LastProfile
            | C::DefaultProfile
            | C::DefaultProfileUnlocked => 409,
            C::StreamEnded => 410,
            C::PayloadTooLarge => 413,
            C::UnsupportedMediaType => 415,
            C::InvalidEmail
            | C::WeakPassword
            | C::UnknownPlan
            | C::InvalidDevice
            | C::InvalidDeviceName
            | C::InvalidTitle
            | C::UnknownProfile
            | C::InvalidLimit
            | C::InvalidCursor
            | C::InvalidKind
            | C::InvalidProfileName
            | C::InvalidPin
            | C::InvalidBody => 422,
            C::WebsocketRequired => 426,
            C::TooManyAttempts | C::TooManyConnections => 429,
            C::Internal => 500,
            C::Overloaded | C::Unavailable | C::StaleNode => 503,
        }
    }
}

/// The text is not a [`ProblemCode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown problem code {0:?}")]
pub struct UnknownProblemCode(pub String);

impl From<&str> for UnknownProblemCode {
    fn from(s: &str) -> Self {
        UnknownProblemCode(s.to_owned())
    }
}

/// An RFC 9457 problem document as usher sends it.
///
/// A reader should take `status` from the HTTP answer (authoritative over the
/// body's member) and `retry_after` from the `Retry-After` header when there
/// is one: see [`Problem::from_answer`]. Members not modelled here (`limit`,
/// `active`, `devices`, …) are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(
        description = "An RFC 9457 problem document (`application/problem+json`). `status` repeats the HTTP status and `retry_after` the `Retry-After` header; the members some codes add (`limit`, `active`, `devices`, `reason`, `retry_after`) are listed with the answers that carry them."
    )
)]
pub struct Problem {
    /// The `type` URI; usher uses `about:blank`.
    #[serde(rename = "type", default = "about_blank")]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub problem_type: String,
    /// HTTP status code.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(required = true, minimum = 400, maximum = 599)
    )]
    pub status: u16,
    /// Stable machine-readable code, a `ProblemCode` (read as text, so a
    /// code a newer server adds is still readable).
    #[cfg_attr(feature = "openapi", schema(value_type = ProblemCode))]
    pub code: String,
    /// Short human-readable summary.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub title: String,
    /// Longer human-readable explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub detail: Option<String>,
    /// Why, for codes that carry one (`session_revoked`, `stream_ended`,
    /// `refresh_token_reused`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub reason: Option<String>,
    /// Seconds to wait before retrying (`429` and `503` answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false, minimum = 1))]
    pub retry_after: Option<u64>,
    /// Every other member (`limit`, `active`, `devices`, …).
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub extra: Map<String, Value>,
}

fn about_blank() -> String {
    "about:blank".to_owned()
}

impl Problem {
    /// Reads an error answer: its status, body, and `Retry-After` in seconds
    /// if the header had one. `None` when the body is not a JSON object with
    /// a string `code`.
    pub fn from_answer(status: u16, body: &[u8], retry_after_header: Option<u64>) -> Option<Self> {
        let value: Value = serde_json::from_slice(body).ok()?;
        value.get("code")?.as_str()?;
        let mut problem: Problem = serde_json::from_value(value).ok()?;
        problem.status = status;
        if let Some(seconds) = retry_after_header {
            problem.retry_after = Some(seconds);
        }
        Some(problem)
    }

    /// The code as a [`ProblemCode`]; `None` for a code this crate does not know.
    pub fn known_code(&self) -> Option<ProblemCode> {
        self.code.parse().ok()
    }

    /// An extra member by name, e.g. `problem.get("limit")`.
    pub fn get(&self, member: &str) -> Option<&Value> {
        self.extra.get(member)
    }

    /// The plan's `limit` (`too_many_streams`, `device_limit_reached`,
    /// `profile_limit_reached`).
    pub fn limit(&self) -> Option<u32> {
        self.get("limit")?.as_u64()?.try_into().ok()
    }

    /// The `active` member of `409 too_many_streams`: who is watching what,
    /// so the app can offer to stop one. `None` for other codes, or when the
    /// member is missing or not a list of streams.
    pub fn active_streams(&self) -> Option<Vec<ActiveStream>> {
        if self.code != ProblemCode::TooManyStreams.as_str() {
            return None;
        }
        Vec::<ActiveStream>::deserialize(self.get("active")?).ok()
    }

    /// The `devices` member of `403 device_limit_reached`: the signed-in
    /// devices, in the device-list shape, so one can be signed out. `None`
    /// for other codes, or when the member is missing or malformed.
    pub fn signed_in_devices(&self) -> Option<Vec<Device>> {
        if self.code != ProblemCode::DeviceLimitReached.as_str() {
            return None;
        }
        Vec::<Device>::deserialize(self.get("devices")?).ok()
    }

    /// The `reason` of `410 stream_ended`; `None` for other codes.
    pub fn stream_end_reason(&self) -> Option<LenientStreamEndReason> {
        if self.code != ProblemCode::StreamEnded.as_str() {
            return None;
        }
        self.reason.as_deref().map(LenientStreamEndReason::from)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.title.is_empty() {
            write!(f, "{} (HTTP {})", self.code, self.status)?;
        } else {
            write!(f, "{} ({})", self.title, self.code)?;
        }
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        if let Some(reason) = &self.reason {
            write!(f, " [reason: {reason}]")?;
        }
        if let Some(seconds) = self.retry_after {
            write!(f, " [retry after {seconds}s]")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::assert_round_trip;
    use crate::StreamEndReason;

    #[test]
    fn problems_as_the_server_writes_them() {
        let revoked: Problem = assert_round_trip(
            r#"{"code":"session_revoked","detail":"This account was signed out of all devices.",
                "reason":"all_devices","status":401,"title":"Signed out","type":"about:blank"}"#,
        );
        assert_eq!(revoked.known_code(), Some(ProblemCode::SessionRevoked));
        assert_eq!(revoked.reason.as_deref(), Some("all_devices"));
        let throttled: Problem = assert_round_trip(
            r#"{"code":"too_many_attempts","detail":"Too many sign-in attempts. Wait before trying again.",
                "retry_after":34,"status":429,"title":"Too many attempts","type":"about:blank"}"#,
        );
        assert_eq!(throttled.retry_after, Some(34));
        let missing: Problem = assert_round_trip(
            r#"{"code":"not_found","status":404,"title":"Not found","type":"about:blank"}"#,
        );
        assert_eq!(missing.detail, None);
    }

    #[test]
    fn too_many_streams_lists_who_is_watching() {
        let body = br#"{"active":[{"device":{"name":"Bob TV","session_id":"ses_01a2306bf55474d79505485518ba95ff","type":"tv"},
            "profile":{"name":"bob","profile_id":"prf_01a2306bec5075a7a91fca8fdf510d1d"},"started_at":"2026-12-01T07:05:11.767Z",
            "stream_id":"str_01a2306bf757742783ac4bef6ff6f1b3","title":"Dune"}],"code":"too_many_streams",
            "detail":"Every stream of this plan is in use (1 at once). Stop one of them to watch here.","limit":1,
            "status":409,"title":"Too many streams","type":"about:blank"}"#;
        let problem: Problem = assert_round_trip(std::str::from_utf8(body).expect("utf-8"));
        assert_eq!(problem.limit(), Some(1));
        let active = problem.active_streams().expect("active streams");
        assert_eq!(active[0].device.name, "Bob TV");
        assert_eq!(problem.stream_end_reason(), None);
    }

    #[test]
    fn device_limit_reached_lists_the_devices() {
        let problem: Problem = assert_round_trip(
            r#"{"code":"device_limit_reached","detail":"This plan allows 1 signed-in devices. Sign one out to sign in here.",
                "devices":[{"app_version":null,"current":false,"ip":"127.0.0.1","last_active_at":"2026-12-01T07:04:42.465Z",
                "location":null,"model":null,"name":"Phone","profile":null,"session_id":"ses_01a2306b84e170b5a001c280dc6caf1f",
                "signed_in_at":"2026-12-01T07:04:42.465Z","streaming":null,"type":"phone"}],"limit":1,
                "status":403,"title":"Device limit reached","type":"about:blank"}"#,
        );
        assert_eq!(problem.limit(), Some(1));
        let devices = problem.signed_in_devices().expect("the devices");
        assert_eq!(devices[0].name, "Phone");
        assert_eq!(problem.active_streams(), None);
    }

    #[test]
    fn stream_ended_reason_is_typed() {
        let ended = Problem::from_answer(
            410,
            br#"{"code":"stream_ended","detail":"This stream has ended. Start a new one to keep watching.",
                "reason":"stopped","status":410,"title":"Stream ended","type":"about:blank"}"#,
            None,
        )
        .expect("a problem");
        assert_eq!(
            ended.stream_end_reason(),
            Some(StreamEndReason::Stopped.into())
        );
        let newer = Problem::from_answer(410, br#"{"code":"stream_ended","reason":"comet"}"#, None)
            .expect("a problem");
        assert_eq!(
            newer.stream_end_reason(),
            Some(LenientStreamEndReason::Other("comet".into()))
        );
    }

    #[test]
    fn answer_status_and_header_win() {
        let body =
            br#"{"title":"Slow down","status":200,"code":"too_many_attempts","retry_after":5}"#;
        let problem = Problem::from_answer(429, body, Some(30)).expect("a problem");
        assert_eq!((problem.status, problem.retry_after), (429, Some(30)));
        let problem = Problem::from_answer(429, body, None).expect("a problem");
        assert_eq!(problem.retry_after, Some(5));
        for not_a_problem in [
            &b""[..],
            b"<html>bad gateway</html>",
            b"{\"title\":\"x\"}",
            b"[1]",
        ] {
            assert_eq!(Problem::from_answer(502, not_a_problem, None), None);
        }
    }

    #[test]
    fn each_code_documents_its_status() {
        // Every code's doc comment starts with its status: "`422`: …".
        let source = include_str!("problem.rs");
        let lines: Vec<&str> = source.lines().map(str::trim).collect();
        for code in ProblemCode::ALL {
            let spelling = format!("=> \"{}\",", code.as_str());
            let at = lines
                .iter()
                .position(|line| line.ends_with(&spelling))
                .expect("the code is declared here");
            let first = (0..at)
                .rev()
                .take_while(|&i| lines[i].starts_with("///"))
                .last()
                .expect("a doc comment");
            let expected = format!("/// `{}`", code.status());
            assert!(
                lines[first].starts_with(&expected),
                "{code}: {}",
                lines[first]
            );
        }
    }

    #[test]
    fn codes_round_trip() {
        for code in ProblemCode::ALL {
            assert_eq!(code.as_str().parse::<ProblemCode>(), Ok(code));
        }
        assert_eq!(
            ProblemCode::WebsocketRequired.as_str(),
            "websocket_required"
        );
    }
}
