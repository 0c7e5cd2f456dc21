//! The HTTP layer: routes of every resource, shared middleware, health.

pub mod error;
pub mod extract;
pub mod forwarded;
pub mod openapi;
pub mod serve;
pub mod settings;
pub mod state;
pub mod strict_json;
pub mod wire;

use std::any::Any;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use error::ApiError;
use state::AppState;
use usher_api::{self as api, ProblemCode};

/// How long a readiness probe waits for the dependencies (asked together).
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// The whole API, without a socket: tests can drive it directly.
pub fn router(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    let (api, document) = api().split_for_parts();
    api.merge(openapi::route(&openapi::finish(document)))
        .merge(crate::web::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(CatchPanicLayer::custom(panic_to_problem))
        .with_state(state)
}

/// The routes of the API (`/v1`) and of the service (health, keys), each
/// registered with `routes!`, which adds it to the OpenAPI document too:
/// no route of these is served undocumented. The account pages (`web`)
/// are not part of the API.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(crate::accounts::http::router())
        .merge(crate::activity::http::router())
        .merge(crate::alerts::http::router())
        .merge(crate::sessions::http::router())
        .merge(crate::devices::http::router())
        .merge(crate::streams::http::router())
        .merge(crate::profiles::http::router())
        .merge(crate::live::socket::router())
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(jwks))
}

/// The OpenAPI document of [`api`], as `GET /openapi.json` serves it.
pub fn document() -> serde_json::Value {
    openapi::finish(api().split_for_parts().1)
}

/// Liveness: the process runs.
#[utoipa::path(
    get, path = "/healthz", tag = "service", operation_id = "healthz",
    responses((status = OK, description = "The process runs.", body = api::Health)),
)]
async fn healthz() -> impl IntoResponse {
    axum::Json(api::Health {
        status: "ok".to_owned(),
    })
}

/// Ready while this node can show it has seen every recent revocation
/// (`fresh`): a load balancer drains a node that cannot, and sends it
/// traffic again once it has caught up. A store or bus outage alone does
/// not drain nodes (a fresh node still checks sessions; what needs the
/// database answers `503 unavailable`); `store` and `bus` say which is down.
/// With the guard off, ready means both answer.
#[utoipa::path(
    get, path = "/readyz", tag = "service", operation_id = "readyz",
    responses(
        (status = OK, description = "Ready: this node can check sessions.", body = api::Readiness),
        (status = SERVICE_UNAVAILABLE, description = "Not ready: drain this node.", body = api::Readiness),
    ),
)]
async fn readyz(State(state): State<AppState>) -> Response {
    // All at once, and a dependency that went silent is as good as down:
    // a load balancer's health check gets its answer within a second.
    let freshness = state.sessions().freshness();
    let (store, bus, fresh) = tokio::join!(
        tokio::time::timeout(PROBE_TIMEOUT, state.store.ping()),
        tokio::time::timeout(PROBE_TIMEOUT, state.bus.ready()),
        freshness.ensure_fresh(),
    );
    let store = store.is_ok_and(|ping| ping.is_ok());
    let bus = bus.unwrap_or(false);
    let fresh = fresh.is_ok();
    let ready = if freshness.enabled() {
        fresh
    } else {
        store && bus
    };
    let body = axum::Json(api::Readiness {
        status: if ready { "ready" } else { "not_ready" }.to_owned(),
        store,
        bus,
        fresh,
        proven_ms_ago: freshness.proven_at().map(|at| state.now() - at),
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, body).into_response()
}

/// The public keys access tokens are signed with (RFC 7517).
#[utoipa::path(
    get, path = "/.well-known/jwks.json", tag = "service", operation_id = "jwks",
    responses((status = OK, description = "The current and retiring keys.", body = api::Jwks)),
)]
async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    axum::Json(state.sessions().jwks())
}

async fn not_found() -> ApiError {
    ApiError::not_found().detail("There is nothing at this path.")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(ProblemCode::MethodNotAllowed, "Method not allowed")
}

fn panic_to_problem(_: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::new(ProblemCode::Internal, "Internal error").into_response()
}
