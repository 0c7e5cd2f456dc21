//! `/account/sign-in` and `/account/sign-out`: a browser signing in to the
//! account pages (a device session of type `browser`) and out again.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::header::{SET_COOKIE, USER_AGENT};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::auth::{
    csrf_refused, device_proof_cookie, presession_cookie, removal, see_other, session_cookie,
    to_sign_in, CheckedForm, DEVICE_PROOF_COOKIE, PRESESSION_COOKIE, SESSION_COOKIE,
};
use super::forms::{unreadable, CsrfOnly};
use super::layout::{error_page, render, Frame, Notice};
use crate::domain::SignOutReason;
use crate::error::Error;
use crate::http::extract::ClientIp;
use crate::http::state::AppState;
use crate::sessions::browser::{is_presession, new_presession};

#[derive(Template)]
#[template(path = "sign_in.html")]
pub struct SignInPage<'a> {
    pub frame: Frame,
    pub error: Option<&'a str>,
    pub email: &'a str,
}

/// The sign-in form, with a token bound to the browser's pre-session.
pub async fn page(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(notice): Query<Notice>,
) -> Response {
    if let Some(cookie) = jar.get(SESSION_COOKIE.of(&state)) {
        if state
            .sessions()
            .authenticate_browser(cookie.value(), None)
            .await
            .is_ok()
        {
            return super::auth::see_other("/account/devices", &[]);
        }
    }
    // Another tab's pre-session is kept, so both tabs' forms work.
    let presession = presession_of(&jar, &state).unwrap_or_else(new_presession);
    sign_in_form(&state, &presession, StatusCode::OK, notice.text(), None, "")
}

/// The browser's pre-session id, if it has a well-formed one.
fn presession_of(jar: &CookieJar, state: &AppState) -> Option<String> {
    jar.get(PRESESSION_COOKIE.of(state))
        .map(|c| c.value().to_owned())
        .filter(|value| is_presession(value))
}

/// Renders the sign-in form for `presession` (and sets its cookie).
pub fn sign_in_form(
    state: &AppState,
    presession: &str,
    status: StatusCode,
    notice: Option<&'static str>,
    error: Option<&str>,
    email: &str,
) -> Response {
    let csrf = state.sessions().sign_in_csrf(presession);
    let cookie = presession_cookie(presession.to_owned(), state);
    let mut response = render(
        status,
        &SignInPage {
            // The sign-in page has no nav; its token is the pre-session's.
            frame: Frame::page(csrf, "", notice),
            error,
            email,
        },
    );
    if let Ok(value) = cookie.to_string().parse() {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

#[derive(Deserialize)]
pub struct SignInForm {
    email: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

pub async fn submit(
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
    // Before sign-in there is no session to bind a token to: the form's
    // token must be the MAC of this browser's pre-session.
    let Some(presession) =
        presession_of(&jar, &state).filter(|p| state.sessions().sign_in_csrf_ok(p, &form.csrf))
    else {
        return csrf_refused();
    };
    let user_agent = headers
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let device_proof = jar.get(DEVICE_PROOF_COOKIE.of(&state)).map(|c| c.value());
    match state
        .sessions()
        .sign_in_browser(&form.email, form.password, user_agent, ip, device_proof)
        .await
    {
        Ok(signed_in) => {
            let mut cookies = vec![
                session_cookie(signed_in.cookie, &state),
                removal(&PRESESSION_COOKIE, &state),
            ];
            cookies.extend(
                signed_in
                    .device_proof
                    .map(|proof| device_proof_cookie(proof, &state)),
            );
            see_other("/account/devices", &cookies)
        }
        Err(Error::InvalidCredentials) => sign_in_form(
            &state,
            &presession,
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
                &presession,
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
                &presession,
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
        .sessions()
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
