//! Extractors that turn requests into domain inputs, rejecting bad ones as problem+json.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::state::AppState;
use crate::error::Error;
use crate::sessions::cache::CachedSession;

/// A JSON request body read by [`super::strict_json`] (objects where
/// objects are expected, refusals in words), sent as `application/json` (or
/// `application/*+json`) and within the body limit; rejections are
/// problem+json. As an answer, plain JSON.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if !json_content_type(request.headers()) {
            return Err(ApiError::unsupported_media_type());
        }
        let bytes = Bytes::from_request(request, state).await?;
        Ok(Json(super::strict_json::from_slice(&bytes)?))
    }
}

/// A JSON body that may be left out (a `DELETE` that needs one only
/// sometimes): an empty body reads as `T::default()`, whatever its
/// `Content-Type`; anything else is read as [`Json`] reads it.
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let json = json_content_type(request.headers());
        let bytes = Bytes::from_request(request, state).await?;
        if bytes.is_empty() {
            return Ok(OptionalJson(T::default()));
        }
        if !json {
            return Err(ApiError::unsupported_media_type());
        }
        Ok(OptionalJson(super::strict_json::from_slice(&bytes)?))
    }
}

/// `application/json`, or a `+json` type, as `axum::Json` accepts.
fn json_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<mime::Mime>().ok())
        .is_some_and(|mime| {
            mime.type_() == "application"
                && (mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json"))
        })
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Query` with rejections rendered as problem+json.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// The client's address: the peer's, or, when the peer is a trusted proxy,
/// the one its forwarding header names (see [`super::forwarded`]).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        Ok(ClientIp(peer.map(|peer| {
            super::forwarded::client_address(&state.geo, peer, &parts.headers)
        })))
    }
}

/// The bearer token of the request, if any.
pub fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// An authenticated device session.
pub struct Auth(pub Arc<CachedSession>);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state)
            .await
            .unwrap_or(ClientIp(None));
        let token = bearer_token(parts).ok_or(Error::MissingToken)?;
        Ok(Auth(state.sessions().check(token, ip).await?))
    }
}

/// A typed id (`SessionId`, `StreamId`, `ProfileId`, …) from the path; a
/// malformed one is simply not found, like another account's.
pub struct IdPath<T>(pub T);

impl<S: Send + Sync, T: std::str::FromStr> FromRequestParts<S> for IdPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await?;
        raw.parse().map(IdPath).map_err(|_| ApiError::not_found())
    }
}
