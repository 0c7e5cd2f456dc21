//! The pages (GET).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;

use super::auth::{Browser, SESSION_COOKIE, SIGN_IN_CSRF_COOKIE};
use super::views::{error_page, notice_text, render, DeviceRow, StreamRow};
use crate::http::AppState;
use crate::streams::service::ActiveStreamView;

#[derive(Deserialize, Default)]
pub struct Notice {
    notice: Option<String>,
}

impl Notice {
    pub fn text(&self) -> Option<&'static str> {
        self.notice.as_deref().and_then(notice_text)
    }
}

#[derive(Template)]
#[template(path = "sign_in.html")]
pub struct SignInPage<'a> {
    pub notice: Option<&'static str>,
    pub error: Option<&'a str>,
    pub email: &'a str,
    pub csrf: &'a str,
}

/// The sign-in form. Sets a fresh pre-sign-in CSRF cookie that the form echoes.
pub async fn sign_in_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(notice): Query<Notice>,
) -> Response {
    if let Some(cookie) = jar.get(SESSION_COOKIE) {
        if state
            .usher
            .authenticate_browser(cookie.value(), None)
            .await
            .is_ok()
        {
            return super::auth::see_other("/account/devices", &[]);
        }
    }
    sign_in_form(&state, StatusCode::OK, notice.text(), None, "")
}

/// Renders the sign-in form with a new pre-sign-in CSRF value.
pub fn sign_in_form(
    state: &AppState,
    status: StatusCode,
    notice: Option<&'static str>,
    error: Option<&str>,
    email: &str,
) -> Response {
    let csrf = uuid::Uuid::new_v4().simple().to_string();
    let cookie = Cookie::build((SIGN_IN_CSRF_COOKIE, csrf.clone()))
        .path("/account")
        .http_only(true)
        .secure(state.usher.config.web.secure_cookies)
        .same_site(SameSite::Strict)
        .build();
    let mut response = render(
        status,
        &SignInPage {
            notice,
            error,
            email,
            csrf: &csrf,
        },
    );
    if let Ok(value) = cookie.to_string().parse() {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

#[derive(Template)]
#[template(path = "overview.html")]
pub struct OverviewPage {
    pub notice: Option<&'static str>,
    pub csrf: String,
    pub active: &'static str,
    pub email: String,
    pub plan: String,
    pub max_streams: u32,
    pub devices_signed_in: u32,
    pub streams: Vec<StreamRow>,
    pub alerts: Vec<super::activity::AlertBanner>,
}

pub async fn overview(
    State(state): State<AppState>,
    browser: Browser,
    Query(notice): Query<Notice>,
) -> Response {
    let account = match state
        .usher
        .account_overview(browser.session.account_id)
        .await
    {
        Ok(account) => account,
        Err(e) => return error_page(e),
    };
    let streams = stream_rows(&state, account.active_streams);
    let alerts = super::activity::banners(&state, &browser).await;
    render(
        StatusCode::OK,
        &OverviewPage {
            notice: notice.text(),
            csrf: browser.csrf,
            active: "overview",
            email: account.email,
            plan: account.plan.name,
            max_streams: account.plan.max_streams,
            devices_signed_in: account.devices_signed_in,
            streams,
            alerts,
        },
    )
}

fn stream_rows(state: &AppState, streams: Vec<ActiveStreamView>) -> Vec<StreamRow> {
    let now = state.usher.clock.now();
    streams
        .into_iter()
        .map(|s| StreamRow::new(s, now))
        .collect()
}

#[derive(Template)]
#[template(path = "streams_list.html")]
pub struct StreamsFragment {
    pub csrf: String,
    pub streams: Vec<StreamRow>,
    pub max_streams: u32,
}

/// The overview's stream list alone, for live refresh.
pub async fn streams_fragment(State(state): State<AppState>, browser: Browser) -> Response {
    match state
        .usher
        .account_overview(browser.session.account_id)
        .await
    {
        Ok(account) => render(
            StatusCode::OK,
            &StreamsFragment {
                csrf: browser.csrf,
                max_streams: account.plan.max_streams,
                streams: stream_rows(&state, account.active_streams),
            },
        ),
        Err(e) => error_page(e),
    }
}

#[derive(Template)]
#[template(path = "devices.html")]
pub struct DevicesPage {
    pub notice: Option<&'static str>,
    pub csrf: String,
    pub active: &'static str,
    pub devices: Vec<DeviceRow>,
}

#[derive(Template)]
#[template(path = "devices_list.html")]
pub struct DevicesFragment {
    pub csrf: String,
    pub devices: Vec<DeviceRow>,
}

async fn device_rows(state: &AppState, browser: &Browser) -> Result<Vec<DeviceRow>, Response> {
    let now = state.usher.clock.now();
    match state
        .usher
        .devices(browser.session.account_id, browser.session.id)
        .await
    {
        Ok(mut devices) => {
            // This browser first: the row people look for, and never below the fold.
            devices.sort_by_key(|d| !d.current);
            Ok(devices
                .into_iter()
                .map(|d| DeviceRow::new(d, now))
                .collect())
        }
        Err(e) => Err(error_page(e)),
    }
}

pub async fn devices(
    State(state): State<AppState>,
    browser: Browser,
    Query(notice): Query<Notice>,
) -> Response {
    match device_rows(&state, &browser).await {
        Ok(devices) => render(
            StatusCode::OK,
            &DevicesPage {
                notice: notice.text(),
                csrf: browser.csrf,
                active: "devices",
                devices,
            },
        ),
        Err(response) => response,
    }
}

/// The device list alone, for live refresh.
pub async fn devices_fragment(State(state): State<AppState>, browser: Browser) -> Response {
    match device_rows(&state, &browser).await {
        Ok(devices) => render(
            StatusCode::OK,
            &DevicesFragment {
                csrf: browser.csrf,
                devices,
            },
        ),
        Err(response) => response,
    }
}

#[derive(Template)]
#[template(path = "sign_out_all.html")]
pub struct SignOutAllPage {
    pub notice: Option<&'static str>,
    pub csrf: String,
    pub active: &'static str,
    pub others: usize,
}

pub async fn sign_out_all_page(State(state): State<AppState>, browser: Browser) -> Response {
    match device_rows(&state, &browser).await {
        Ok(devices) => render(
            StatusCode::OK,
            &SignOutAllPage {
                notice: None,
                csrf: browser.csrf,
                active: "devices",
                others: devices.iter().filter(|d| !d.view.current).count(),
            },
        ),
        Err(response) => response,
    }
}

#[derive(Template)]
#[template(path = "password.html")]
pub struct PasswordPage<'a> {
    pub notice: Option<&'static str>,
    pub error: Option<&'a str>,
    pub csrf: String,
    pub active: &'static str,
}

pub async fn password_page(browser: Browser, Query(notice): Query<Notice>) -> Response {
    password_form(browser, StatusCode::OK, notice.text(), None)
}

pub fn password_form(
    browser: Browser,
    status: StatusCode,
    notice: Option<&'static str>,
    error: Option<&str>,
) -> Response {
    render(
        status,
        &PasswordPage {
            notice,
            error,
            csrf: browser.csrf,
            active: "password",
        },
    )
}
