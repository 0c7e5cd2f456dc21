//! The alert banner (on the overview) and its two actions: dismiss, and
//! sign that device out.

use axum::extract::State;
use axum::response::Response;

use super::activity::place;
use super::auth::{see_other, Browser, CheckedForm, PageId};
use super::forms::{redirect_or_error, CsrfOnly};
use super::layout::{error_page, utc_minute};
use crate::alerts::OpenAlert;
use crate::domain::{EventId, SessionId};
use crate::http::state::AppState;

/// "New sign-in from a new country and a new kind of device", or "Several
/// wrong passwords entered on a signed-in device".
pub fn alert_text(reasons: &[&str]) -> String {
    if reasons.contains(&"wrong_passwords") {
        return "Several wrong passwords entered on a signed-in device".to_owned();
    }
    let parts: Vec<&str> = reasons
        .iter()
        .map(|r| match *r {
            "new_country" => "a new country",
            "new_device_type" => "a new kind of device",
            _ => "somewhere new",
        })
        .collect();
    format!("New sign-in from {}", parts.join(" and "))
}

/// An open alert as the banner shows it.
pub struct AlertBanner {
    pub alert_id: String,
    pub text: String,
    pub device: String,
    pub place: Option<String>,
    pub at: String,
    /// The alerted device is still signed in and is not this browser.
    pub can_sign_out: bool,
}

impl AlertBanner {
    fn new(open: OpenAlert, this_browser: SessionId) -> Self {
        let a = &open.alert;
        // The stored alert is the webhook's JSON body.
        let body = a.body.to_json();
        let reasons: Vec<&str> = body["reasons"]
            .as_array()
            .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        AlertBanner {
            alert_id: a.id.to_string(),
            text: alert_text(&reasons),
            device: body["device"]["name"]
                .as_str()
                .unwrap_or("a device")
                .to_owned(),
            place: place(&body["location"]),
            at: utc_minute(a.at),
            can_sign_out: open.device_signed_in && a.session_id != this_browser,
        }
    }
}

/// The open alerts of the browser's account, for a page's banner.
pub async fn banners(state: &AppState, browser: &Browser) -> Vec<AlertBanner> {
    let open = state
        .alerts()
        .open(browser.session.account_id, |id| {
            state.sessions().may_be_signed_in(id)
        })
        .await;
    match open {
        Ok(alerts) => alerts
            .into_iter()
            .map(|a| AlertBanner::new(a, browser.session.id))
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "could not read alerts for the banner");
            Vec::new()
        }
    }
}

pub async fn dismiss(
    State(state): State<AppState>,
    PageId(id): PageId<EventId>,
    CheckedForm { browser, .. }: CheckedForm<CsrfOnly>,
) -> Response {
    let dismissed = state.alerts().dismiss(browser.session.account_id, id).await;
    redirect_or_error(dismissed, "/account?notice=alert_dismissed")
}

pub async fn sign_out_device(
    State(state): State<AppState>,
    PageId(id): PageId<EventId>,
    CheckedForm { browser, .. }: CheckedForm<CsrfOnly>,
) -> Response {
    match state.devices().sign_out_alerted(id, browser.actor()).await {
        Ok(true) => see_other("/account?notice=alert_device_signed_out", &[]),
        Ok(false) => see_other("/account?notice=alert_dismissed", &[]),
        Err(e) => error_page(e),
    }
}
