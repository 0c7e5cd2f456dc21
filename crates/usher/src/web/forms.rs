//! What every form shares: the answer to an unreadable one, and the form
//! that carries nothing but its CSRF token. Each action checks the token
//! first and answers 303 See Other, so reloading the next page never
//! repeats the action.

use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::auth::carries_csrf;
use super::layout::message_page;

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

carries_csrf!(CsrfOnly);
