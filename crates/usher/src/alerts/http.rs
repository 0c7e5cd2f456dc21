//! `/v1/alerts…`: open sign-in alerts, dismissing one, signing its device out.

use axum::extract::State;

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;

use super::AlertView;
use crate::domain::EventId;
use crate::http::error::ApiError;
use crate::http::extract::{Auth, ClientIp, IdPath, Json};
use crate::http::AppState;

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
) -> Result<Json<serde_json::Value>, ApiError> {
    let alerts: Vec<AlertView> = state.usher.open_alerts(session.account_id).await?;
    Ok(Json(serde_json::json!({ "alerts": alerts })))
}

async fn dismiss(
    State(state): State<AppState>,
    Auth(session): Auth,
    IdPath(id): IdPath<EventId>,
) -> Result<StatusCode, ApiError> {
    state.usher.dismiss_alert(session.account_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn sign_out_device(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Auth(session): Auth,
    IdPath(id): IdPath<EventId>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let signed_out = state
        .usher
        .sign_out_alerted_device(&session, id, ip)
        .await?;
    Ok(Json(serde_json::json!({ "signed_out": signed_out })))
}
