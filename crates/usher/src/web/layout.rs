//! What every page shares: rendering, message and error pages, notices,
//! relative times.

use std::borrow::Cow;

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use crate::domain::Millis;
use crate::error::Error;

/// `?notice=`: a code for the message a page shows after a redirect.
#[derive(Deserialize, Default)]
pub struct Notice {
    notice: Option<String>,
}

impl Notice {
    pub fn text(&self) -> Option<&'static str> {
        self.notice.as_deref().and_then(notice_text)
    }
}

/// What the layout around a page shows besides the page itself: the notice
/// above it, the current tab of the nav and the CSRF token of every form.
pub struct Frame {
    pub notice: Option<&'static str>,
    pub csrf: String,
    /// The nav tab to mark current; empty on pages without the nav.
    pub active: &'static str,
}

impl Frame {
    /// The frame of the page `active` of the nav, with `notice` above it.
    pub fn page(csrf: String, active: &'static str, notice: Option<&'static str>) -> Self {
        Frame {
            notice,
            csrf,
            active,
        }
    }

    /// The frame of a live-refresh fragment: only its forms' token.
    pub fn fragment(csrf: String) -> Self {
        Self::page(csrf, "", None)
    }
}

/// "2024-05-01 12:34 UTC": a time as the activity page and banners show it.
pub fn utc_minute(at: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(at)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M UTC")
        .to_string()
}

/// Renders a template as a page, or a plain error if rendering fails.
pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub title: &'a str,
    pub text: &'a str,
}

/// A page that only says something (an error, a refusal).
pub fn message_page(status: StatusCode, title: &str, text: &str) -> Response {
    render(status, &MessagePage { title, text })
}

/// The page for a domain error on a form or page.
pub fn error_page(e: Error) -> Response {
    let (status, title, text) = match e {
        Error::NotFound => (
            StatusCode::NOT_FOUND,
            "Not found",
            "That device, stream or profile is not on this account, or it has already been signed out, stopped or deleted.".into(),
        ),
        Error::TooManyAttempts { retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts",
            format!("Wait {} seconds, then try again.", retry_after.as_secs().max(1)).into(),
        ),
        Error::Unavailable(cause) => {
            tracing::error!(error = format!("{cause:#}"), "dependency unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "We cannot reach our database right now. Try again in a moment.".into(),
            )
        }
        Error::StaleNode => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Temporarily unavailable",
            "This server is catching up with recent sign-outs. Try again in a moment.".into(),
        ),
        Error::Overloaded => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Busy",
            "We are very busy right now. Try again in a moment.".into(),
        ),
        Error::Internal(cause) => {
            tracing::error!(error = format!("{cause:#}"), "internal error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Something went wrong on our side. It has been logged.".into(),
            )
        }
        other => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "That did not work",
            Cow::Owned(other.to_string()),
        ),
    };
    message_page(status, title, &text)
}

/// The text of a `?notice=` code; unknown codes show nothing.
pub fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "signed_out" => "You have signed out.",
        "signed_out_remote" => "This browser was signed out from another device.",
        "signed_out_all_devices" => "This account was signed out of all devices.",
        "signed_out_password_changed" | "password_changed" => {
            "Your password was changed. Sign in with the new password."
        }
        "signed_out_idle_expired" => "You were signed out after a long time without use.",
        "signed_out_token_reused" => {
            "This session was ended to protect your account. Sign in again."
        }
        "signed_out_admin" => "You were signed out by the service operator.",
        "signed_out_self" => "You have signed out.",
        "device_signed_out" => "The device was signed out.",
        "signed_out_all" => "All other devices were signed out.",
        "renamed" => "The device was renamed.",
        "stream_stopped" => "The stream was stopped.",
        "profile_added" => "The profile was added.",
        "profile_renamed" => "The profile was renamed.",
        "profile_deleted" => {
            "The profile was deleted. Devices that were on it go back to the profile picker."
        }
        "profile_locked" => {
            "The PIN is set. Devices that were on the profile go back to the profile picker."
        }
        "pin_removed" => "The PIN was removed.",
        "profile_settings_saved" => "Your profile settings were saved.",
        "password_kept" => "Your password was changed. Your devices stay signed in.",
        "alert_dismissed" => "The alert was dismissed.",
        "alert_device_signed_out" => "That device was signed out. Consider changing your password.",
        _ => return None,
    })
}

/// "just now", "3 minutes ago", "2 days ago".
pub fn ago(then: Millis, now: Millis) -> String {
    let secs = (now - then).max(0) / 1000;
    let (n, unit) = match secs {
        0..=59 => return "just now".into(),
        60..=3599 => (secs / 60, "minute"),
        3600..=86_399 => (secs / 3600, "hour"),
        _ => (secs / 86_400, "day"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        let now = 10_000_000_000;
        assert_eq!(ago(now - 5_000, now), "just now");
        assert_eq!(ago(now - 60_000, now), "1 minute ago");
        assert_eq!(ago(now - 2 * 3_600_000, now), "2 hours ago");
        assert_eq!(ago(now - 3 * 86_400_000, now), "3 days ago");
    }
}
