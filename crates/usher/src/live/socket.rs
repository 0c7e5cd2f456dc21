//! `GET /v1/live`: one task per connected device.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::response::Response;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use usher_api::{
    LiveEvent, ProblemCode, BEARER_SUBPROTOCOL_PREFIX, CLOSE_GOING_AWAY, CLOSE_REPLACED,
    CLOSE_SIGNED_OUT, CLOSE_TRY_AGAIN_LATER, SUBPROTOCOL,
};

use super::registry::Outbound;
use super::{frame, signed_out_message};
use crate::error::Error;
use crate::http::error::ApiError;
use crate::http::extract::{bearer_token, ClientIp};
use crate::http::state::AppState;
use crate::sessions::cache::CachedSession;

pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(upgrade))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct LiveQuery {
    /// `devices`: also send `devices_changed` when the account's device
    /// list changes (the account pages).
    #[param(inline, value_type = Option<Watch>)]
    watch: Option<String>,
}

/// What a live connection may watch besides its own session.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A schema only: the query holds text, refused in words.
enum Watch {
    #[schema(rename = "devices")]
    Devices,
}

fn protocol_token(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find_map(|p| p.strip_prefix(BEARER_SUBPROTOCOL_PREFIX).map(str::to_owned))
}

/// The token from `Authorization`, else from the subprotocol list.
struct LiveToken(Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for LiveToken {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(LiveToken(
            bearer_token(parts)
                .map(str::to_owned)
                .or_else(|| protocol_token(parts)),
        ))
    }
}

/// The device's live channel (a WebSocket).
///
/// The server sends `LiveEvent` text frames (`hello` first) and ends the
/// connection with a `LiveCloseCode`. Browsers,
/// which cannot set `Authorization` on a WebSocket, offer the subprotocols
/// `usher.v1` and `usher.bearer.<access token>`; the server selects `usher.v1`.
#[utoipa::path(
    get, path = "/v1/live", tag = "live", operation_id = "live",
    security(("bearer" = []), ("live_subprotocol" = [])),
    params(LiveQuery),
    responses(
        (status = SWITCHING_PROTOCOLS, description = "The WebSocket is open; its frames are `LiveEvent`s, its close codes `LiveCloseCode`s."),
    ),
    extensions(("x-problems" = json!([ProblemCode::WebsocketRequired]))),
)]
async fn upgrade(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    LiveToken(token): LiveToken,
    query: Result<Query<LiveQuery>, axum::extract::rejection::QueryRejection>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let token = token.ok_or(Error::MissingToken)?;
    let session = state.sessions().check(&token, ip).await?;
    let Query(query) = query?;
    let watch = match query.watch.as_deref() {
        None => false,
        Some("devices") => true,
        Some(_) => {
            return Err(ApiError::new(ProblemCode::InvalidQuery, "Invalid query")
                .detail("`watch` may only be `devices`."))
        }
    };
    let ws = ws.map_err(|r| {
        ApiError::new(ProblemCode::WebsocketRequired, "WebSocket required").detail(r.body_text())
    })?;
    let ping_every = Duration::from_secs(state.config.live.ping_interval_secs.max(1));
    let tracker = state.tracker.clone();
    let shutdown = state.shutdown.clone();
    let registry = Arc::clone(&state.services.live);
    let ws = ws
        .protocols([SUBPROTOCOL])
        // Devices send nothing but pongs and close frames: tiny buffers keep
        // an idle connection to a few KiB (the defaults reserve 128 KiB).
        .read_buffer_size(512)
        .write_buffer_size(0)
        .max_write_buffer_size(64 * 1024)
        .max_message_size(4 * 1024)
        .max_frame_size(4 * 1024);
    Ok(ws.on_upgrade(move |socket| {
        tracker.track_future(async move {
            let (registration, rx) = registry.register(session.id, session.account_id, watch);
            serve(socket, session, rx, shutdown, ping_every).await;
            drop(registration);
        })
    }))
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

async fn serve(
    mut socket: WebSocket,
    session: Arc<CachedSession>,
    mut rx: tokio::sync::mpsc::Receiver<Outbound>,
    shutdown: CancellationToken,
    ping_every: Duration,
) {
    let hello = frame(&LiveEvent::Hello {
        session_id: session.id.to_string(),
    });
    if socket.send(Message::Text(hello.into())).await.is_err() {
        return;
    }
    // Registered before this check, so a revocation is either seen here or
    // delivered through the queue: never missed.
    if let Some(r) = session.revoked() {
        if let Outbound::SignedOut { text, .. } = signed_out_message(r.reason, r.at) {
            let _ = socket.send(Message::Text(Utf8Bytes::from(&*text))).await;
        }
        close(&mut socket, CLOSE_SIGNED_OUT, "signed_out").await;
        return;
    }
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    let mut awaiting_pong = false;
    loop {
        tokio::select! {
            biased;
            outbound = rx.recv() => match outbound {
                Some(Outbound::Event { text, .. }) => {
                    if socket.send(Message::Text(Utf8Bytes::from(&*text))).await.is_err() {
                        return;
                    }
                }
                Some(Outbound::SignedOut { text, .. }) => {
                    let _ = socket.send(Message::Text(Utf8Bytes::from(&*text))).await;
                    close(&mut socket, CLOSE_SIGNED_OUT, "signed_out").await;
                    return;
                }
                Some(Outbound::Replaced(why)) => {
                    close(&mut socket, CLOSE_REPLACED, why.close_reason()).await;
                    return;
                }
                Some(Outbound::NodeStale) => {
                    close(&mut socket, CLOSE_TRY_AGAIN_LATER, "node behind: reconnect").await;
                    return;
                }
                None => return,
            },
            _ = shutdown.cancelled() => {
                close(&mut socket, CLOSE_GOING_AWAY, "server shutting down").await;
                return;
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None => return,
                Some(Err(e)) => {
                    let (code, reason) = refusal(&e);
                    close(&mut socket, code, reason).await;
                    return;
                }
                // The protocol has nothing for a device to say: any frame
                // only shows it is alive (browsers, which cannot ping, send text).
                Some(Ok(_)) => awaiting_pong = false,
            },
            _ = ping.tick() => {
                if awaiting_pong {
                    // No answer for a whole interval: the device is gone.
                    return;
                }
                awaiting_pong = true;
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// The close code (RFC 6455 §7.4.1) for what a device sent that could not be
/// read: too big, text that is not UTF-8, or anything else that breaks the
/// protocol. Sent if the connection can still take it.
fn refusal(error: &axum::Error) -> (u16, &'static str) {
    use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
    let cause = std::error::Error::source(error).and_then(|e| e.downcast_ref::<WsError>());
    match cause {
        Some(WsError::Capacity(CapacityError::MessageTooLong { .. })) => (1009, "message too big"),
        Some(WsError::Utf8(_)) => (1007, "text is not UTF-8"),
        _ => (1002, "protocol error"),
    }
}
