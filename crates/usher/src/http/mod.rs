//! The HTTP layer: routes of every resource, shared middleware, health.

pub mod error;
pub mod extract;
pub mod forwarded;
pub mod serve;
pub mod settings;
pub mod state;
pub mod strict_json;
pub mod wire;

use std::any::Any;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;

use error::ApiError;
use state::AppState;
use usher_api::ProblemCode;

/// How long a readiness probe waits for the dependencies (asked together).
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// The whole API, without a socket: tests can drive it directly.
pub fn router(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    Router::new()
        .merge(crate::accounts::http::router())
        .merge(crate::activity::http::router())
        .merge(crate::alerts::http::router())
        .merge(crate::sessions::http::router())
        .merge(crate::devices::http::router())
        .merge(crate::streams::http::router())
        .merge(crate::profiles::http::router())
        .merge(crate::live::socket::router())
        .merge(crate::web::router())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/.well-known/jwks.json", get(jwks))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(CatchPanicLayer::custom(panic_to_problem))
        .with_state(state)
}

async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

/// Ready while this node can show it has seen every recent revocation
/// (`fresh`): a load balancer drains a node that cannot, and sends it
/// traffic again once it has caught up. A store or bus outage alone does
/// not drain nodes (a fresh node still checks sessions; what needs the
/// database answers `503 unavailable`); `store` and `bus` say which is down.
/// With the guard off, ready means both answer.
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
    let body = axum::Json(serde_json::json!({
        "status": if ready { "ready" } else { "not_ready" },
        "store": store,
        "bus": bus,
        "fresh": fresh,
        "proven_ms_ago": freshness.proven_at().map(|at| state.now() - at),
    }));
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, body).into_response()
}

async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    axum::Json(state.sessions().jwks())
}

async fn not_found() -> ApiError {
    ApiError::not_found().detail("There is nothing at this path.")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ProblemCode::MethodNotAllowed,
        "Method not allowed",
    )
}

fn panic_to_problem(_: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        ProblemCode::Internal,
        "Internal error",
    )
    .into_response()
}
