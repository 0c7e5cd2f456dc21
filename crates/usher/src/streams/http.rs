//! `/v1/streams…`: take a slot, heartbeat, stop (own or remote), list.

use axum::extract::State;
use axum::http::StatusCode;
use usher_api::{self as api, ProblemCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::views::stream_list;
use crate::domain::{ProfileId, StreamId, StreamTitle};
use crate::error::Error;
use crate::http::error::ApiError;
use crate::http::extract::{Auth, IdPath, Json};
use crate::http::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start, list))
        .routes(routes!(stop))
        .routes(routes!(heartbeat))
}

/// Take a stream slot (replacing this device's previous stream).
#[utoipa::path(
    post, path = "/v1/streams", tag = "streams", operation_id = "start_stream",
    security(("bearer" = [])),
    request_body = api::StartStream,
    responses((status = CREATED, description = "The slot is held.", body = api::Lease)),
    extensions(("x-problems" = json!([
        ProblemCode::TooManyStreams, ProblemCode::ProfileRequired, ProblemCode::PinRequired,
        ProblemCode::InvalidTitle, ProblemCode::UnknownProfile,
    ]))),
)]
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

/// Keep the slot.
#[utoipa::path(
    post, path = "/v1/streams/{stream_id}/heartbeat", tag = "streams", operation_id = "heartbeat_stream",
    security(("bearer" = [])),
    params(("stream_id" = String, Path, description = "This device's stream (`str_…`).")),
    responses((status = OK, description = "The lease, with its new expiry.", body = api::Lease)),
    extensions(("x-problems" = json!([ProblemCode::NotFound, ProblemCode::StreamEnded]))),
)]
async fn heartbeat(
    State(state): State<AppState>,
    Auth(session): Auth,
    IdPath(id): IdPath<StreamId>,
) -> Result<Json<api::Lease>, ApiError> {
    Ok(Json(state.streams().heartbeat(&session, id).await?.into()))
}

/// Stop a stream: this device's own, or remotely any of the account's.
#[utoipa::path(
    delete, path = "/v1/streams/{stream_id}", tag = "streams", operation_id = "stop_stream",
    security(("bearer" = [])),
    params(("stream_id" = String, Path, description = "A stream of the account (`str_…`).")),
    responses((status = NO_CONTENT, description = "The stream is stopped.")),
    extensions(("x-problems" = json!([ProblemCode::NotFound]))),
)]
async fn stop(
    State(state): State<AppState>,
    Auth(session): Auth,
    IdPath(id): IdPath<StreamId>,
) -> Result<StatusCode, ApiError> {
    state.streams().stop(&session, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The account's streams that hold a slot now.
#[utoipa::path(
    get, path = "/v1/streams", tag = "streams", operation_id = "list_streams",
    security(("bearer" = [])),
    responses((status = OK, description = "The active streams.", body = api::StreamList)),
)]
async fn list(
    State(state): State<AppState>,
    Auth(session): Auth,
) -> Result<Json<api::StreamList>, ApiError> {
    let streams = state.streams().active(session.account_id).await?;
    Ok(Json(stream_list(streams)))
}
