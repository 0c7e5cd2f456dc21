//! `GET /v1/activity`: the account's history, newest first.

use axum::extract::State;
use usher_api as api;
use usher_api::ProblemCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::MAX_PAGE;
use super::views::Detail;
use super::ActivityFilter;
use crate::domain::{ActivityKind, EventId};
use crate::error::Error;
use crate::http::error::ApiError;
use crate::http::extract::{Auth, Json, Query};
use crate::http::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

/// The account's activity history, newest first.
#[utoipa::path(
    get, path = "/v1/activity", tag = "activity", operation_id = "list_activity",
    security(("bearer" = [])),
    params(api::ActivityParams),
    responses((status = OK, description = "A page of events.", body = api::ActivityPage)),
    extensions(("x-problems" = json!([
        ProblemCode::InvalidLimit, ProblemCode::InvalidCursor, ProblemCode::InvalidKind,
    ]))),
)]
async fn list(
    State(state): State<AppState>,
    Auth(session): Auth,
    // `limit` as text, so a bad value gets its own `code` rather than a
    // generic query rejection.
    Query(params): Query<api::ActivityParams<String>>,
) -> Result<Json<api::ActivityPage<Detail>>, ApiError> {
    let filter = parse_filter(
        params.limit.as_deref(),
        params.before.as_deref(),
        params.kind.as_deref(),
    )?;
    let page = state.activity().page(session.account_id, filter).await?;
    Ok(Json(page.into()))
}

fn invalid(code: ProblemCode, detail: impl Into<String>) -> Error {
    Error::InvalidParameter {
        code,
        detail: detail.into(),
    }
}

/// Parses a page request: `limit` (1 to [`MAX_PAGE`]), `before` (a `next`
/// cursor) and `kind` (comma-separated kinds). An empty `before` or `kind`
/// means "not given", as the account pages' forms send them; a `limit`
/// that is given is a number (no form sends one, and the API document says so).
pub fn parse_filter(
    limit: Option<&str>,
    before: Option<&str>,
    kind: Option<&str>,
) -> Result<ActivityFilter, Error> {
    let mut filter = ActivityFilter::default();
    if let Some(raw) = limit {
        filter.limit = raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| {
                invalid(
                    ProblemCode::InvalidLimit,
                    format!("limit must be 1 to {MAX_PAGE}."),
                )
            })?;
    }
    if let Some(raw) = before.filter(|b| !b.is_empty()) {
        filter.before = Some(raw.parse::<EventId>().map_err(|_| {
            invalid(
                ProblemCode::InvalidCursor,
                "before must be a `next` value from an earlier page.",
            )
        })?);
    }
    for name in kind.into_iter().flat_map(|k| k.split(',')) {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        let kind = name
            .parse::<ActivityKind>()
            .map_err(|e| invalid(ProblemCode::InvalidKind, e.to_string()))?;
        if !filter.kinds.contains(&kind) {
            filter.kinds.push(kind);
        }
    }
    Ok(filter)
}
