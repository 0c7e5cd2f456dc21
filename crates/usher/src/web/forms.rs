//! The actions (form POSTs). Each checks the CSRF token first and answers
//! 303 See Other, so reloading the next page never repeats the action.

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::header::USER_AGENT;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::auth::{
    carries_csrf, csrf_refused, removal, see_other, session_cookie, to_sign_in, CheckedForm,
    PageId, SIGN_IN_CSRF_COOKIE,
};
use super::pages::{password_form, sign_in_form};
use super::views::{error_page, message_page};
use crate::domain::{SessionId, SignOutReason, StreamId};
use crate::error::Error;
use crate::http::extract::ClientIp;
use crate::http::AppState;

/// A form that could not be read: answered as a page, never a bare 4xx.
pub(super) fn unreadable(_: FormRejection) -> Response {
    message_page(
        StatusCode::BAD_REQUEST,
        "That form was incomplete",
        "Nothing was changed. Go back, reload the page and try again.",
    )
}

// Every form's `csrf` defaults to empty: a missing token is a forged post
// (403), not an unreadable one (400).

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
pub struct SignInForm {
    email: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

pub async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    jar: CookieJar,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Response {
    let Form(form) = match form {
        Ok(form) => form,
        Err(rejection) => return unreadable(rejection),
    };
    // Before sign-in there is no session to bind a token to: the form must
    // echo the random value of a SameSite=Strict cookie (double submit).
    let echoed = jar
        .get(SIGN_IN_CSRF_COOKIE)
        .is_some_and(|c| bool::from(c.value().as_bytes().ct_eq(form.csrf.as_bytes())));
    if !echoed {
        return csrf_refused();
    }
    let user_agent = headers
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match state
        .usher
        .sign_in_browser(&form.email, form.password, user_agent, ip)
        .await
    {
        Ok(signed_in) => see_other(
            "/account/devices",
            &[
                session_cookie(signed_in.cookie, &state),
                removal(SIGN_IN_CSRF_COOKIE, &state),
            ],
        ),
        Err(Error::InvalidCredentials) => sign_in_form(
            &state,
            StatusCode::UNAUTHORIZED,
            None,
            Some("The email or password is wrong."),
            &form.email,
        ),
        Err(Error::TooManyAttempts { retry_after }) => {
            let text = format!(
                "Too many sign-in attempts. Wait {} seconds, then try again.",
                retry_after.as_secs().max(1)
            );
            sign_in_form(
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                None,
                Some(&text),
                &form.email,
            )
        }
        Err(Error::DeviceLimitReached { limit, .. }) => {
            let text = format!(
                "Your plan allows {limit} signed-in devices. Sign one out from a device that is signed in, then try again."
            );
            sign_in_form(
                &state,
                StatusCode::FORBIDDEN,
                None,
                Some(&text),
                &form.email,
            )
        }
        Err(e) => error_page(e),
    }
}

pub async fn sign_out(
    State(state): State<AppState>,
    CheckedForm { browser, .. }: CheckedForm<CsrfOnly>,
) -> Response {
    let session = &browser.session;
    match state
        .usher
        .revoke(
            session.account_id,
            session.id,
            SignOutReason::SelfSignOut,
            browser.actor(),
        )
        .await
    {
        Ok(_) => to_sign_in(Some("signed_out"), &state),
        Err(e) => error_page(e),
    }
}

pub async fn sign_out_device(
    State(state): State<AppState>,
    PageId(id): PageId<SessionId>,
    CheckedForm { browser, .. }: CheckedForm<CsrfOnly>,
) -> Response {
    let session = &browser.session;
    let reason = if id == session.id {
        SignOutReason::SelfSignOut
    } else {
        SignOutReason::Remote
    };
    match state
        .usher
        .revoke(session.account_id, id, reason, browser.actor())
        .await
    {
        Ok(true) if id == session.id => to_sign_in(Some("signed_out"), &state),
        Ok(true) => see_other("/account/devices?notice=device_signed_out", &[]),
        Ok(false) => error_page(Error::NotFound),
        Err(e) => error_page(e),
    }
}

#[derive(Deserialize)]
pub struct RenameForm {
    #[serde(default)]
    csrf: String,
    name: String,
}

pub async fn rename_device(
    State(state): State<AppState>,
    PageId(id): PageId<SessionId>,
    CheckedForm { browser, form }: CheckedForm<RenameForm>,
) -> Response {
    let session = &browser.session;
    match state
        .usher
        .rename_device(session.account_id, id, &form.name, browser.actor())
        .await
    {
        Ok(_) => see_other("/account/devices?notice=renamed", &[]),
        Err(Error::InvalidDeviceName(detail)) => message_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "That name does not work",
            &detail,
        ),
        Err(e) => error_page(e),
    }
}

#[derive(Deserialize)]
pub struct SignOutAllForm {
    #[serde(default)]
    csrf: String,
    include_current: Option<String>,
}

pub async fn sign_out_all(
    State(state): State<AppState>,
    CheckedForm { browser, form }: CheckedForm<SignOutAllForm>,
) -> Response {
    let include_current = form.include_current.is_some();
    match state
        .usher
        .sign_out_all(&browser.session, include_current, browser.ip)
        .await
    {
        Ok(_) if include_current => to_sign_in(Some("signed_out_all_devices"), &state),
        Ok(_) => see_other("/account/devices?notice=signed_out_all", &[]),
        Err(e) => error_page(e),
    }
}

pub async fn stop_stream(
    State(state): State<AppState>,
    PageId(id): PageId<StreamId>,
    CheckedForm { browser, .. }: CheckedForm<CsrfOnly>,
) -> Response {
    match state.usher.stop_stream(&browser.session, id).await {
        Ok(()) => see_other("/account?notice=stream_stopped", &[]),
        Err(e) => error_page(e),
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    current_password: String,
    new_password: String,
    sign_out_all_devices: Option<String>,
}

pub async fn change_password(
    State(state): State<AppState>,
    CheckedForm { browser, form }: CheckedForm<PasswordForm>,
) -> Response {
    let sign_out_all = form.sign_out_all_devices.is_some();
    let account = browser.session.account_id;
    let changed = state
        .usher
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
        Err(Error::WeakPassword(detail)) => password_form(
            browser,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(&detail),
        ),
        Err(e) => error_page(e),
    }
}

// Forms that carry the session's CSRF token.
carries_csrf!(CsrfOnly, RenameForm, SignOutAllForm, PasswordForm);
