//! `/v1/devices…`: list, rename, sign out one, sign out all.

use axum::extract::State;
use axum::http::StatusCode;
use usher_api::{self as api, ProblemCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::views::device_list;
use crate::domain::{DeviceName, SessionId};
use crate::error::Error;
use crate::http::error::ApiError;
use crate::http::extract::{Auth, ClientIp, IdPath, Json};
use crate::http::state::AppState;
use crate::sessions::Actor;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(sign_out_all))
        .routes(routes!(rename, sign_out))
}

/// Every signed-in device of the account.
#[utoipa::path(
    get, path = "/v1/devices", tag = "devices", operation_id = "list_devices",
    security(("bearer" = [])),
    responses((status = OK, description = "The signed-in devices.", body = api::DeviceList)),
)]
async fn list(
    State(state): State<AppState>,
    Auth(session): Auth,
) -> Result<Json<api::DeviceList>, ApiError> {
    let devices = state.devices().list(session.account_id, session.id).await?;
    Ok(Json(device_list(devices)))
}

/// Rename a device.
#[utoipa::path(
    patch, path = "/v1/devices/{session_id}", tag = "devices", operation_id = "rename_device",
    security(("bearer" = [])),
    params(("session_id" = String, Path, description = "The device's session (`ses_…`).")),
    request_body = api::RenameDevice,
    responses((status = OK, description = "The renamed device.", body = api::Device)),
    extensions(("x-problems" = json!([ProblemCode::NotFound, ProblemCode::InvalidDeviceName]))),
)]
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

/// Sign that device out now.
#[utoipa::path(
    delete, path = "/v1/devices/{session_id}", tag = "devices", operation_id = "sign_out_device",
    security(("bearer" = [])),
    params(("session_id" = String, Path, description = "The device's session (`ses_…`).")),
    responses((status = NO_CONTENT, description = "The device is signed out.")),
    extensions(("x-problems" = json!([ProblemCode::NotFound]))),
)]
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

/// Sign out of all devices (this one too with `include_current`).
#[utoipa::path(
    post, path = "/v1/devices/sign-out-all", tag = "devices", operation_id = "sign_out_all_devices",
    security(("bearer" = [])),
    request_body = api::SignOutAll,
    responses((status = OK, description = "How many devices were signed out.", body = api::SignedOutCount)),
)]
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
