//! `/v1/devices…`: list, rename, sign out one, sign out all.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use axum::Router;
use serde::{Deserialize, Serialize};

use super::views::{DeviceList, DeviceView};
use crate::domain::{DeviceName, SessionId};
use crate::error::Error;
use crate::http::error::ApiError;
use crate::http::extract::{Auth, ClientIp, IdPath, Json};
use crate::http::state::AppState;
use crate::sessions::Actor;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/devices", get(list))
        .route("/v1/devices/sign-out-all", post(sign_out_all))
        .route("/v1/devices/{session_id}", patch(rename).delete(sign_out))
}

async fn list(
    State(state): State<AppState>,
    Auth(session): Auth,
) -> Result<Json<DeviceList>, ApiError> {
    let devices = state.devices().list(session.account_id, session.id).await?;
    Ok(Json(DeviceList {
        devices: devices.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rename {
    name: String,
}

async fn rename(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Auth(session): Auth,
    IdPath(id): IdPath<SessionId>,
    Json(body): Json<Rename>,
) -> Result<Json<DeviceView>, ApiError> {
    let name = DeviceName::parse(&body.name).map_err(Error::InvalidDeviceName)?;
    let device = state
        .devices()
        .rename(session.account_id, id, name, Actor::device(&session, ip))
        .await?;
    Ok(Json(device.into()))
}

async fn sign_out(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Auth(session): Auth,
    IdPath(id): IdPath<SessionId>,
) -> Result<StatusCode, ApiError> {
    let by = Actor::device(&session, ip);
    if state.devices().sign_out(&session, id, by).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found())
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SignOutAll {
    #[serde(default)]
    include_current: bool,
}

#[derive(Serialize)]
struct SignedOut {
    signed_out: usize,
}

async fn sign_out_all(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Auth(session): Auth,
    Json(body): Json<SignOutAll>,
) -> Result<Json<SignedOut>, ApiError> {
    let signed_out = state
        .sessions()
        .sign_out_all(&session, body.include_current, ip)
        .await?;
    Ok(Json(SignedOut { signed_out }))
}
