//! `/v1/profiles…` and `POST /v1/sessions/current/profile`.

use axum::extract::State;

use axum::http::StatusCode;
use axum::routing::{get, patch, post, put};
use axum::Router;
use usher_api as api;

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

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/profiles", get(list).post(create))
        .route("/v1/profiles/settings", put(settings))
        .route("/v1/profiles/{profile_id}", patch(rename).delete(delete))
        .route(
            "/v1/profiles/{profile_id}/pin",
            put(set_pin).delete(remove_pin),
        )
        .route("/v1/sessions/current/profile", post(switch))
}

async fn list(
    State(state): State<AppState>,
    Auth(session): Auth,
) -> Result<Json<api::ProfileList>, ApiError> {
    Ok(Json(
        state.profiles().list(session.account_id).await?.into(),
    ))
}

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
