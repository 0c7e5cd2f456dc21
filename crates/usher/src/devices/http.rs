//! `/v1/devices…`: list, rename, sign out one, sign out all.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use axum::Router;
use usher_api as api;

use super::views::device_list;
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
) -> Result<Json<api::DeviceList>, ApiError> {
    let devices = state.devices().list(session.account_id, session.id).await?;
    Ok(Json(device_list(devices)))
}

async fn rename(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Auth(session): Auth,
    IdPath(id): IdPath<SessionId>,
    Json(body): Json<api::RenameDevice>,
) -> Result<Json<api::Device>, ApiError> {
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

async fn sign_out_all(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Auth(session): Auth,
    Json(body): Json<api::SignOutAll>,
) -> Result<Json<api::SignedOutCount>, ApiError> {
    let signed_out = state
        .sessions()
        .sign_out_all(&session, body.include_current, ip)
        .await?;
    Ok(Json(api::SignedOutCount {
        signed_out: signed_out as u64,
    }))
}
