//! `/v1/accounts`, `/v1/account`, `/v1/account/password`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};

use super::AccountOverview;
use crate::domain::{rfc3339, AccountId, Email, NewPassword, PlanName};
use crate::error::Error;
use crate::http::error::ApiError;
use crate::http::extract::{Auth, ClientIp, Json};
use crate::http::state::AppState;
use crate::sessions::Actor;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/accounts", post(create))
        .route("/v1/account", get(overview))
        .route("/v1/account/password", post(change_password))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateAccount {
    email: String,
    password: String,
    plan: Option<String>,
}

#[derive(Serialize)]
struct Created {
    account_id: AccountId,
}

async fn create(
    State(state): State<AppState>,
    Json(body): Json<CreateAccount>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let email = Email::parse(&body.email).map_err(Error::from)?;
    let password = NewPassword::parse(body.password, &email).map_err(Error::from)?;
    let account_id = state
        .accounts()
        .create(email, password, body.plan.map(PlanName))
        .await?;
    Ok((StatusCode::CREATED, Json(Created { account_id })))
}

/// What `GET /v1/account` shows.
#[derive(Debug, Serialize)]
struct OverviewView {
    account_id: AccountId,
    email: String,
    plan: PlanView,
    streams_in_use: u32,
    devices_signed_in: u32,
    created_at: String,
}

#[derive(Debug, Serialize)]
struct PlanView {
    name: String,
    max_streams: u32,
    max_devices: Option<u32>,
}

impl From<AccountOverview> for OverviewView {
    fn from(o: AccountOverview) -> Self {
        Self {
            account_id: o.account.id,
            email: o.account.email.to_string(),
            plan: PlanView {
                name: o.account.plan.0,
                max_streams: o.limits.max_streams,
                max_devices: o.limits.max_devices,
            },
            streams_in_use: o.active_streams.len() as u32,
            devices_signed_in: o.devices_signed_in,
            created_at: rfc3339(o.account.created_at),
        }
    }
}

async fn overview(
    State(state): State<AppState>,
    Auth(session): Auth,
) -> Result<Json<OverviewView>, ApiError> {
    Ok(Json(
        state.accounts().overview(session.account_id).await?.into(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangePassword {
    current_password: String,
    new_password: String,
    #[serde(default = "yes")]
    sign_out_all_devices: bool,
}

fn yes() -> bool {
    true
}

async fn change_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Auth(session): Auth,
    Json(body): Json<ChangePassword>,
) -> Result<StatusCode, ApiError> {
    state
        .accounts()
        .change_password(
            session.account_id,
            body.current_password,
            body.new_password,
            body.sign_out_all_devices,
            Actor::device(&session, ip),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
