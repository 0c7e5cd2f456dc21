//! `/v1/profiles…` and `POST /v1/sessions/current/profile`.

use axum::extract::State;

use axum::http::StatusCode;
use axum::routing::{get, patch, post, put};
use axum::Router;
use serde::Deserialize;

use crate::domain::ProfileId;
use crate::http::error::ApiError;
use crate::http::extract::{Auth, ClientIp, IdPath, Json};
use crate::http::AppState;
use crate::profiles::service::{Actor, ProfileList, ProfileRefView, ProfileView};

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
) -> Result<Json<ProfileList>, ApiError> {
    Ok(Json(state.usher.profiles(session.account_id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Create {
    name: String,
    /// The default profile's PIN, when the account requires it to add profiles.
    pin: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    Auth(session): Auth,
    ClientIp(ip): ClientIp,
    Json(body): Json<Create>,
) -> Result<(StatusCode, Json<ProfileView>), ApiError> {
    let actor = Actor::device(&session, ip);
    let created = state
        .usher
        .create_profile(&actor, &body.name, body.pin.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rename {
    name: String,
}

async fn rename(
    State(state): State<AppState>,
    Auth(session): Auth,
    ClientIp(ip): ClientIp,
    IdPath(id): IdPath<ProfileId>,
    Json(body): Json<Rename>,
) -> Result<Json<ProfileView>, ApiError> {
    let actor = Actor::device(&session, ip);
    Ok(Json(
        state.usher.rename_profile(&actor, id, &body.name).await?,
    ))
}

async fn delete(
    State(state): State<AppState>,
    Auth(session): Auth,
    ClientIp(ip): ClientIp,
    IdPath(id): IdPath<ProfileId>,
) -> Result<StatusCode, ApiError> {
    let actor = Actor::device(&session, ip);
    state.usher.delete_profile(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetPin {
    password: String,
    pin: String,
}

async fn set_pin(
    State(state): State<AppState>,
    Auth(session): Auth,
    ClientIp(ip): ClientIp,
    IdPath(id): IdPath<ProfileId>,
    Json(body): Json<SetPin>,
) -> Result<Json<ProfileView>, ApiError> {
    let actor = Actor::device(&session, ip);
    Ok(Json(
        state
            .usher
            .set_profile_pin(&actor, id, body.password, &body.pin)
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Password {
    password: String,
}

async fn remove_pin(
    State(state): State<AppState>,
    Auth(session): Auth,
    ClientIp(ip): ClientIp,
    IdPath(id): IdPath<ProfileId>,
    Json(body): Json<Password>,
) -> Result<Json<ProfileView>, ApiError> {
    let actor = Actor::device(&session, ip);
    Ok(Json(
        state
            .usher
            .remove_profile_pin(&actor, id, body.password)
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    password: String,
    require_pin_to_add: bool,
}

async fn settings(
    State(state): State<AppState>,
    Auth(session): Auth,
    ClientIp(ip): ClientIp,
    Json(body): Json<Settings>,
) -> Result<Json<ProfileList>, ApiError> {
    let actor = Actor::device(&session, ip);
    Ok(Json(
        state
            .usher
            .set_require_pin_to_add(&actor, body.password, body.require_pin_to_add)
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Switch {
    /// Text, so a malformed id is answered like another account's: 404.
    profile_id: String,
    pin: Option<String>,
}

async fn switch(
    State(state): State<AppState>,
    Auth(session): Auth,
    Json(body): Json<Switch>,
) -> Result<Json<ProfileRefView>, ApiError> {
    let id: ProfileId = body.profile_id.parse().map_err(|_| ApiError::not_found())?;
    Ok(Json(
        state
            .usher
            .switch_profile(&session, id, body.pin.as_deref())
            .await?,
    ))
}
