//! `/account/devices/sign-out-all`: signing out every other device (or
//! every device, this browser too).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::auth::{see_other, to_sign_in, Browser, CheckedForm};
use super::devices::devices_of;
use super::layout::{error_page, render, Frame};
use crate::http::state::AppState;

#[derive(Template)]
#[template(path = "sign_out_all.html")]
pub struct SignOutAllPage {
    pub frame: Frame,
    pub others: usize,
}

pub async fn page(State(state): State<AppState>, browser: Browser) -> Response {
    match devices_of(&state, &browser).await {
        Ok(devices) => render(
            StatusCode::OK,
            &SignOutAllPage {
                frame: Frame::page(browser.csrf, "devices", None),
                others: devices.iter().filter(|d| !d.current).count(),
            },
        ),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
pub struct SignOutAllForm {
    include_current: Option<String>,
}

pub async fn submit(
    State(state): State<AppState>,
    CheckedForm { browser, form }: CheckedForm<SignOutAllForm>,
) -> Response {
    let include_current = form.include_current.is_some();
    match state
        .sessions()
        .sign_out_all(&browser.session, include_current, browser.ip)
        .await
    {
        Ok(_) if include_current => to_sign_in(Some("signed_out_all_devices"), &state),
        Ok(_) => see_other("/account/devices?notice=signed_out_all", &[]),
        Err(e) => error_page(e),
    }
}
