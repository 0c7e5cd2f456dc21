//! `/v1/accounts`, `/v1/account`, `/v1/account/password`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use usher_api as api;

use super::AccountOverview;
use crate::domain::{Email, NewPassword};
use crate::error::Error;
use crate::http::error::ApiError;
use crate::http::extract::{Auth, ClientIp, Json};
use crate::http::state::AppState;
use crate::http::wire::timestamp;
use crate::sessions::Actor;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/accounts", post(create))
        .route("/v1/account", get(overview))
        .route("/v1/account/password", post(change_password))
}

/// A public sign-up: admitted (open, no plan, within the address's budget)
/// before anything is parsed or looked up.
async fn create(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<api::CreateAccount>,
) -> Result<(StatusCode, Json<api::AccountCreated>), ApiError> {
    state.accounts().admit_sign_up(ip, body.plan.as_deref())?;
    let email = Email::parse(&body.email).map_err(Error::from)?;
    let password = NewPassword::screen(body.password, email.clone())
        .await
        .map_err(Error::from)?;
    let account_id = state.accounts().create(email, password, None).await?;
    Ok((
        StatusCode::CREATED,
        Json(api::AccountCreated {
            account_id: account_id.to_string(),
        }),
    ))
}

/// What `GET /v1/account` shows.
impl From<AccountOverview> for api::Account {
    fn from(o: AccountOverview) -> Self {
        api::Account {
            account_id: o.account.id.to_string(),
            email: o.account.email.to_string(),
            plan: api::Plan {
                name: o.account.plan.0,
                max_streams: o.limits.max_streams,
                max_devices: o.limits.max_devices,
            },
            streams_in_use: o.active_streams.len() as u32,
            devices_signed_in: o.devices_signed_in,
            created_at: timestamp(o.account.created_at),
        }
    }
}

async fn overview(
    State(state): State<AppState>,
    Auth(session): Auth,
) -> Result<Json<api::Account>, ApiError> {
    Ok(Json(
        state.accounts().overview(session.account_id).await?.into(),
    ))
}

async fn change_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Auth(session): Auth,
    Json(body): Json<api::ChangePassword>,
) -> Result<StatusCode, ApiError> {
    let sign_out_all = body.signs_out_all_devices();
    state
        .accounts()
        .change_password(
            session.account_id,
            body.current_password,
            body.new_password,
            sign_out_all,
            Actor::device(&session, ip),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
