//! `/v1/sessions…`: sign-in, refresh, who-am-I, sign-out of this device.

use std::borrow::Cow;
use std::fmt;
use std::io::Write;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use usher_api::{self as api, ProblemCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::{DeviceInfo, DeviceType, SignOutReason};
use crate::error::{Error, InvalidDevice};
use crate::http::error::ApiError;
use crate::http::extract::{Auth, ClientIp, Json};
use crate::http::state::AppState;
use crate::sessions::{Actor, TokenPair};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_in))
        .routes(routes!(refresh))
        .routes(routes!(current, sign_out_current))
}

/// The device described at sign-in, parsed once. Its `type` arrives as
/// text, so an unknown type is answered `invalid_device`, like every other
/// flaw in the description.
fn parse_device(body: &api::DeviceInfo<String>) -> Result<DeviceInfo, Error> {
    let kind: DeviceType = body
        .device_type
        .parse()
        .map_err(|_| InvalidDevice::UnknownType(body.device_type.clone()))?;
    DeviceInfo::parse(
        &body.name,
        kind,
        body.model.as_deref(),
        body.app_version.as_deref(),
    )
    .map_err(|e| InvalidDevice::Field(e).into())
}

impl From<TokenPair> for api::SessionTokens {
    fn from(t: TokenPair) -> Self {
        api::SessionTokens {
            session_id: t.session_id.to_string(),
            access_token: t.access_token,
            token_type: "Bearer".to_owned(),
            expires_in: t.expires_in,
            refresh_token: t.refresh_token,
            device_proof: t.device_proof,
        }
    }
}

/// Sign a device in.
#[utoipa::path(
    post, path = "/v1/sessions", tag = "sessions", operation_id = "sign_in",
    request_body = api::SignIn,
    responses((status = CREATED, description = "The device session and its tokens.", body = api::SessionTokens)),
    extensions(("x-problems" = json!([
        ProblemCode::InvalidCredentials, ProblemCode::DeviceLimitReached,
        ProblemCode::InvalidDevice, ProblemCode::TooManyAttempts,
    ]))),
)]
async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<api::SignIn<String>>,
) -> Result<(StatusCode, Json<api::SessionTokens>), ApiError> {
    let device = parse_device(&body.device)?;
    let tokens = state
        .sessions()
        .sign_in(
            &body.email,
            body.password,
            device,
            ip,
            body.device_proof.as_deref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(tokens.into())))
}

/// Rotate the tokens.
///
/// Each refresh token may be used once: presenting a used one again ends
/// the session (`refresh_token_reused`).
#[utoipa::path(
    post, path = "/v1/sessions/refresh", tag = "sessions", operation_id = "refresh_session",
    request_body = api::RefreshRequest,
    responses((status = OK, description = "New tokens.", body = api::SessionTokens)),
    extensions(("x-problems" = json!([
        ProblemCode::SessionRevoked, ProblemCode::RefreshTokenReused, ProblemCode::InvalidToken,
    ]))),
)]
async fn refresh(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<api::RefreshRequest>,
) -> Result<Json<api::SessionTokens>, ApiError> {
    Ok(Json(
        state
            .sessions()
            .refresh(&body.refresh_token, ip)
            .await?
            .into(),
    ))
}

/// Who am I: this device's session.
#[utoipa::path(
    get, path = "/v1/sessions/current", tag = "sessions", operation_id = "get_current_session",
    security(("bearer" = [])),
    responses((status = OK, description = "This device's session.", body = api::CurrentSession)),
)]
async fn current(Auth(session): Auth) -> Response {
    // Answered from the cached session without copying its text: this is
    // the answer other services poll hardest. The ids are written into
    // stack buffers, and the body is serialized before they go out of scope.
    let device = session.device();
    let profile = session.profile();
    let (mut session_buf, mut account_buf, mut profile_buf) =
        ([0; ID_TEXT], [0; ID_TEXT], [0; ID_TEXT]);
    Json(api::CurrentSession {
        session_id: id_text(&session.id, &mut session_buf),
        account_id: id_text(&session.account_id, &mut account_buf),
        device: api::CurrentDevice {
            name: Cow::Borrowed(device.name.as_str()),
            device_type: device.kind,
            model: device.model.as_deref().map(Cow::Borrowed),
            app_version: device.app_version.as_deref().map(Cow::Borrowed),
        },
        profile_id: profile.as_ref().map(|id| id_text(id, &mut profile_buf)),
    })
    .into_response()
}

/// Room for a prefixed id (`ses_` and 32 hex digits) and some to spare.
const ID_TEXT: usize = 48;

/// `id`'s text, written into `buf`; allocated only if it did not fit.
fn id_text<'b>(id: &impl fmt::Display, buf: &'b mut [u8; ID_TEXT]) -> Cow<'b, str> {
    let mut rest = &mut buf[..];
    if write!(rest, "{id}").is_ok() {
        let len = ID_TEXT - rest.len();
        if let Ok(text) = std::str::from_utf8(&buf[..len]) {
            return Cow::Borrowed(text);
        }
    }
    Cow::Owned(id.to_string())
}

/// Sign this device out.
#[utoipa::path(
    delete, path = "/v1/sessions/current", tag = "sessions", operation_id = "sign_out_current",
    security(("bearer" = [])),
    responses((status = NO_CONTENT, description = "This device is signed out.")),
)]
async fn sign_out_current(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Auth(session): Auth,
) -> Result<StatusCode, ApiError> {
    state
        .sessions()
        .revoke(
            session.account_id,
            session.id,
            SignOutReason::SelfSignOut,
            Actor::device(&session, ip),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountId, SessionId};

    #[test]
    fn ids_are_written_in_place() {
        let mut buf = [0; ID_TEXT];
        let id = SessionId::new();
        let text = id_text(&id, &mut buf);
        assert!(matches!(text, Cow::Borrowed(_)));
        assert_eq!(text, id.to_string());
        let account = AccountId::new();
        assert_eq!(id_text(&account, &mut buf), account.to_string());
    }
}
