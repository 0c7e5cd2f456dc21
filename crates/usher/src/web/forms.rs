//! What every form shares: the answer to an unreadable one, and the form
//! that carries nothing but its CSRF token. Each action checks the token
//! ([`CheckedForm`](super::auth::CheckedForm)) first and answers 303 See Other, so reloading the next page never
//! repeats the action.

use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::auth::see_other;
use crate::error::Error;

use super::layout::{error_page, message_page};

/// A form that could not be read: answered as a page, never a bare 4xx.
pub(super) fn unreadable(_: FormRejection) -> Response {
    message_page(
        StatusCode::BAD_REQUEST,
        "That form was incomplete",
        "Nothing was changed. Go back, reload the page and try again.",
    )
}

/// A form that carries nothing but its CSRF token (which [`CheckedForm`]
/// reads for every form).
///
/// [`CheckedForm`]: super::auth::CheckedForm
#[derive(Deserialize)]
pub struct CsrfOnly {}

/// A form that names something (a device, a profile).
#[derive(Deserialize)]
pub struct NameForm {
    pub name: String,
}

/// The answer to an action: 303 to `location` (with its notice) when it
/// was done, the error page when not.
pub(super) fn redirect_or_error<T>(done: Result<T, Error>, location: &str) -> Response {
    match done {
        Ok(_) => see_other(location, &[]),
        Err(e) => error_page(e),
    }
}
