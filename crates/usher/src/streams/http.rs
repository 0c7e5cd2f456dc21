//! `/v1/streams…`: take a slot, heartbeat, stop (own or remote), list.

use axum::extract::State;

use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::Router;
use serde::Deserialize;

use crate::domain::StreamId;
use crate::http::error::ApiError;
use crate::http::extract::{Auth, IdPath, Json};
use crate::http::AppState;
use crate::streams::service::Lease;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/streams", post(start).get(list))
        .route("/v1/streams/{stream_id}", delete(stop))
        .route("/v1/streams/{stream_id}/heartbeat", post(heartbeat))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Start {
    title: String,
    profile_id: Option<String>,
}

async fn start(
    State(state): State<AppState>,
    Auth(session): Auth,
    Json(body): Json<Start>,
) -> Result<(StatusCode, Json<Lease>), ApiError> {
    let lease = state
        .usher
        .start_stream(&session, &body.title, body.profile_id)
        .await?;
    Ok((StatusCode::CREATED, Json(lease)))
}

async fn heartbeat(
    State(state): State<AppState>,
    Auth(session): Auth,
    IdPath(id): IdPath<StreamId>,
) -> Result<Json<Lease>, ApiError> {
    Ok(Json(state.usher.heartbeat(&session, id).await?))
}

async fn stop(
    State(state): State<AppState>,
    Auth(session): Auth,
    IdPath(id): IdPath<StreamId>,
) -> Result<StatusCode, ApiError> {
    state.usher.stop_stream(&session, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list(
    State(state): State<AppState>,
    Auth(session): Auth,
) -> Result<Json<serde_json::Value>, ApiError> {
    let streams = state.usher.active_streams(session.account_id).await?;
    Ok(Json(serde_json::json!({ "streams": streams })))
}
