//! `GET /v1/activity`: the account's history, newest first.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::service::MAX_PAGE;
use super::views::ActivityPageView;
use super::ActivityFilter;
use crate::domain::{ActivityKind, EventId};
use crate::error::Error;
use crate::http::error::ApiError;
use crate::http::extract::{Auth, Json, Query};
use crate::http::state::AppState;

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
) -> Result<Json<ActivityPageView>, ApiError> {
    let filter = parse_filter(
        params.limit.as_deref(),
        params.before.as_deref(),
        params.kind.as_deref(),
    )?;
    let page = state.activity().page(session.account_id, filter).await?;
    Ok(Json(page.into()))
}

fn invalid(code: &'static str, detail: impl Into<String>) -> Error {
    Error::InvalidParameter {
        code,
        detail: detail.into(),
    }
}

/// Parses a page request: `limit` (1 to [`MAX_PAGE`]), `before` (a `next`
/// cursor) and `kind` (comma-separated kinds); empty values mean "not given".
pub fn parse_filter(
    limit: Option<&str>,
    before: Option<&str>,
    kind: Option<&str>,
) -> Result<ActivityFilter, Error> {
    let mut filter = ActivityFilter::default();
    if let Some(raw) = limit.filter(|l| !l.is_empty()) {
        filter.limit = raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| invalid("invalid_limit", format!("limit must be 1 to {MAX_PAGE}.")))?;
    }
    if let Some(raw) = before.filter(|b| !b.is_empty()) {
        filter.before = Some(raw.parse::<EventId>().map_err(|_| {
            invalid(
                "invalid_cursor",
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
            .map_err(|e| invalid("invalid_kind", e.to_string()))?;
        if !filter.kinds.contains(&kind) {
            filter.kinds.push(kind);
        }
    }
    Ok(filter)
}
