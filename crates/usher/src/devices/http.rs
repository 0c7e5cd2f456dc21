//! `/v1/devices…`: list, rename, sign out one, sign out all.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, patch, post};
use axum::Router;
use serde::Deserialize;

use crate::core::Actor;
use crate::devices::service::DeviceView;
use crate::domain::{SessionId, SignOutReason};
use crate::http::error::ApiError;
use crate::http::extract::{Auth, ClientIp, IdPath, Json};
use crate::http::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/devices", get(list))
        .route("/v1/devices/sign-out-all", post(sign_out_all))
        .route("/v1/devices/{session_id}", patch(rename).delete(sign_out))
}

async fn list(
    State(state): State<AppState>,
    Auth(session): Auth,
) -> Result<Json<serde_json::Value>, ApiError> {
    let devices = state.usher.devices(session.account_id, session.id).await?;
    Ok(Json(serde_json::json!({ "devices": devices })))
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
    let view = state
        .usher
        .rename_device(
            session.account_id,
            id,
            &body.name,
            Actor::device(&session, ip),
        )
        .await?;
    Ok(Json(view))
}

async fn sign_out(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Auth(session): Auth,
    IdPath(id): IdPath<SessionId>,
) -> Result<StatusCode, ApiError> {
    let reason = if id == session.id {
        SignOutReason::SelfSignOut
    } else {
        SignOutReason::Remote
    };
    let by = Actor::device(&session, ip);
    if state
        .usher
        .revoke(session.account_id, id, reason, by)
        .await?
    {
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

async fn sign_out_all(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Auth(session): Auth,
    Json(body): Json<SignOutAll>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let n = state
        .usher
        .sign_out_all(&session, body.include_current, ip)
        .await?;
    Ok(Json(serde_json::json!({ "signed_out": n })))
}
