//! `/v1/alerts…`: open sign-in alerts, dismissing one, signing its device out.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;

use super::views::AlertView;
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

#[derive(Serialize)]
struct AlertList {
    alerts: Vec<AlertView>,
}

async fn list(
    State(state): State<AppState>,
    Auth(session): Auth,
) -> Result<Json<AlertList>, ApiError> {
    let open = state
        .alerts()
        .open(session.account_id, |id| {
            state.sessions().may_be_signed_in(id)
        })
        .await?;
    Ok(Json(AlertList {
        alerts: open.into_iter().map(Into::into).collect(),
    }))
}

async fn dismiss(
    State(state): State<AppState>,
    Auth(session): Auth,
    IdPath(id): IdPath<EventId>,
) -> Result<StatusCode, ApiError> {
    state.alerts().dismiss(session.account_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
struct SignedOut {
    signed_out: bool,
}

async fn sign_out_device(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Auth(session): Auth,
    IdPath(id): IdPath<EventId>,
) -> Result<Json<SignedOut>, ApiError> {
    let signed_out = state
        .devices()
        .sign_out_alerted(id, Actor::device(&session, ip))
        .await?;
    Ok(Json(SignedOut { signed_out }))
}
