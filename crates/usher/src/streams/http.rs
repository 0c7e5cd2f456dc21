//! `/v1/streams…`: take a slot, heartbeat, stop (own or remote), list.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::Router;
use serde::Deserialize;

use super::views::{LeaseView, StreamList};
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Start {
    title: String,
    /// Text, so a malformed id is answered like another account's profile.
    profile_id: Option<String>,
}

async fn start(
    State(state): State<AppState>,
    Auth(session): Auth,
    Json(body): Json<Start>,
) -> Result<(StatusCode, Json<LeaseView>), ApiError> {
    let title = StreamTitle::parse(&body.title).map_err(Error::from)?;
    // A malformed id names no profile of this account.
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
) -> Result<Json<LeaseView>, ApiError> {
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
) -> Result<Json<StreamList>, ApiError> {
    let streams = state.streams().active(session.account_id).await?;
    Ok(Json(StreamList {
        streams: streams.into_iter().map(Into::into).collect(),
    }))
}
