//! `/v1/streams…`: take a slot, heartbeat, stop (own or remote), list.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::Router;
use serde::Deserialize;

use crate::domain::StreamId;
use crate::http::error::ApiError;
use crate::http::extract::{Auth, Json};
use crate::http::AppState;
use crate::streams::service::Lease;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/streams", post(start).get(list))
        .route("/v1/streams/{stream_id}", delete(stop))
        .route("/v1/streams/{stream_id}/heartbeat", post(heartbeat))
}

/// A stream id from the path; a malformed one is simply not found.
struct StreamPath(StreamId);

impl<S: Send + Sync> FromRequestParts<S> for StreamPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await?;
        raw.parse()
            .map(StreamPath)
            .map_err(|_| ApiError::not_found())
    }
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
    StreamPath(id): StreamPath,
) -> Result<Json<Lease>, ApiError> {
    Ok(Json(state.usher.heartbeat(&session, id).await?))
}

async fn stop(
    State(state): State<AppState>,
    Auth(session): Auth,
    StreamPath(id): StreamPath,
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
