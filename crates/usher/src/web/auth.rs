//! Which browser is asking: the session cookie, checked like any device
//! session (from memory), and the CSRF token its forms must carry.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::layout::message_page;
use crate::error::Error;
use crate::http::extract::ClientIp;
use crate::http::state::AppState;
use crate::sessions::browser::csrf_token;
use crate::sessions::cache::CachedSession;

pub const SESSION_COOKIE: &str = "usher_session";
/// Pre-sign-in CSRF protection: a random value in a cookie and in the form.
pub const SIGN_IN_CSRF_COOKIE: &str = "usher_csrf";

/// Proof of an earlier sign-in on this browser (`sessions::device_proof`).
pub const DEVICE_PROOF_COOKIE: &str = "__Host-usher_device";

/// The device-proof cookie, for as long as the proof lasts. `__Host-`, so
/// always `Secure`, for this host only and path `/` (a sibling subdomain
/// cannot plant or read it); `HttpOnly`; `SameSite=Lax`. Over plain HTTP on
/// a host other than localhost the browser drops it, and only proves
/// nothing at its next sign-in.
pub fn device_proof_cookie(value: String, state: &AppState) -> Cookie<'static> {
    let days = i64::from(state.config.throttle.device_proof_days);
    Cookie::build((DEVICE_PROOF_COOKIE, value))
        .path("/")
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::days(days))
        .build()
}

/// A signed-in browser.
pub struct Browser {
    pub session: Arc<CachedSession>,
    pub csrf: String,
    /// The client's address.
    pub ip: Option<std::net::IpAddr>,
}

impl FromRequestParts<AppState> for Browser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state)
            .await
            .unwrap_or(ClientIp(None));
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(cookie) = jar.get(SESSION_COOKIE) else {
            return Err(to_sign_in(None, state));
        };
        match state
            .sessions()
            .authenticate_browser(cookie.value(), ip)
            .await
        {
            Ok(session) => {
                let csrf = csrf_token(&session).unwrap_or_default();
                Ok(Browser { session, csrf, ip })
            }
            Err(Error::SessionRevoked(reason)) => {
                Err(to_sign_in(Some(&format!("signed_out_{reason}")), state))
            }
            Err(
                e @ (Error::Unavailable(_)
                | Error::Internal(_)
                | Error::Overloaded
                | Error::StaleNode),
            ) => Err(super::layout::error_page(e)),
            Err(_) => Err(to_sign_in(None, state)),
        }
    }
}

impl Browser {
    /// This browser, as the cause of a change.
    pub fn actor(&self) -> crate::sessions::Actor<'_> {
        crate::sessions::Actor::device(&self.session, self.ip)
    }

    /// Whether a form's CSRF token is this session's.
    pub fn csrf_ok(&self, presented: &str) -> bool {
        crate::sessions::browser::csrf_ok(&self.session, presented)
    }
}

/// A typed id from a page's path; a malformed one is simply not found,
/// answered with the same page as another account's id.
pub struct PageId<T>(pub T);

impl<S: Send + Sync, T: std::str::FromStr> FromRequestParts<S> for PageId<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let not_found = || super::layout::error_page(Error::NotFound);
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| not_found())?;
        raw.parse().map(PageId).map_err(|_| not_found())
    }
}

/// A form posted by a signed-in browser, read and CSRF-checked: a handler
/// taking one never runs for a forged or unreadable post.
pub struct CheckedForm<T> {
    pub browser: Browser,
    pub form: T,
}

/// A form as posted: its CSRF token beside the fields `T` reads, so no
/// form type repeats the token.
#[derive(Deserialize)]
struct Posted<T> {
    // Defaults to empty: a missing token is a forged post (403), not an
    // unreadable one (400).
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    form: T,
}

impl<T> FromRequest<AppState> for CheckedForm<T>
where
    T: DeserializeOwned + Send,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let browser = Browser::from_request_parts(&mut parts, state).await?;
        let request = Request::from_parts(parts, body);
        let Form(Posted { csrf, form }) = Form::<Posted<T>>::from_request(request, state)
            .await
            .map_err(super::forms::unreadable)?;
        if !browser.csrf_ok(&csrf) {
            return Err(csrf_refused());
        }
        Ok(CheckedForm { browser, form })
    }
}

pub fn csrf_refused() -> Response {
    message_page(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "Nothing was changed. Reload the page and try again.",
    )
}

/// The session cookie for a browser that just signed in.
pub fn session_cookie(value: String, state: &AppState) -> Cookie<'static> {
    let idle = state.config.sessions.idle_timeout_secs;
    Cookie::build((SESSION_COOKIE, value))
        .path("/account")
        .http_only(true)
        .secure(state.config.web.secure_cookies)
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(
            idle.min(i64::MAX as u64) as i64
        ))
        .build()
}

/// An instruction to the browser to forget `name`.
pub fn removal(name: &'static str, state: &AppState) -> Cookie<'static> {
    let mut cookie = Cookie::build((name, ""))
        .path("/account")
        .http_only(true)
        .secure(state.config.web.secure_cookies)
        .same_site(SameSite::Lax)
        .build();
    cookie.make_removal();
    cookie
}

/// 303 to `location`, setting `cookies`.
pub fn see_other(location: &str, cookies: &[Cookie<'static>]) -> Response {
    let mut response = (StatusCode::SEE_OTHER, [(LOCATION, location.to_owned())]).into_response();
    for cookie in cookies {
        if let Ok(value) = cookie.to_string().parse() {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    response
}

/// To the sign-in page (with a notice), forgetting the session cookie.
pub fn to_sign_in(notice: Option<&str>, state: &AppState) -> Response {
    let location = match notice {
        Some(code) => format!("/account/sign-in?notice={code}"),
        None => "/account/sign-in".to_owned(),
    };
    see_other(&location, &[removal(SESSION_COOKIE, state)])
}
