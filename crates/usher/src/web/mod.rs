//! The account pages a platform's customers use: sign in, overview, manage
//! access and devices, profiles, change password. Server-rendered (askama), plain CSS,
//! a little JavaScript for live updates; every action is also a plain form
//! post. Routes and the DOM contract are in `docs/account-pages.md`.

mod activity;
mod alerts;
mod auth;
mod devices;
mod events;
mod forms;
mod layout;
mod overview;
mod password;
mod profiles;
mod sign_in;
mod sign_out_all;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::http::state::AppState;

pub fn router() -> Router<AppState> {
    let pages = Router::new()
        .route("/account", get(overview::page))
        .route("/account/sign-in", get(sign_in::page).post(sign_in::submit))
        .route("/account/sign-out", post(sign_in::sign_out))
        .route("/account/devices", get(devices::page))
        .route("/account/devices/list", get(devices::fragment))
        .route(
            "/account/devices/sign-out-all",
            get(sign_out_all::page).post(sign_out_all::submit),
        )
        .route(
            "/account/devices/{session_id}/sign-out",
            post(devices::sign_out),
        )
        .route(
            "/account/devices/{session_id}/rename",
            post(devices::rename),
        )
        .route("/account/streams/list", get(overview::streams))
        .route(
            "/account/streams/{stream_id}/stop",
            post(overview::stop_stream),
        )
        .route(
            "/account/password",
            get(password::page).post(password::submit),
        )
        .route("/account/activity", get(activity::page))
        .route("/account/alerts/{alert_id}/dismiss", post(alerts::dismiss))
        .route(
            "/account/alerts/{alert_id}/sign-out",
            post(alerts::sign_out_device),
        )
        .route("/account/profiles", get(profiles::page).post(profiles::add))
        .route("/account/profiles/settings", post(profiles::settings))
        .route(
            "/account/profiles/{profile_id}/rename",
            post(profiles::rename),
        )
        .route(
            "/account/profiles/{profile_id}/delete",
            post(profiles::delete),
        )
        .route(
            "/account/profiles/{profile_id}/pin",
            post(profiles::set_pin),
        )
        .route(
            "/account/profiles/{profile_id}/pin/remove",
            post(profiles::remove_pin),
        )
        .route("/account/events", get(events::stream))
        .route("/account/static/app.css", get(stylesheet))
        .route("/account/static/app.js", get(script))
        .route("/account/static/favicon.svg", get(favicon))
        .route("/favicon.ico", get(favicon))
        // A browser pointed at the server's address lands on the account pages.
        .route("/", get(to_account_pages))
        .route("/account/", get(to_account_pages));
    security_headers(pages)
}

async fn to_account_pages() -> Redirect {
    Redirect::to("/account")
}

/// Headers for every account page: no framing, no referrer, no inline
/// script or style, nothing cached (pages show personal data).
fn security_headers(router: Router<AppState>) -> Router<AppState> {
    let set = |name, value: &'static str| {
        SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
    };
    router
        .layer(set(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .layer(set(header::X_FRAME_OPTIONS, "DENY"))
        .layer(set(header::REFERRER_POLICY, "no-referrer"))
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

/// A file the pages load, cached by the browser for `max_age` seconds.
fn asset(content_type: &'static str, max_age: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, max_age),
        ],
        body,
    )
        .into_response()
}

async fn stylesheet() -> Response {
    let css = include_str!("../../static/app.css");
    asset("text/css; charset=utf-8", "public, max-age=300", css)
}

async fn script() -> Response {
    let js = include_str!("../../static/app.js");
    asset("text/javascript; charset=utf-8", "public, max-age=300", js)
}

/// The icon browsers ask for at `/favicon.ico` and the pages link to.
async fn favicon() -> Response {
    let svg = include_str!("../../static/favicon.svg");
    asset("image/svg+xml", "public, max-age=86400", svg)
}
