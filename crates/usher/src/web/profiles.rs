//! The profiles page: list, add, rename, delete, PIN locks (each confirmed
//! with the account password) and "require PIN to add profiles". Renaming
//! or deleting a locked profile asks for its PIN or the account password.
//!
//! A refused form re-renders the page with the error next to the form that
//! caused it and what was typed kept (never a password or PIN).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::auth::{see_other, Browser, CheckedForm, PageId};
use super::layout::{error_page, render, Frame, Notice};
use crate::domain::{Pin, ProfileId, ProfileName, ProfileUnlock};
use crate::error::Error;
use crate::http::state::AppState;
use crate::profiles::MAX_PROFILES;
use crate::store::ProfileRecord;

/// One profile's row, with the error of its last refused form.
pub struct ProfileRow {
    pub profile_id: ProfileId,
    pub name: String,
    pub locked: bool,
    pub default: bool,
    pub error: Option<String>,
    /// Which of its panels to show open: `rename`, `pin` or `delete`.
    pub open: &'static str,
}

impl ProfileRow {
    fn new(p: ProfileRecord) -> Self {
        Self {
            profile_id: p.id,
            name: p.name,
            locked: p.pin_hash.is_some(),
            default: p.is_default,
            error: None,
            open: "",
        }
    }
}

#[derive(Template)]
#[template(path = "profiles.html")]
pub struct ProfilesPage {
    pub frame: Frame,
    pub profiles: Vec<ProfileRow>,
    pub max_profiles: u32,
    pub require_pin_to_add: bool,
    pub default_locked: bool,
    pub add_name: String,
    pub add_error: Option<String>,
    pub settings_error: Option<String>,
}

/// Where a refused form's error goes.
enum Failed<'a> {
    Add { name: &'a str },
    Profile { id: ProfileId, open: &'static str },
    Settings,
}

pub async fn page(
    State(state): State<AppState>,
    browser: Browser,
    Query(notice): Query<Notice>,
) -> Response {
    render_page(&state, browser, StatusCode::OK, notice.text(), None).await
}

async fn render_page(
    state: &AppState,
    browser: Browser,
    status: StatusCode,
    notice: Option<&'static str>,
    failed: Option<(Failed<'_>, String)>,
) -> Response {
    let list = match state.profiles().list(browser.session.account_id).await {
        Ok(list) => list,
        Err(e) => return error_page(e),
    };
    let mut page = ProfilesPage {
        frame: Frame::page(browser.csrf, "profiles", notice),
        default_locked: list
            .profiles
            .iter()
            .any(|p| p.is_default && p.pin_hash.is_some()),
        profiles: list.profiles.into_iter().map(ProfileRow::new).collect(),
        max_profiles: MAX_PROFILES,
        require_pin_to_add: list.require_pin_to_add,
        add_name: String::new(),
        add_error: None,
        settings_error: None,
    };
    match failed {
        Some((Failed::Add { name }, text)) => {
            page.add_name = name.to_owned();
            page.add_error = Some(text);
        }
        Some((Failed::Profile { id, open }, text)) => {
            if let Some(row) = page.profiles.iter_mut().find(|r| r.profile_id == id) {
                row.error = Some(text);
                row.open = open;
            }
        }
        Some((Failed::Settings, text)) => page.settings_error = Some(text),
        None => {}
    }
    render(status, &page)
}

/// The page again with `error` where it belongs, or an error page for
/// failures no form can fix.
async fn refused(state: &AppState, browser: Browser, failed: Failed<'_>, e: Error) -> Response {
    let (status, text) = match (&failed, e) {
        // A change of a locked profile, refused without its PIN or password.
        (Failed::Profile { .. }, Error::PinRequired) => (
            StatusCode::FORBIDDEN,
            "This profile is locked: enter its PIN or your account password.".to_owned(),
        ),
        (Failed::Profile { .. }, Error::WrongPin) => (
            StatusCode::FORBIDDEN,
            "That is not this profile's PIN. Nothing was changed.".to_owned(),
        ),
        (_, e) => match refusal_text(e) {
            Ok(refusal) => refusal,
            Err(other) => return error_page(other),
        },
    };
    render_page(state, browser, status, None, Some((failed, text))).await
}

/// What the page says next to a form for a refusal it can fix; `Err` for
/// the failures no form can fix.
fn refusal_text(e: Error) -> Result<(StatusCode, String), Error> {
    Ok(match e {
        Error::InvalidProfileName(invalid) => {
            (StatusCode::UNPROCESSABLE_ENTITY, invalid.to_string())
        }
        Error::InvalidPin => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "A PIN is exactly four digits (0-9).".to_owned(),
        ),
        Error::WrongPassword => (
            StatusCode::FORBIDDEN,
            "That is not your account password. Nothing was changed.".to_owned(),
        ),
        Error::ProfileLimitReached { limit } => (
            StatusCode::CONFLICT,
            format!("An account can have {limit} profiles. Delete one to add another."),
        ),
        Error::PinRequired => (
            StatusCode::FORBIDDEN,
            "Enter the default profile's PIN to add a profile.".to_owned(),
        ),
        Error::WrongPin => (
            StatusCode::FORBIDDEN,
            "That is not the default profile's PIN.".to_owned(),
        ),
        Error::LastProfile => (
            StatusCode::CONFLICT,
            "An account needs at least one profile.".to_owned(),
        ),
        Error::DefaultProfile => (
            StatusCode::CONFLICT,
            "The default profile cannot be deleted.".to_owned(),
        ),
        Error::DefaultProfileUnlocked => (
            StatusCode::CONFLICT,
            "Lock the default profile with a PIN first: that is the PIN asked for.".to_owned(),
        ),
        Error::TooManyAttempts { retry_after } | Error::TooManyPinAttempts { retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many attempts. Wait {} seconds, then try again.",
                retry_after.as_secs().max(1)
            ),
        ),
        other => return Err(other),
    })
}

#[derive(Deserialize)]
pub struct AddForm {
    name: String,
    /// The default profile's PIN, when adding requires it.
    pin: Option<String>,
}

pub async fn add(
    State(state): State<AppState>,
    CheckedForm { browser, form }: CheckedForm<AddForm>,
) -> Response {
    let actor = browser.actor();
    let pin = form.pin.as_deref().filter(|p| !p.is_empty());
    let parsed = ProfileName::parse(&form.name)
        .map_err(Error::from)
        .and_then(|name| Ok((name, pin.map(Pin::parse).transpose()?)));
    let created = match parsed {
        Ok((name, pin)) => state.profiles().create(&actor, name, pin).await,
        Err(e) => Err(e),
    };
    match created {
        Ok(_) => see_other("/account/profiles?notice=profile_added", &[]),
        Err(e) => refused(&state, browser, Failed::Add { name: &form.name }, e).await,
    }
}

/// What opens a locked profile: one field for its PIN or the account
/// password (absent on an unlocked profile's forms).
#[derive(Deserialize)]
pub struct UnlockForm {
    #[serde(default)]
    unlock: String,
}

#[derive(Deserialize)]
pub struct RenameForm {
    name: String,
    #[serde(flatten)]
    unlock: UnlockForm,
}

pub async fn rename(
    State(state): State<AppState>,
    PageId(id): PageId<ProfileId>,
    CheckedForm { browser, form }: CheckedForm<RenameForm>,
) -> Response {
    let actor = browser.actor();
    let unlock = ProfileUnlock::from_entry(form.unlock.unlock);
    let renamed = match ProfileName::parse(&form.name) {
        Ok(name) => state.profiles().rename(&actor, id, name, unlock).await,
        Err(e) => Err(e.into()),
    };
    match renamed {
        Ok(_) => see_other("/account/profiles?notice=profile_renamed", &[]),
        Err(e) => refused(&state, browser, Failed::Profile { id, open: "rename" }, e).await,
    }
}

pub async fn delete(
    State(state): State<AppState>,
    PageId(id): PageId<ProfileId>,
    CheckedForm { browser, form }: CheckedForm<UnlockForm>,
) -> Response {
    let actor = browser.actor();
    let unlock = ProfileUnlock::from_entry(form.unlock);
    match state.profiles().delete(&actor, id, unlock).await {
        Ok(()) => see_other("/account/profiles?notice=profile_deleted", &[]),
        Err(e) => refused(&state, browser, Failed::Profile { id, open: "delete" }, e).await,
    }
}

#[derive(Deserialize)]
pub struct PinForm {
    password: String,
    pin: String,
}

pub async fn set_pin(
    State(state): State<AppState>,
    PageId(id): PageId<ProfileId>,
    CheckedForm { browser, form }: CheckedForm<PinForm>,
) -> Response {
    let actor = browser.actor();
    let set = match Pin::parse(&form.pin) {
        Ok(pin) => {
            state
                .profiles()
                .set_pin(&actor, id, form.password, pin)
                .await
        }
        Err(e) => Err(e.into()),
    };
    match set {
        Ok(_) => see_other("/account/profiles?notice=profile_locked", &[]),
        Err(e) => refused(&state, browser, Failed::Profile { id, open: "pin" }, e).await,
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    password: String,
}

pub async fn remove_pin(
    State(state): State<AppState>,
    PageId(id): PageId<ProfileId>,
    CheckedForm { browser, form }: CheckedForm<PasswordForm>,
) -> Response {
    let actor = browser.actor();
    match state.profiles().remove_pin(&actor, id, form.password).await {
        Ok(_) => see_other("/account/profiles?notice=pin_removed", &[]),
        Err(e) => refused(&state, browser, Failed::Profile { id, open: "pin" }, e).await,
    }
}

#[derive(Deserialize)]
pub struct SettingsForm {
    password: String,
    require_pin_to_add: Option<String>,
}

pub async fn settings(
    State(state): State<AppState>,
    CheckedForm { browser, form }: CheckedForm<SettingsForm>,
) -> Response {
    let actor = browser.actor();
    let on = form.require_pin_to_add.is_some();
    match state
        .profiles()
        .set_require_pin_to_add(&actor, form.password, on)
        .await
    {
        Ok(_) => see_other("/account/profiles?notice=profile_settings_saved", &[]),
        Err(e) => refused(&state, browser, Failed::Settings, e).await,
    }
}
