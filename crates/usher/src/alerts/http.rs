//! `/v1/alerts…`: open sign-in alerts, dismissing one, signing its device out.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use usher_api as api;

use super::views::alert_list;
use crate::domain::EventId;
use crate::http::error::ApiError;
use crate::http::extract::{Auth, ClientIp, IdPath, Json};
use crate::http::state::AppState;
use crate::sessions::Actor;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/alerts", get(list))
        .route("/v1/alerts/{alert_id}/dismiss", post(dismiss))
        .route(
            "/v1/alerts/{alert_id}/sign-out-device",
            post(sign_out_device),
        )
}

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

async fn dismiss(
    State(state): State<AppState>,
    Auth(session): Auth,
    IdPath(id): IdPath<EventId>,
) -> Result<StatusCode, ApiError> {
    state.alerts().dismiss(session.account_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

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
