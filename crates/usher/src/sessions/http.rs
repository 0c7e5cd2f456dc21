//! `/v1/sessions…`: sign-in, refresh, who-am-I, sign-out of this device.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};

use crate::domain::{DeviceInfo, DeviceType, SessionId, SignOutReason};
use crate::error::{Error, InvalidDevice};
use crate::http::error::ApiError;
use crate::http::extract::{Auth, ClientIp, Json};
use crate::http::state::AppState;
use crate::sessions::{Actor, TokenPair};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/sessions", post(sign_in))
        .route("/v1/sessions/refresh", post(refresh))
        .route(
            "/v1/sessions/current",
            get(current).delete(sign_out_current),
        )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceBody {
    pub name: String,
    /// Text rather than `DeviceType`, so an unknown type is answered as
    /// `invalid_device`, like every other flaw in the device's description.
    #[serde(rename = "type")]
    pub kind: String,
    pub model: Option<String>,
    pub app_version: Option<String>,
}

impl DeviceBody {
    pub fn parse(&self) -> Result<DeviceInfo, Error> {
        let kind: DeviceType = self
            .kind
            .parse()
            .map_err(|_| InvalidDevice::UnknownType(self.kind.clone()))?;
        DeviceInfo::parse(
            &self.name,
            kind,
            self.model.as_deref(),
            self.app_version.as_deref(),
        )
        .map_err(|e| InvalidDevice::Field(e).into())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    email: String,
    password: String,
    device: DeviceBody,
}

#[derive(Serialize)]
struct TokensBody {
    session_id: SessionId,
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    refresh_token: String,
}

impl From<TokenPair> for TokensBody {
    fn from(t: TokenPair) -> Self {
        Self {
            session_id: t.session_id,
            access_token: t.access_token,
            token_type: "Bearer",
            expires_in: t.expires_in,
            refresh_token: t.refresh_token,
        }
    }
}

async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<SignIn>,
) -> Result<(StatusCode, Json<TokensBody>), ApiError> {
    let device = body.device.parse()?;
    let tokens = state
        .sessions()
        .sign_in(&body.email, body.password, device, ip)
        .await?;
    Ok((StatusCode::CREATED, Json(tokens.into())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Refresh {
    refresh_token: String,
}

async fn refresh(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<Refresh>,
) -> Result<Json<TokensBody>, ApiError> {
    Ok(Json(
        state
            .sessions()
            .refresh(&body.refresh_token, ip)
            .await?
            .into(),
    ))
}

#[derive(Serialize)]
struct Current {
    session_id: SessionId,
    account_id: crate::domain::AccountId,
    device: CurrentDevice,
    profile_id: Option<crate::domain::ProfileId>,
}

/// The cached device details, serialised in place: this answer is the hot
/// path other services poll, so it copies no strings.
struct CurrentDevice(Arc<DeviceInfo>);

impl Serialize for CurrentDevice {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            name: &'a str,
            #[serde(rename = "type")]
            kind: DeviceType,
            model: Option<&'a str>,
            app_version: Option<&'a str>,
        }
        let d = &self.0;
        View {
            name: d.name.as_str(),
            kind: d.kind,
            model: d.model.as_deref(),
            app_version: d.app_version.as_deref(),
        }
        .serialize(serializer)
    }
}

async fn current(Auth(session): Auth) -> Json<Current> {
    Json(Current {
        session_id: session.id,
        account_id: session.account_id,
        device: CurrentDevice(session.device()),
        profile_id: session.profile(),
    })
}

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
