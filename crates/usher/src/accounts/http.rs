//! `/v1/accounts`, `/v1/account`, `/v1/account/password`.

use axum::extract::State;
use axum::http::StatusCode;
use usher_api::{self as api, ProblemCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AccountOverview;
use crate::domain::{Email, NewPassword};
use crate::error::Error;
use crate::http::error::ApiError;
use crate::http::extract::{Auth, ClientIp, Json};
use crate::http::state::AppState;
use crate::http::wire::timestamp;
use crate::sessions::Actor;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(overview))
        .routes(routes!(change_password))
}

/// Sign up.
///
/// A public sign-up names no plan and starts on the server's default plan.
/// It is admitted (sign-up open, no plan, within the address's budget)
/// before its email or password is judged.
#[utoipa::path(
    post, path = "/v1/accounts", tag = "accounts", operation_id = "create_account",
    request_body = api::CreateAccount,
    responses((status = CREATED, description = "The account is created.", body = api::AccountCreated)),
    extensions(("x-problems" = json!([
        ProblemCode::SignUpDisabled, ProblemCode::PlanNotAllowed, ProblemCode::TooManyAttempts,
        ProblemCode::InvalidEmail, ProblemCode::WeakPassword, ProblemCode::EmailTaken,
    ]))),
)]
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

/// The account: plan, limits, streams in use.
#[utoipa::path(
    get, path = "/v1/account", tag = "accounts", operation_id = "get_account",
    security(("bearer" = [])),
    responses((status = OK, description = "The account.", body = api::Account)),
)]
async fn overview(
    State(state): State<AppState>,
    Auth(session): Auth,
) -> Result<Json<api::Account>, ApiError> {
    Ok(Json(
        state.accounts().overview(session.account_id).await?.into(),
    ))
}

/// Change the password.
///
/// Signs every device out (this one included) unless
/// `sign_out_all_devices` is `false`.
#[utoipa::path(
    post, path = "/v1/account/password", tag = "accounts", operation_id = "change_password",
    security(("bearer" = [])),
    request_body = api::ChangePassword,
    responses((status = NO_CONTENT, description = "The password is changed.")),
    extensions(("x-problems" = json!([
        ProblemCode::WrongPassword, ProblemCode::WeakPassword, ProblemCode::TooManyAttempts,
    ]))),
)]
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
