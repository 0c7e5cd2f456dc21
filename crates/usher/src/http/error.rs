//! `ApiError`: every error answer is RFC 9457 problem+json with a stable `code`.
//! A 5xx is logged with its cause chain and never echoes internals.

use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use usher_api::{self as api, ProblemCode, PROBLEM_CONTENT_TYPE};

use super::strict_json::BodyError;
use crate::auth::tokens::TokenError;
use crate::error::Error;

/// Records rendered as their `usher_api` views, for a problem's extra members.
fn views<V: serde::Serialize>(views: impl Iterator<Item = V>) -> Value {
    serde_json::to_value(views.collect::<Vec<V>>()).unwrap_or_default()
}

/// An error answer on its way out: rendered as a [`api::Problem`].
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ProblemCode,
    pub title: &'static str,
    pub detail: Option<String>,
    /// Why, for `session_revoked`, `refresh_token_reused` and `stream_ended`.
    pub reason: Option<&'static str>,
    pub extra: Map<String, Value>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An answer with `code`, at the one status that code has
    /// ([`ProblemCode::status`]), so the OpenAPI document's pairs hold.
    pub fn new(code: ProblemCode, title: &'static str) -> Self {
        Self {
            status: StatusCode::from_u16(code.status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code,
            title,
            detail: None,
            reason: None,
            extra: Map::new(),
            retry_after: None,
        }
    }

    pub fn reason(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(ProblemCode::UnsupportedMediaType, "Unsupported media type")
            .detail("Send the body as `Content-Type: application/json`.")
    }

    pub fn not_found() -> Self {
        Self::new(ProblemCode::NotFound, "Not found")
    }

    /// `429 too_many_attempts`, `Retry-After` in whole seconds, rounded up.
    fn too_many_attempts(retry_after: std::time::Duration, detail: &'static str) -> Self {
        let secs = retry_after.as_secs_f64().ceil() as u64;
        Self::new(ProblemCode::TooManyAttempts, "Too many attempts")
            .detail(detail)
            .retry_after(secs)
    }

    fn internal() -> Self {
        Self::new(ProblemCode::Internal, "Internal error")
            .detail("Something went wrong on our side. It has been logged.")
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidEmail(d) => Self::new(ProblemCode::InvalidEmail, "Invalid email").detail(d.to_string()),
            Error::WeakPassword(d) => Self::new(ProblemCode::WeakPassword, "Weak password").detail(d.to_string()),
            Error::UnknownPlan(name) => Self::new(ProblemCode::UnknownPlan, "Unknown plan")
                .detail(format!("No plan is called {name:?}.")),
            Error::EmailTaken => Self::new(ProblemCode::EmailTaken, "Email taken")
                .detail("An account with this email already exists."),
            Error::PlanNotAllowed => Self::new(ProblemCode::PlanNotAllowed, "Plan not allowed")
                .detail("A new account starts on the default plan: leave `plan` out. Plans are changed by the operator."),
            Error::SignUpDisabled => Self::new(ProblemCode::SignUpDisabled, "Sign-up disabled")
                .detail("This service does not take sign-ups here. Ask its operator for an account."),
            Error::TooManySignUps { retry_after } => {
                Self::too_many_attempts(retry_after, "Too many sign-ups from this address. Wait before trying again.")
            }
            Error::InvalidCredentials => Self::new(ProblemCode::InvalidCredentials, "Invalid credentials")
                .detail("The email or password is wrong."),
            Error::TooManyAttempts { retry_after } => {
                Self::too_many_attempts(retry_after, "Too many attempts with this account's password. Wait before trying again.")
            }
            Error::InvalidDevice(d) => Self::new(ProblemCode::InvalidDevice, "Invalid device").detail(d.to_string()),
            Error::InvalidDeviceName(d) => Self::new(ProblemCode::InvalidDeviceName, "Invalid device name").detail(d.to_string()),
            Error::MissingToken => Self::new(ProblemCode::MissingToken, "Missing token")
                .detail("Send the access token as `Authorization: Bearer <token>`."),
            Error::Token(TokenError::Invalid) => Self::new(ProblemCode::InvalidToken, "Invalid token")
                .detail("The access token is not valid."),
            Error::Token(TokenError::Expired { .. }) => Self::new(ProblemCode::TokenExpired, "Token expired")
                .detail("The access token has expired. Refresh it."),
            Error::SessionRevoked(reason) => Self::new(ProblemCode::SessionRevoked, "Signed out")
                .detail(reason.explain())
                .reason(reason.as_str()),
            Error::RefreshTokenReused => Self::new(ProblemCode::RefreshTokenReused, "Refresh token reused")
                .detail("This refresh token was already used, so the session has been ended to protect the account. Sign in again.")
                .reason(api::SignOutReason::TokenReused.as_str()),
            Error::InvalidRefreshToken => Self::new(ProblemCode::InvalidToken, "Invalid token")
                .detail("The refresh token is not valid."),
            Error::NotFound => Self::not_found(),
            Error::WrongPassword => Self::new(ProblemCode::WrongPassword, "Wrong password")
                .detail("The current password is wrong."),
            Error::TooManyStreams { limit, active } => {
                Self::new(ProblemCode::TooManyStreams, "Too many streams")
                    .detail(format!(
                        "Every stream of this plan is in use ({limit} at once). Stop one of them to watch here."
                    ))
                    .with("limit", limit)
                    .with("active", views(active.into_iter().map(api::ActiveStream::from)))
            }
            Error::DeviceLimitReached { limit, devices } => {
                Self::new(ProblemCode::DeviceLimitReached, "Device limit reached")
                    .detail(format!(
                        "This plan allows {limit} signed-in devices. Sign one out to sign in here."
                    ))
                    .with("limit", limit)
                    .with("devices", views(devices.into_iter().map(api::Device::from)))
            }
            Error::StreamEnded(reason) => Self::new(ProblemCode::StreamEnded, "Stream ended")
                .detail("This stream has ended. Start a new one to keep watching.")
                .reason(reason.as_str()),
            Error::InvalidTitle(d) => {
                Self::new(ProblemCode::InvalidTitle, "Invalid title").detail(d.to_string())
            }
            Error::UnknownProfile => {
                Self::new(ProblemCode::UnknownProfile, "Unknown profile")
                    .detail("There is no such profile on this account.")
            }
            Error::InvalidParameter { code, detail } => {
                Self::new(code, "Invalid parameter").detail(detail)
            }
            Error::InvalidProfileName(d) => {
                Self::new(ProblemCode::InvalidProfileName, "Invalid profile name").detail(d.to_string())
            }
            Error::InvalidPin => Self::new(ProblemCode::InvalidPin, "Invalid PIN")
                .detail("A PIN is exactly four digits (0-9)."),
            Error::ProfileLimitReached { limit } => {
                Self::new(ProblemCode::ProfileLimitReached, "Profile limit reached")
                    .detail(format!("An account can have {limit} profiles. Delete one to add another."))
                    .with("limit", limit)
            }
            Error::PinRequired => Self::new(ProblemCode::PinRequired, "PIN required")
                .detail("This profile is locked. Send its PIN."),
            Error::WrongPin => Self::new(ProblemCode::WrongPin, "Wrong PIN")
                .detail("The PIN is wrong."),
            Error::TooManyPinAttempts { retry_after } => {
                Self::too_many_attempts(retry_after, "Too many wrong PINs for this profile. Wait before trying again.")
            }
            Error::LastProfile => Self::new(ProblemCode::LastProfile, "Last profile")
                .detail("An account needs at least one profile."),
            Error::DefaultProfile => Self::new(ProblemCode::DefaultProfile, "Default profile")
                .detail("The default profile cannot be deleted."),
            Error::ProfileRequired => Self::new(ProblemCode::ProfileRequired, "Profile required")
                .detail("This device is on no profile. Pick one (POST /v1/sessions/current/profile) first."),
            Error::DefaultProfileUnlocked => {
                Self::new(ProblemCode::DefaultProfileUnlocked, "Default profile unlocked")
                    .detail("Lock the default profile with a PIN first: that PIN is the one asked for.")
            }
            Error::Overloaded => Self::new(ProblemCode::Overloaded, "Busy")
                .detail("The service is busy. Try again shortly.")
                .retry_after(1),
            Error::StaleNode => Self::new(ProblemCode::StaleNode, "Node behind")
                .detail("This node cannot show it has seen every recent sign-out, so it checks no session. Try again shortly; another node can answer.")
                .retry_after(1),
            Error::Unavailable(cause) => {
                tracing::error!(error = format!("{cause:#}"), "dependency unavailable");
                Self::new(ProblemCode::Unavailable, "Temporarily unavailable")
                    .detail("The service cannot reach its database. Try again shortly.")
                    .retry_after(2)
            }
            Error::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "internal error");
                Self::internal()
            }
        }
    }
}

impl From<BodyError> for ApiError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::Malformed(detail) => {
                Self::new(ProblemCode::MalformedJson, "Malformed JSON").detail(detail)
            }
            BodyError::Shape(e) => {
                Self::new(ProblemCode::InvalidBody, "Invalid body").detail(e.to_string())
            }
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::new(ProblemCode::PayloadTooLarge, "Payload too large")
                .detail("The request body is too large.")
        } else {
            // Cut off or broken on the way: as unreadable as a body that is
            // not JSON, and at that code's status (400).
            Self::new(ProblemCode::MalformedJson, "Malformed JSON")
                .detail("The request body could not be read.")
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> Self {
        Self::not_found()
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        // The cause alone ("unknown field `shout`, expected `watch`"), not
        // axum's "Failed to deserialize query string: …" around it. Query
        // types hold text only, so no Rust type name can show.
        let cause = std::error::Error::source(&r)
            .map(|cause| cause.to_string())
            .unwrap_or_else(|| r.body_text());
        Self::new(ProblemCode::InvalidQuery, "Invalid query")
            .detail(format!("The query string is not valid: {cause}."))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = api::Problem {
            problem_type: "about:blank".to_owned(),
            status: self.status.as_u16(),
            code: self.code.as_str().to_owned(),
            title: self.title.to_owned(),
            detail: self.detail,
            reason: self.reason.map(str::to_owned),
            retry_after: self.retry_after,
            extra: self.extra,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
        );
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
