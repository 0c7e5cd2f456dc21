//! `/v1/streams…`: take a slot, heartbeat, stop (own or remote), list.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::Router;
use usher_api as api;

use super::views::stream_list;
use crate::domain::{ProfileId, StreamId, StreamTitle};
use crate::error::Error;
use crate::http::error::ApiError;
use crate::http::extract::{Auth, IdPath, Json};
use crate::http::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/streams", post(start).get(list))
        .route("/v1/streams/{stream_id}", delete(stop))
        .route("/v1/streams/{stream_id}/heartbeat", post(heartbeat))
}

async fn start(
    State(state): State<AppState>,
    Auth(session): Auth,
    Json(body): Json<api::StartStream>,
) -> Result<(StatusCode, Json<api::Lease>), ApiError> {
    let title = StreamTitle::parse(&body.title).map_err(Error::from)?;
    // The id is text on the wire, so a malformed one is answered like
    // another account's: it names no profile of this account.
    let profile = body
        .profile_id
        .map(|id| id.parse::<ProfileId>().map_err(|_| Error::UnknownProfile))
        .transpose()?;
    let lease = state.streams().start(&session, title, profile).await?;
    Ok((StatusCode::CREATED, Json(lease.into())))
}

async fn heartbeat(
    State(state): State<AppState>,
    Auth(session): Auth,
    IdPath(id): IdPath<StreamId>,
) -> Result<Json<api::Lease>, ApiError> {
    Ok(Json(state.streams().heartbeat(&session, id).await?.into()))
}

async fn stop(
    State(state): State<AppState>,
    Auth(session): Auth,
    IdPath(id): IdPath<StreamId>,
) -> Result<StatusCode, ApiError> {
    state.streams().stop(&session, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list(
    State(state): State<AppState>,
    Auth(session): Auth,
) -> Result<Json<api::StreamList>, ApiError> {
    let streams = state.streams().active(session.account_id).await?;
    Ok(Json(stream_list(streams)))
}
