//! The OpenAPI 3.1 document, served at `GET /openapi.json`.
//!
//! Nothing in it is written by hand: each route is registered with
//! utoipa-axum's `routes!`, which takes its path, method, parameters and
//! bodies from the handler's `#[utoipa::path]`, and the bodies' schemas are
//! the `usher-api` wire types the handlers answer with. [`problems`] then
//! adds the problem+json answers: the codes a handler lists itself
//! (`x-problems`) and those every route of its kind can give; [`details`]
//! gives each kind of activity event the shape of its `detail`.

mod details;
mod problems;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use serde_json::Value;
use usher_api as api;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use details::DetailSchemas;
pub use problems::PROBLEMS_EXTENSION;

/// What the routes do not say themselves: the API's description, its
/// security schemes, and the schemas no HTTP body carries (the live
/// channel's frames and close codes, every problem code).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "usher",
        description = "Account sessions and devices for subscription streaming platforms. \
            Every error is `application/problem+json` with a stable `code`; \
            each operation lists the codes it can answer with under their status. \
            The live channel (`GET /v1/live`) is a WebSocket whose text frames are `LiveEvent`s \
            and whose close codes are `LiveCloseCode`s.",
    ),
    paths(openapi_json),
    components(schemas(
        api::Problem,
        api::ProblemCode,
        api::LiveEvent,
        api::LiveCloseCode,
        api::SignOutReason,
        api::StreamEndReason,
        api::ActivityKind,
        api::DeviceType,
    )),
    modifiers(&SecuritySchemes, &DetailSchemas),
    tags(
        (name = "accounts", description = "Sign-up, the account, its password."),
        (name = "sessions", description = "Signing a device in, its tokens, its profile."),
        (name = "devices", description = "The account's signed-in devices."),
        (name = "streams", description = "Stream slots: taking, keeping, stopping them."),
        (name = "profiles", description = "Profiles and their PIN locks."),
        (name = "activity", description = "The account's history."),
        (name = "alerts", description = "Unusual sign-ins and wrong passwords."),
        (name = "live", description = "The device's live channel (WebSocket)."),
        (name = "service", description = "Health, readiness, signing keys, this document."),
    ),
)]
pub struct ApiDoc;

/// The two ways a device authenticates: its access token as a bearer
/// token, or (a browser's live channel) inside a WebSocket subprotocol.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The `access_token` of `POST /v1/sessions` (an EdDSA JWT, 15 minutes): \
                         `Authorization: Bearer <access token>`. Verify it locally with \
                         `/.well-known/jwks.json`, or ask `GET /v1/sessions/current`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "live_subprotocol",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Sec-WebSocket-Protocol",
                &format!(
                    "`GET /v1/live` only, for browsers (which cannot set headers on a \
                     WebSocket): offer the subprotocols `{}` and `{}<access token>`; \
                     the server selects `{}`.",
                    api::SUBPROTOCOL,
                    api::BEARER_SUBPROTOCOL_PREFIX,
                    api::SUBPROTOCOL
                ),
            ))),
        );
    }
}

/// The finished document: the routes' operations with every problem answer.
pub fn finish(document: utoipa::openapi::OpenApi) -> Value {
    let document = serde_json::to_value(document).unwrap_or_default();
    details::add_details(problems::add_problems(document))
}

/// `GET /openapi.json`, answering with `document` serialized once, here.
pub fn route<S: Clone + Send + Sync + 'static>(document: &Value) -> Router<S> {
    let bytes = Bytes::from(serde_json::to_vec(document).unwrap_or_default());
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .with_state(Document(bytes))
}

#[derive(Clone)]
struct Document(Bytes);

/// This document (OpenAPI 3.1).
#[utoipa::path(
    get, path = "/openapi.json", tag = "service", operation_id = "openapi",
    responses((status = OK, description = "The OpenAPI document of this API.", body = Object)),
)]
async fn openapi_json(State(Document(bytes)): State<Document>) -> Response {
    let mut response = bytes.into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
