//! `/v1/accounts`, `/v1/account`, `/v1/account/password`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use crate::core::Actor;
use crate::http::error::ApiError;
use crate::http::extract::{Auth, ClientIp, Json};
use crate::http::AppState;

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

async fn create(
    State(state): State<AppState>,
    Json(body): Json<CreateAccount>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let id = state
        .usher
        .create_account(&body.email, body.password, body.plan)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "account_id": id })),
    ))
}

async fn overview(
    State(state): State<AppState>,
    Auth(session): Auth,
) -> Result<Json<crate::accounts::service::AccountOverview>, ApiError> {
    Ok(Json(
        state.usher.account_overview(session.account_id).await?,
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
        .usher
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
