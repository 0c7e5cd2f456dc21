//! `GET /v1/activity`: the account's history, newest first.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::service::{ActivityPage, PageRequest};
use crate::http::error::ApiError;
use crate::http::extract::{Auth, Json, Query};
use crate::http::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/activity", get(list))
}

/// Kept as text so a bad value gets its own `code` rather than a generic
/// query rejection.
#[derive(Deserialize)]
struct Params {
    limit: Option<String>,
    before: Option<String>,
    kind: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    Auth(session): Auth,
    Query(params): Query<Params>,
) -> Result<Json<ActivityPage>, ApiError> {
    let request = PageRequest {
        limit: params.limit,
        before: params.before,
        kind: params.kind,
    };
    Ok(Json(
        state
            .usher
            .activity_page(session.account_id, &request)
            .await?,
    ))
}
