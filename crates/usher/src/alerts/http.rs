//! `/v1/alerts…`: open sign-in alerts, dismissing one, signing its device out.

use axum::extract::State;
use axum::http::StatusCode;
use usher_api::{self as api, ProblemCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::views::alert_list;
use crate::domain::EventId;
use crate::http::error::ApiError;
use crate::http::extract::{Auth, ClientIp, IdPath, Json};
use crate::http::state::AppState;
use crate::sessions::Actor;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(dismiss))
        .routes(routes!(sign_out_device))
}

/// Open alerts, newest first.
#[utoipa::path(
    get, path = "/v1/alerts", tag = "alerts", operation_id = "list_alerts",
    security(("bearer" = [])),
    responses((status = OK, description = "The open alerts.", body = api::AlertList)),
)]
async fn list(
    State(state): State<AppState>,
    Auth(session): Auth,
) -> Result<Json<api::AlertList>, ApiError> {
    let open = state
        .alerts()
        .open(session.account_id, |id| {
            state.sessions().may_be_signed_in(id)
        })
        .await?;
    Ok(Json(alert_list(open)))
}

/// Dismiss an alert.
#[utoipa::path(
    post, path = "/v1/alerts/{alert_id}/dismiss", tag = "alerts", operation_id = "dismiss_alert",
    security(("bearer" = [])),
    params(("alert_id" = String, Path, description = "The alert (`evt_…`).")),
    responses((status = NO_CONTENT, description = "The alert is dismissed.")),
    extensions(("x-problems" = json!([ProblemCode::NotFound]))),
)]
async fn dismiss(
    State(state): State<AppState>,
    Auth(session): Auth,
    IdPath(id): IdPath<EventId>,
) -> Result<StatusCode, ApiError> {
    state.alerts().dismiss(session.account_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sign the alerted device out (reason `remote`) and dismiss the alert.
#[utoipa::path(
    post, path = "/v1/alerts/{alert_id}/sign-out-device", tag = "alerts",
    operation_id = "sign_out_alerted_device",
    security(("bearer" = [])),
    params(("alert_id" = String, Path, description = "The alert (`evt_…`).")),
    responses((status = OK, description = "Whether the device was still signed in.", body = api::AlertDeviceSignedOut)),
    extensions(("x-problems" = json!([ProblemCode::NotFound]))),
)]
async fn sign_out_device(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Auth(session): Auth,
    IdPath(id): IdPath<EventId>,
) -> Result<Json<api::AlertDeviceSignedOut>, ApiError> {
    let signed_out = state
        .devices()
        .sign_out_alerted(id, Actor::device(&session, ip))
        .await?;
    Ok(Json(api::AlertDeviceSignedOut { signed_out }))
}
