//! `/account/password`: changing the account password.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::auth::{see_other, to_sign_in, Browser, CheckedForm};
use super::layout::{error_page, render, Frame, Notice};
use crate::error::Error;
use crate::http::state::AppState;

#[derive(Template)]
#[template(path = "password.html")]
pub struct PasswordPage<'a> {
    pub frame: Frame,
    pub error: Option<&'a str>,
}

pub async fn page(browser: Browser, Query(notice): Query<Notice>) -> Response {
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
            frame: Frame::page(browser.csrf, "password", notice),
            error,
        },
    )
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
    sign_out_all_devices: Option<String>,
}

pub async fn submit(
    State(state): State<AppState>,
    CheckedForm { browser, form }: CheckedForm<PasswordForm>,
) -> Response {
    let sign_out_all = form.sign_out_all_devices.is_some();
    let account = browser.session.account_id;
    let changed = state
        .accounts()
        .change_password(
            account,
            form.current_password,
            form.new_password,
            sign_out_all,
            browser.actor(),
        )
        .await;
    match changed {
        Ok(_) if sign_out_all => to_sign_in(Some("password_changed"), &state),
        Ok(_) => see_other("/account/password?notice=password_kept", &[]),
        Err(Error::WrongPassword) => password_form(
            browser,
            StatusCode::FORBIDDEN,
            None,
            Some("The current password is wrong."),
        ),
        Err(Error::TooManyAttempts { retry_after }) => password_form(
            browser,
            StatusCode::TOO_MANY_REQUESTS,
            None,
            Some(&format!(
                "Too many wrong passwords. Wait {} seconds, then try again.",
                retry_after.as_secs().max(1)
            )),
        ),
        Err(Error::WeakPassword(weak)) => password_form(
            browser,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(&weak.to_string()),
        ),
        Err(e) => error_page(e),
    }
}
