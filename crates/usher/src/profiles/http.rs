//! `/v1/profiles…` and `POST /v1/sessions/current/profile`.

use axum::extract::State;

use axum::http::StatusCode;
use usher_api::{self as api, ProblemCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::{Pin, ProfileId, ProfileName, ProfileUnlock};
use crate::error::Error;
use crate::http::error::ApiError;
use crate::http::extract::{Auth, ClientIp, IdPath, Json, OptionalJson};
use crate::http::state::AppState;
use crate::sessions::Actor;

fn parse_pin(raw: Option<&str>) -> Result<Option<Pin>, Error> {
    Ok(raw.map(Pin::parse).transpose()?)
}

/// What a change of a locked profile carries: its `pin` (checked when both
/// are sent) or the account `password`.
fn parse_unlock(
    pin: Option<&str>,
    password: Option<String>,
) -> Result<Option<ProfileUnlock>, Error> {
    Ok(match parse_pin(pin)? {
        Some(pin) => Some(ProfileUnlock::Pin(pin)),
        None => password.map(ProfileUnlock::Password),
    })
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(settings))
        .routes(routes!(rename, delete))
        .routes(routes!(set_pin, remove_pin))
        .routes(routes!(switch))
}

/// The account's profiles, the default first.
#[utoipa::path(
    get, path = "/v1/profiles", tag = "profiles", operation_id = "list_profiles",
    security(("bearer" = [])),
    responses((status = OK, description = "The profiles.", body = api::ProfileList)),
)]
async fn list(
    State(state): State<AppState>,
    Auth(session): Auth,
) -> Result<Json<api::ProfileList>, ApiError> {
    Ok(Json(
        state.profiles().list(session.account_id).await?.into(),
    ))
}

/// Add a profile (unlocked).
#[utoipa::path(
    post, path = "/v1/profiles", tag = "profiles", operation_id = "create_profile",
    security(("bearer" = [])),
    request_body = api::CreateProfile,
    responses((status = CREATED, description = "The new profile.", body = api::Profile)),
    extensions(("x-problems" = json!([
        ProblemCode::InvalidProfileName, ProblemCode::InvalidPin, ProblemCode::ProfileLimitReached,
        ProblemCode::PinRequired, ProblemCode::WrongPin, ProblemCode::TooManyAttempts,
    ]))),
)]
async fn create(
    State(state): State<AppState>,
    Auth(session): Auth,
    ClientIp(ip): ClientIp,
    Json(body): Json<api::CreateProfile>,
) -> Result<(StatusCode, Json<api::Profile>), ApiError> {
    let name = ProfileName::parse(&body.name).map_err(Error::from)?;
    let pin = parse_pin(body.pin.as_deref())?;
    let actor = Actor::device(&session, ip);
    let created = state.profiles().create(&actor, name, pin).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// Rename a profile (a locked one needs its `pin` or the `password`).
#[utoipa::path(
    patch, path = "/v1/profiles/{profile_id}", tag = "profiles", operation_id = "rename_profile",
    security(("bearer" = [])),
    params(("profile_id" = String, Path, description = "A profile of the account (`prf_…`).")),
    request_body = api::RenameProfile,
    responses((status = OK, description = "The renamed profile.", body = api::Profile)),
    extensions(("x-problems" = json!([
        ProblemCode::NotFound, ProblemCode::InvalidProfileName, ProblemCode::InvalidPin,
        ProblemCode::PinRequired, ProblemCode::WrongPin, ProblemCode::WrongPassword,
        ProblemCode::TooManyAttempts,
    ]))),
)]
async fn rename(
    State(state): State<AppState>,
    Auth(session): Auth,
    ClientIp(ip): ClientIp,
    IdPath(id): IdPath<ProfileId>,
    Json(body): Json<api::RenameProfile>,
) -> Result<Json<api::Profile>, ApiError> {
    let name = ProfileName::parse(&body.name).map_err(Error::from)?;
    let unlock = parse_unlock(body.pin.as_deref(), body.password)?;
    let actor = Actor::device(&session, ip);
    Ok(Json(
        state
            .profiles()
            .rename(&actor, id, name, unlock)
            .await?
            .into(),
    ))
}

/// Delete a profile (a locked one needs its `pin` or the `password`).
///
/// The body may be left out for an unlocked profile.
#[utoipa::path(
    delete, path = "/v1/profiles/{profile_id}", tag = "profiles", operation_id = "delete_profile",
    security(("bearer" = [])),
    params(("profile_id" = String, Path, description = "A profile of the account (`prf_…`).")),
    request_body(content = Option<api::DeleteProfile>, description = "Only for a locked profile."),
    responses((status = NO_CONTENT, description = "The profile is deleted.")),
    extensions(("x-problems" = json!([
        ProblemCode::NotFound, ProblemCode::LastProfile, ProblemCode::DefaultProfile,
        ProblemCode::InvalidPin, ProblemCode::PinRequired, ProblemCode::WrongPin,
        ProblemCode::WrongPassword, ProblemCode::TooManyAttempts,
    ]))),
)]
async fn delete(
    State(state): State<AppState>,
    Auth(session): Auth,
    ClientIp(ip): ClientIp,
    IdPath(id): IdPath<ProfileId>,
    OptionalJson(body): OptionalJson<api::DeleteProfile>,
) -> Result<StatusCode, ApiError> {
    let unlock = parse_unlock(body.pin.as_deref(), body.password)?;
    let actor = Actor::device(&session, ip);
    state.profiles().delete(&actor, id, unlock).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lock a profile with a PIN, or change its PIN.
///
/// Every device on it is sent back to the profile picker.
#[utoipa::path(
    put, path = "/v1/profiles/{profile_id}/pin", tag = "profiles", operation_id = "set_profile_pin",
    security(("bearer" = [])),
    params(("profile_id" = String, Path, description = "A profile of the account (`prf_…`).")),
    request_body = api::SetPin,
    responses((status = OK, description = "The locked profile.", body = api::Profile)),
    extensions(("x-problems" = json!([
        ProblemCode::NotFound, ProblemCode::InvalidPin, ProblemCode::WrongPassword,
        ProblemCode::TooManyAttempts,
    ]))),
)]
async fn set_pin(
    State(state): State<AppState>,
    Auth(session): Auth,
    ClientIp(ip): ClientIp,
    IdPath(id): IdPath<ProfileId>,
    Json(body): Json<api::SetPin>,
) -> Result<Json<api::Profile>, ApiError> {
    let pin = Pin::parse(&body.pin).map_err(Error::from)?;
    let actor = Actor::device(&session, ip);
    Ok(Json(
        state
            .profiles()
            .set_pin(&actor, id, body.password, pin)
            .await?
            .into(),
    ))
}

/// Unlock a profile.
#[utoipa::path(
    delete, path = "/v1/profiles/{profile_id}/pin", tag = "profiles", operation_id = "remove_profile_pin",
    security(("bearer" = [])),
    params(("profile_id" = String, Path, description = "A profile of the account (`prf_…`).")),
    request_body = api::RemovePin,
    responses((status = OK, description = "The unlocked profile.", body = api::Profile)),
    extensions(("x-problems" = json!([
        ProblemCode::NotFound, ProblemCode::WrongPassword, ProblemCode::TooManyAttempts,
    ]))),
)]
async fn remove_pin(
    State(state): State<AppState>,
    Auth(session): Auth,
    ClientIp(ip): ClientIp,
    IdPath(id): IdPath<ProfileId>,
    Json(body): Json<api::RemovePin>,
) -> Result<Json<api::Profile>, ApiError> {
    let actor = Actor::device(&session, ip);
    Ok(Json(
        state
            .profiles()
            .remove_pin(&actor, id, body.password)
            .await?
            .into(),
    ))
}

/// Require the default profile's PIN to add profiles, or stop requiring it.
#[utoipa::path(
    put, path = "/v1/profiles/settings", tag = "profiles", operation_id = "set_profile_settings",
    security(("bearer" = [])),
    request_body = api::ProfileSettings,
    responses((status = OK, description = "The profiles and the setting.", body = api::ProfileList)),
    extensions(("x-problems" = json!([
        ProblemCode::WrongPassword, ProblemCode::DefaultProfileUnlocked, ProblemCode::TooManyAttempts,
    ]))),
)]
async fn settings(
    State(state): State<AppState>,
    Auth(session): Auth,
    ClientIp(ip): ClientIp,
    Json(body): Json<api::ProfileSettings>,
) -> Result<Json<api::ProfileList>, ApiError> {
    let actor = Actor::device(&session, ip);
    Ok(Json(
        state
            .profiles()
            .set_require_pin_to_add(&actor, body.password, body.require_pin_to_add)
            .await?
            .into(),
    ))
}

/// Put this device on a profile (a locked one needs its `pin`).
#[utoipa::path(
    post, path = "/v1/sessions/current/profile", tag = "sessions", operation_id = "switch_profile",
    security(("bearer" = [])),
    request_body = api::SwitchProfile,
    responses((status = OK, description = "The profile this device is on now.", body = api::ProfileRef)),
    extensions(("x-problems" = json!([
        ProblemCode::NotFound, ProblemCode::InvalidPin, ProblemCode::PinRequired,
        ProblemCode::WrongPin, ProblemCode::TooManyAttempts,
    ]))),
)]
async fn switch(
    State(state): State<AppState>,
    Auth(session): Auth,
    Json(body): Json<api::SwitchProfile>,
) -> Result<Json<api::ProfileRef>, ApiError> {
    // Text on the wire, so a malformed id is answered like another
    // account's: 404.
    let id: ProfileId = body.profile_id.parse().map_err(|_| ApiError::not_found())?;
    let pin = parse_pin(body.pin.as_deref())?;
    Ok(Json(
        state.profiles().switch(&session, id, pin).await?.into(),
    ))
}
