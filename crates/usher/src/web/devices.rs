//! `/account/devices`: the device list (and its live-refresh fragment),
//! renaming a device and signing one out.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::auth::{see_other, to_sign_in, Browser, CheckedForm, PageId};
use super::forms::{redirect_or_error, CsrfOnly, NameForm};
use super::layout::{ago, error_page, message_page, render, Frame, Notice};
use crate::devices::Device;
use crate::domain::{DeviceName, DeviceType, Millis, SessionId};
use crate::error::Error;
use crate::http::state::AppState;

/// A device row as the devices page shows it.
pub struct DeviceRow {
    pub session_id: SessionId,
    pub name: String,
    pub model: Option<String>,
    /// The title playing on it now.
    pub playing: Option<String>,
    pub ip: Option<String>,
    pub place: Option<String>,
    pub current: bool,
    pub last_active: String,
    pub type_label: &'static str,
    pub icon: &'static str,
}

impl DeviceRow {
    pub fn new(device: Device, now: Millis) -> Self {
        let (type_label, icon) = type_label_and_icon(device.device.kind);
        DeviceRow {
            session_id: device.session_id,
            name: device.device.name.as_str().to_owned(),
            model: device.device.model,
            playing: device.streaming.map(|s| s.title),
            ip: device.ip.map(|ip| ip.to_string()),
            place: device.location.map(|l| l.label()),
            current: device.current,
            last_active: ago(device.last_active_at, now),
            type_label,
            icon,
        }
    }
}

#[derive(Template)]
#[template(path = "devices.html")]
pub struct DevicesPage {
    pub frame: Frame,
    pub devices: Vec<DeviceRow>,
}

#[derive(Template)]
#[template(path = "devices_list.html")]
pub struct DevicesFragment {
    pub frame: Frame,
    pub devices: Vec<DeviceRow>,
}

/// The account's devices, this browser first.
pub(super) async fn devices_of(
    state: &AppState,
    browser: &Browser,
) -> Result<Vec<Device>, Response> {
    match state
        .devices()
        .list(browser.session.account_id, browser.session.id)
        .await
    {
        Ok(mut devices) => {
            // This browser first: the row people look for, and never below the fold.
            devices.sort_by_key(|d| !d.current);
            Ok(devices)
        }
        Err(e) => Err(error_page(e)),
    }
}

async fn device_rows(state: &AppState, browser: &Browser) -> Result<Vec<DeviceRow>, Response> {
    let now = state.now();
    Ok(devices_of(state, browser)
        .await?
        .into_iter()
        .map(|d| DeviceRow::new(d, now))
        .collect())
}

pub async fn page(
    State(state): State<AppState>,
    browser: Browser,
    Query(notice): Query<Notice>,
) -> Response {
    match device_rows(&state, &browser).await {
        Ok(devices) => render(
            StatusCode::OK,
            &DevicesPage {
                frame: Frame::page(browser.csrf, "devices", notice.text()),
                devices,
            },
        ),
        Err(response) => response,
    }
}

/// The device list alone, for live refresh.
pub async fn fragment(State(state): State<AppState>, browser: Browser) -> Response {
    match device_rows(&state, &browser).await {
        Ok(devices) => render(
            StatusCode::OK,
            &DevicesFragment {
                frame: Frame::fragment(browser.csrf),
                devices,
            },
        ),
        Err(response) => response,
    }
}

pub async fn sign_out(
    State(state): State<AppState>,
    PageId(id): PageId<SessionId>,
    CheckedForm { browser, .. }: CheckedForm<CsrfOnly>,
) -> Response {
    let session = &browser.session;
    match state.devices().sign_out(session, id, browser.actor()).await {
        Ok(true) if id == session.id => to_sign_in(Some("signed_out"), &state),
        Ok(true) => see_other("/account/devices?notice=device_signed_out", &[]),
        Ok(false) => error_page(Error::NotFound),
        Err(e) => error_page(e),
    }
}

pub async fn rename(
    State(state): State<AppState>,
    PageId(id): PageId<SessionId>,
    CheckedForm { browser, form }: CheckedForm<NameForm>,
) -> Response {
    let name = match DeviceName::parse(&form.name) {
        Ok(name) => name,
        Err(e) => {
            return message_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "That name does not work",
                &e.to_string(),
            )
        }
    };
    let session = &browser.session;
    let renamed = state
        .devices()
        .rename(session.account_id, id, name, browser.actor())
        .await;
    redirect_or_error(renamed, "/account/devices?notice=renamed")
}

/// A readable label and an inline SVG icon per device type (24x24, currentColor).
fn type_label_and_icon(kind: DeviceType) -> (&'static str, &'static str) {
    match kind.as_str() {
        "tv" => ("TV", ICON_TV),
        "phone" => ("Phone", ICON_PHONE),
        "tablet" => ("Tablet", ICON_TABLET),
        "browser" => ("Web browser", ICON_BROWSER),
        "console" => ("Game console", ICON_CONSOLE),
        "streaming_stick" => ("Streaming stick", ICON_STICK),
        "desktop" => ("Computer", ICON_DESKTOP),
        _ => ("Other device", ICON_OTHER),
    }
}

const ICON_TV: &str = r#"<svg viewBox="0 0 24 24" aria-hidden="true"><rect x="2" y="4" width="20" height="13" rx="2"/><path d="M8 21h8M12 17v4"/></svg>"#;
const ICON_PHONE: &str = r#"<svg viewBox="0 0 24 24" aria-hidden="true"><rect x="7" y="2" width="10" height="20" rx="2"/><path d="M11 18h2"/></svg>"#;
const ICON_TABLET: &str = r#"<svg viewBox="0 0 24 24" aria-hidden="true"><rect x="4" y="2" width="16" height="20" rx="2"/><path d="M11 18h2"/></svg>"#;
const ICON_BROWSER: &str = r#"<svg viewBox="0 0 24 24" aria-hidden="true"><rect x="2" y="4" width="20" height="16" rx="2"/><path d="M2 9h20M6 6.5h.01M9 6.5h.01"/></svg>"#;
const ICON_CONSOLE: &str = r#"<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6 8h12a4 4 0 0 1 4 4v1a4 4 0 0 1-7 2.6L14 15h-4l-1 .6A4 4 0 0 1 2 13v-1a4 4 0 0 1 4-4z"/><path d="M7 11v3M5.5 12.5h3M16 12h.01M18 13.5h.01"/></svg>"#;
const ICON_STICK: &str = r#"<svg viewBox="0 0 24 24" aria-hidden="true"><rect x="3" y="9" width="14" height="6" rx="1.5"/><path d="M17 11h4v2h-4"/></svg>"#;
const ICON_DESKTOP: &str = r#"<svg viewBox="0 0 24 24" aria-hidden="true"><rect x="3" y="3" width="18" height="12" rx="2"/><path d="M8 21h8M10 15l-1 6M14 15l1 6"/></svg>"#;
const ICON_OTHER: &str = r#"<svg viewBox="0 0 24 24" aria-hidden="true"><circle cx="12" cy="12" r="9"/><path d="M12 8v4M12 16h.01"/></svg>"#;
