//! The account pages a platform's customers use: sign in, overview, manage
//! access and devices, profiles, change password. Server-rendered (askama), plain CSS,
//! a little JavaScript for live updates; every action is also a plain form
//! post. Routes and the DOM contract are in `docs/account-pages.md`.

mod activity;
mod auth;
mod events;
mod forms;
mod pages;
mod profiles;
mod views;

use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::http::AppState;

pub fn router() -> Router<AppState> {
    let pages = Router::new()
        .route("/account", get(pages::overview))
        .route(
            "/account/sign-in",
            get(pages::sign_in_page).post(forms::sign_in),
        )
        .route("/account/sign-out", post(forms::sign_out))
        .route("/account/devices", get(pages::devices))
        .route("/account/devices/list", get(pages::devices_fragment))
        .route(
            "/account/devices/sign-out-all",
            get(pages::sign_out_all_page).post(forms::sign_out_all),
        )
        .route(
            "/account/devices/{session_id}/sign-out",
            post(forms::sign_out_device),
        )
        .route(
            "/account/devices/{session_id}/rename",
            post(forms::rename_device),
        )
        .route("/account/streams/list", get(pages::streams_fragment))
        .route(
            "/account/streams/{stream_id}/stop",
            post(forms::stop_stream),
        )
        .route(
            "/account/password",
            get(pages::password_page).post(forms::change_password),
        )
        .route("/account/activity", get(activity::page))
        .route(
            "/account/alerts/{alert_id}/dismiss",
            post(activity::dismiss),
        )
        .route(
            "/account/alerts/{alert_id}/sign-out",
            post(activity::sign_out_device),
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
        .route("/account/static/app.js", get(script));
    security_headers(pages)
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

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        include_str!("../../static/app.css"),
    )
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        include_str!("../../static/app.js"),
    )
}
