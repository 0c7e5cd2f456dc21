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
use cookie::CookieBuilder;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::layout::message_page;
use crate::error::Error;
use crate::http::extract::ClientIp;
use crate::http::state::AppState;
use crate::sessions::browser::csrf_token;
use crate::sessions::cache::CachedSession;

/// A cookie usher sets, by its two names: with the `__Host-` prefix, which
/// a browser keeps only when it is `Secure`, `Path=/` and without `Domain`,
/// so no other host (a sibling subdomain included) can set or shadow it; and
/// without, used only when `web.secure_cookies` is off (browsers refuse a
/// `__Host-` cookie that is not `Secure`). No other name is read.
pub struct CookieName {
    host: &'static str,
    plain: &'static str,
}

impl CookieName {
    /// The name this deployment uses.
    pub fn of(&self, state: &AppState) -> &'static str {
        if state.config.web.secure_cookies {
            self.host
        } else {
            self.plain
        }
    }
}

/// The browser session: `<session id>.<secret>`.
pub const SESSION_COOKIE: CookieName = CookieName {
    host: "__Host-usher_session",
    plain: "usher_session",
};
/// Before sign-in: a random pre-session id, which the sign-in form's CSRF
/// token is bound to (see `sessions::browser`).
pub const PRESESSION_COOKIE: CookieName = CookieName {
    host: "__Host-usher_presession",
    plain: "usher_presession",
};

/// Proof of an earlier sign-in on this browser (`sessions::device_proof`).
pub const DEVICE_PROOF_COOKIE: CookieName = CookieName {
    host: "__Host-usher_device",
    plain: "usher_device",
};

/// The device-proof cookie, for as long as the proof lasts. `SameSite=Lax`:
/// it only ever goes with a sign-in.
pub fn device_proof_cookie(value: String, state: &AppState) -> Cookie<'static> {
    let days = i64::from(state.config.throttle.device_proof_days);
    cookie(&DEVICE_PROOF_COOKIE, value, SameSite::Lax, state)
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
        let Some(cookie) = jar.get(SESSION_COOKIE.of(state)) else {
            return Err(match jar.get(LEGACY_SESSION_COOKIE) {
                Some(legacy) if state.config.web.secure_cookies => {
                    renamed(legacy.value(), parts, ip, state).await
                }
                _ => to_sign_in(None, state),
            });
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

/// The session cookie's name before `__Host-` cookies (`Path=/account`).
const LEGACY_SESSION_COOKIE: &str = "usher_session";

/// A browser signed in before the `__Host-` names: its cookie, once its
/// secret is proven, is handed back under the new name and the old one is
/// forgotten, so the session goes on (and does not linger unreachable,
/// counting against the plan's devices until its idle timeout). The browser
/// is sent back to where it was going; a form posted meanwhile is asked for
/// again, since it was made for the old cookie.
async fn renamed(
    value: &str,
    parts: &Parts,
    ip: Option<std::net::IpAddr>,
    state: &AppState,
) -> Response {
    let mut forget = Cookie::build((LEGACY_SESSION_COOKIE, ""))
        .path("/account")
        .build();
    forget.make_removal();
    match state.sessions().authenticate_browser(value, ip).await {
        Ok(_) => {
            let back = parts
                .uri
                .path_and_query()
                .map_or("/account", |p| p.as_str())
                .to_owned();
            see_other(&back, &[session_cookie(value.to_owned(), state), forget])
        }
        Err(_) => see_other("/account/sign-in", &[forget]),
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

/// Every cookie usher sets: for the whole site (`__Host-` needs `Path=/`),
/// host-only, script-proof.
fn cookie(
    name: &CookieName,
    value: String,
    same_site: SameSite,
    state: &AppState,
) -> CookieBuilder<'static> {
    Cookie::build((name.of(state), value))
        .path("/")
        .http_only(true)
        .secure(state.config.web.secure_cookies)
        .same_site(same_site)
}

/// The session cookie for a browser that just signed in.
pub fn session_cookie(value: String, state: &AppState) -> Cookie<'static> {
    let idle = state.config.sessions.idle_timeout_secs;
    cookie(&SESSION_COOKIE, value, SameSite::Lax, state)
        .max_age(cookie::time::Duration::seconds(
            idle.min(i64::MAX as u64) as i64
        ))
        .build()
}

/// The pre-session cookie of a browser on the sign-in form (until it
/// closes); only same-site pages send it.
pub fn presession_cookie(value: String, state: &AppState) -> Cookie<'static> {
    cookie(&PRESESSION_COOKIE, value, SameSite::Strict, state).build()
}

/// An instruction to the browser to forget `name`.
pub fn removal(name: &CookieName, state: &AppState) -> Cookie<'static> {
    let mut cookie = cookie(name, String::new(), SameSite::Lax, state).build();
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
    see_other(&location, &[removal(&SESSION_COOKIE, state)])
}
