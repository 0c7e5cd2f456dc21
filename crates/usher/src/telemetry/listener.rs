//! The metrics listener: `GET /metrics` and nothing else, on its own
//! address (`metrics_listen`), so the public listener never shows it.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use usher_api::ProblemCode;

use super::scrape::Scrape;
use crate::geo::Geo;
use crate::http::error::ApiError;
use crate::http::settings::HttpConfig;

/// Prometheus's text exposition format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Connections the metrics listener holds at once: a few scrapers.
const MAX_CONNECTIONS: usize = 32;

/// `GET /metrics`; any other path or method is a problem+json 404 or 405.
pub fn router(scrape: Arc<Scrape>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(scrape)
}

/// Serves [`router`] on `listener` until `shutdown`, with the public
/// listener's timeouts and a small connection cap of its own.
pub async fn serve(
    listener: TcpListener,
    scrape: Arc<Scrape>,
    http: &HttpConfig,
    geo: Arc<Geo>,
    shutdown: CancellationToken,
) {
    let settings = HttpConfig {
        max_connections: Some(MAX_CONNECTIONS),
        max_connections_per_address: MAX_CONNECTIONS,
        ..http.clone()
    };
    crate::http::serve::serve(listener, router(scrape), &settings, geo, shutdown).await;
}

async fn metrics(State(scrape): State<Arc<Scrape>>) -> Response {
    let body = scrape.render().await;
    ([(header::CONTENT_TYPE, TEXT_FORMAT)], body).into_response()
}

async fn not_found() -> ApiError {
    ApiError::not_found().detail("The metrics listener serves only GET /metrics.")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(ProblemCode::MethodNotAllowed, "Method not allowed")
}
