//! `/account/activity`: the account's history, filtered by kind.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::alerts::alert_text;
use super::auth::{see_other, Browser};
use super::layout::{error_page, render, utc_minute, Frame};
use crate::activity::http::parse_filter;
use crate::activity::ActivityKind;
use crate::error::Error;
use crate::http::state::AppState;
use crate::store::ActivityRecord;

/// The kinds the page's filter offers, with their labels.
const FILTERS: [(&str, &str); 6] = [
    ("", "Everything"),
    ("sign_in,sign_in_failed,password_check_failed", "Sign-ins"),
    ("signed_out", "Sign-outs"),
    ("stream_started,stream_stopped,stream_refused", "Streams"),
    (
        "password_changed,device_renamed,profile_created,profile_renamed,profile_deleted,profile_pin_set,profile_pin_removed",
        "Account changes",
    ),
    ("alert", "Alerts"),
];

#[derive(Deserialize, Default)]
pub struct ActivityParams {
    kind: Option<String>,
    before: Option<String>,
}

/// One line of the activity page.
pub struct ActivityRow {
    pub event_id: String,
    pub kind: &'static str,
    pub at: String,
    pub what: String,
    pub device: Option<String>,
    /// False when the device name is what a caller who proved nothing sent
    /// (a refused sign-in): shown quoted and labelled, never as a device.
    pub device_verified: bool,
    pub ip: Option<String>,
    pub place: Option<String>,
}

#[derive(Template)]
#[template(path = "activity.html")]
pub struct ActivityPageView {
    pub frame: Frame,
    pub rows: Vec<ActivityRow>,
    pub filters: Vec<(&'static str, &'static str, bool)>,
    pub older: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    browser: Browser,
    Query(params): Query<ActivityParams>,
) -> Response {
    let kind = params.kind.unwrap_or_default();
    let page = parse_filter(None, params.before.as_deref(), Some(&kind));
    let page = match page {
        Ok(filter) => {
            state
                .activity()
                .page(browser.session.account_id, filter)
                .await
        }
        Err(e) => Err(e),
    };
    let page = match page {
        Ok(page) => page,
        Err(Error::InvalidParameter { .. }) => return see_other("/account/activity", &[]),
        Err(e) => return error_page(e),
    };
    let older = page.next.map(|next| {
        let mut url = format!("/account/activity?before={next}");
        if !kind.is_empty() {
            url.push_str("&kind=");
            url.extend(url::form_urlencoded::byte_serialize(kind.as_bytes()));
        }
        url
    });
    let filters = FILTERS
        .iter()
        .map(|(value, label)| (*value, *label, *value == kind))
        .collect();
    render(
        StatusCode::OK,
        &ActivityPageView {
            frame: Frame::page(browser.csrf, "activity", None),
            rows: page.events.into_iter().map(row).collect(),
            filters,
            older,
        },
    )
}

fn row(e: ActivityRecord) -> ActivityRow {
    let d = &e.detail.to_json();
    let text = |key: &str| d.get(key).and_then(|v| v.as_str()).unwrap_or("").to_owned();
    let by = d
        .get("by")
        .and_then(|b| b.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_owned);
    let what = match e.kind {
        ActivityKind::SignIn => match text("via").as_str() {
            "browser" => "Signed in to the account pages".to_owned(),
            _ => "Signed in".to_owned(),
        },
        ActivityKind::SignInFailed => match text("reason").as_str() {
            "device_limit_reached" => "Sign-in refused: the plan's device limit is reached".into(),
            _ => "Sign-in failed: wrong password".into(),
        },
        ActivityKind::SignedOut => match (text("cause").as_str(), by) {
            ("this_device", _) => "Signed out".into(),
            ("another_device", Some(by)) => format!("Signed out from {by}"),
            ("sign_out_all", Some(by)) => format!("Signed out of all devices from {by}"),
            ("password_change", Some(by)) => format!("Signed out by a password change on {by}"),
            ("password_change", None) => "Signed out by a password change".into(),
            ("token_reuse", _) => "Signed out: its sign-in was used twice (possible theft)".into(),
            ("idle_expiry", _) => "Signed out after a long time without use".into(),
            ("operator", _) => "Signed out by the service operator".into(),
            _ => "Signed out".into(),
        },
        ActivityKind::StreamStarted => format!("Started watching {}", text("title")),
        ActivityKind::StreamStopped => match (text("reason").as_str(), by) {
            ("remote", Some(by)) => format!("Playback stopped from {by}"),
            ("signed_out", _) => "Playback ended: signed out".into(),
            ("lease_expired", _) => "Playback ended: the device stopped responding".into(),
            ("replaced", _) => "Playback replaced by another title".into(),
            ("profile_locked", _) => "Playback ended: the profile was locked".into(),
            _ => "Stopped watching".into(),
        },
        ActivityKind::StreamRefused => format!(
            "Could not watch {}: every stream of the plan was in use",
            text("title")
        ),
        ActivityKind::PasswordChanged => "Password changed".into(),
        ActivityKind::DeviceRenamed => {
            format!("Device renamed from {} to {}", text("from"), text("to"))
        }
        ActivityKind::ProfileCreated => format!("Profile {} added", text("name")),
        ActivityKind::ProfileRenamed => format!("Profile renamed to {}", text("name")),
        ActivityKind::ProfileDeleted => format!("Profile {} deleted", text("name")),
        ActivityKind::ProfilePinSet => format!("PIN lock set on profile {}", text("name")),
        ActivityKind::ProfilePinRemoved => {
            format!("PIN lock removed from profile {}", text("name"))
        }
        ActivityKind::PasswordCheckFailed => {
            let during = match text("during").as_str() {
                "password_change" => "changing the password",
                "pin_set" => "locking a profile with a PIN",
                "pin_removal" => "removing a profile's PIN",
                "profile_settings" => "changing the profile settings",
                "locked_profile_change" => "renaming or deleting a locked profile",
                _ => "making a change",
            };
            format!("Wrong password entered while {during}")
        }
        ActivityKind::Alert => {
            let reasons: Vec<&str> = d
                .get("reasons")
                .and_then(|r| r.as_array())
                .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
                .unwrap_or_default();
            alert_text(&reasons)
        }
    };
    ActivityRow {
        device_verified: e.device_verified(),
        event_id: e.id.to_string(),
        kind: e.kind.as_str(),
        at: utc_minute(e.at),
        what,
        device: e.device_name,
        ip: e.ip.map(|ip| ip.to_string()),
        place: e.location.as_ref().and_then(place),
    }
}

/// A location as words: "local network", or "Lisbon, Lisbon, Portugal".
pub fn place(location: &serde_json::Value) -> Option<String> {
    if let Some(label) = location.get("label").and_then(|l| l.as_str()) {
        return Some(label.to_owned());
    }
    if location.get("local").and_then(|l| l.as_bool()) == Some(true) {
        return Some("local network".into());
    }
    let parts: Vec<&str> = ["city", "region", "country"]
        .iter()
        .filter_map(|k| location.get(*k).and_then(|v| v.as_str()))
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}
