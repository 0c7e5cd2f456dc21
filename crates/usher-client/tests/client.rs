//! The typed client and live channel against a stand-in server.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::Path;
use axum::extract::{ConnectInfo, Query};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use usher_client::{
    Client, DeviceInfo, DeviceType, Error, LiveEvent, Method, SignOutReason, StreamStopReason,
    CLOSE_SIGNED_OUT,
};

use usher_testkit::stand_in::{bearer, problem, serve};

#[tokio::test]
async fn sign_in_sends_the_documented_body() {
    let router = Router::new().route(
        "/v1/sessions",
        post(|Json(body): Json<Value>| async move {
            assert_eq!(
                body,
                json!({"email": "a@example.com", "password": "pw",
                       "device": {"name": "TV", "type": "streaming_stick", "app_version": "1.0"}})
            );
            (
                StatusCode::CREATED,
                Json(
                    json!({"session_id": "ses_1", "access_token": "at", "token_type": "Bearer",
                            "expires_in": 900, "refresh_token": "rt"}),
                ),
            )
        }),
    );
    let client = Client::new(&serve(router).await).expect("client");
    let device = DeviceInfo::new("TV", DeviceType::StreamingStick).app_version("1.0");
    let tokens = client
        .sign_in("a@example.com", "pw", &device)
        .await
        .expect("signs in");
    assert_eq!(tokens.session_id, "ses_1");
    assert_eq!(tokens.expires_in, 900);
}

#[tokio::test]
async fn problems_carry_code_status_and_retry_after() {
    let router = Router::new().route(
        "/v1/sessions",
        post(|| async {
            let mut response = problem(429, "too_many_attempts", json!({"detail": "Wait."}));
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, "42".parse().expect("valid header"));
            response
        }),
    );
    let client = Client::new(&serve(router).await).expect("client");
    let err = client
        .sign_in(
            "a@example.com",
            "pw",
            &DeviceInfo::new("TV", DeviceType::Tv),
        )
        .await
        .expect_err("rate limited");
    assert_eq!(err.code(), Some("too_many_attempts"));
    assert_eq!(err.status(), Some(429));
    let problem = err.problem().expect("a problem");
    assert_eq!(problem.retry_after, Some(42));
    assert_eq!(problem.detail.as_deref(), Some("Wait."));
}

#[tokio::test]
async fn typed_calls_send_the_token() {
    let router = Router::new()
        .route(
            "/v1/devices",
            get(|headers: HeaderMap| async move {
                match bearer(&headers) {
                    Some("tok") => Json(json!({"devices": []})).into_response(),
                    Some(_) => problem(401, "invalid_token", json!({})),
                    None => problem(401, "missing_token", json!({})),
                }
            }),
        )
        .route(
            "/v1/devices/sign-out-all",
            post(|Json(body): Json<Value>| async move {
                assert_eq!(body, json!({"include_current": true}));
                Json(json!({"signed_out": 3}))
            }),
        );
    let anonymous = Client::new(&serve(router).await).expect("client");
    let err = anonymous.devices().await.expect_err("no token");
    assert_eq!(err.code(), Some("missing_token"));
    let client = anonymous.with_token("tok");
    assert!(client.devices().await.expect("lists").is_empty());
    assert_eq!(
        client
            .sign_out_all(true)
            .await
            .expect("signs out")
            .signed_out,
        3
    );
}

#[tokio::test]
async fn raw_requests_return_the_answer_as_is() {
    let router = Router::new().route(
        "/v1/sessions",
        post(|headers: HeaderMap, body: String| async move {
            assert_eq!(headers[header::CONTENT_TYPE], "application/json");
            assert_eq!(body, "{\"email\":");
            assert_eq!(bearer(&headers), Some("tok"));
            problem(422, "invalid_body", json!({"detail": "EOF while parsing"}))
        }),
    );
    let client = Client::new(&serve(router).await)
        .expect("client")
        .with_token("tok");
    let response = client
        .raw(Method::POST, "/v1/sessions")
        .json_text("{\"email\":")
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status, 422);
    assert_eq!(response.content_type(), Some("application/problem+json"));
    assert_eq!(response.json().expect("json")["code"], "invalid_body");
    assert_eq!(response.problem().expect("problem").code, "invalid_body");
    let err = response.error_for_status().expect_err("422");
    assert_eq!(err.code(), Some("invalid_body"));
}

fn active_stream() -> Value {
    json!({"stream_id": "str_1",
           "device": {"session_id": "ses_1", "name": "Living Room TV", "type": "tv"},
           "title": "Dune", "profile": null, "started_at": "2026-11-21T08:03:26.123Z"})
}

/// The first start gets a slot; a start on a profile finds the plan full.
async fn start_stream(headers: HeaderMap, Json(body): Json<Value>) -> Response {
    assert_eq!(bearer(&headers), Some("tok"));
    if body == json!({"title": "Dune"}) {
        let lease = json!({"stream_id": "str_1", "heartbeat_interval": 20,
                           "expires_at": "2026-11-21T08:04:26Z"});
        return (StatusCode::CREATED, Json(lease)).into_response();
    }
    assert_eq!(body, json!({"title": "Arrival", "profile_id": "pro_1"}));
    problem(
        409,
        "too_many_streams",
        json!({"limit": 1, "active": [active_stream()]}),
    )
}

#[tokio::test]
async fn stream_calls_use_the_documented_paths_and_bodies() {
    let router = Router::new()
        .route(
            "/v1/streams",
            post(start_stream).get(|| async { Json(json!({"streams": [active_stream()]})) }),
        )
        .route(
            "/v1/streams/{id}/heartbeat",
            post(|Path(id): Path<String>| async move {
                match id.as_str() {
                    "str_1" => Json(json!({"stream_id": "str_1", "heartbeat_interval": 20,
                                           "expires_at": "2026-11-21T08:04:46Z"}))
                    .into_response(),
                    _ => problem(410, "stream_ended", json!({"reason": "remote"})),
                }
            }),
        )
        .route(
            "/v1/streams/{id}",
            delete(|Path(id): Path<String>| async move {
                match id.as_str() {
                    "str_1" => StatusCode::NO_CONTENT.into_response(),
                    _ => problem(404, "not_found", json!({})),
                }
            }),
        );
    let client = Client::new(&serve(router).await)
        .expect("client")
        .with_token("tok");

    let lease = client.start_stream("Dune", None).await.expect("starts");
    assert_eq!(lease.stream_id, "str_1");
    assert_eq!(lease.heartbeat_every(), std::time::Duration::from_secs(20));

    let err = client
        .start_stream("Arrival", Some("pro_1"))
        .await
        .expect_err("plan full");
    assert_eq!(err.code(), Some("too_many_streams"));
    assert_eq!(err.problem().and_then(|p| p.limit()), Some(1));
    let active = err.active_streams().expect("who is watching");
    assert_eq!(active[0].device.name, "Living Room TV");
    assert_eq!(active[0].device.device_type, DeviceType::Tv);

    let kept = client.heartbeat("str_1").await.expect("kept");
    assert!(kept.expires_at > lease.expires_at);
    let err = client.heartbeat("str_2").await.expect_err("ended");
    assert_eq!(err.status(), Some(410));
    assert_eq!(err.stream_end_reason(), Some(StreamStopReason::Remote));

    client.stop_stream("str_1").await.expect("stops");
    let err = client.stop_stream("str_x").await.expect_err("unknown");
    assert_eq!(err.code(), Some("not_found"));

    let streams = client.streams().await.expect("lists");
    assert_eq!(streams, active);
}

/// Authenticates like usher: the header, or (for browsers) the subprotocol.
async fn live(
    upgrade: WebSocketUpgrade,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let protocols = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let token = bearer(&headers).or_else(|| {
        protocols
            .split(',')
            .map(str::trim)
            .find_map(|p| p.strip_prefix("usher.bearer."))
    });
    match token {
        None => return problem(401, "missing_token", json!({})),
        Some("revoked") => return problem(401, "session_revoked", json!({"reason": "remote"})),
        Some(_) => {}
    }
    let watch = query.iter().any(|(k, v)| k == "watch" && v == "devices");
    upgrade
        .protocols(["usher.v1"])
        .on_upgrade(move |socket| script(socket, watch))
}

async fn script(mut socket: WebSocket, watch: bool) {
    let mut frames = vec![
        json!({"type": "hello", "session_id": "ses_1"}),
        json!({"type": "volume_changed", "level": 3}),
    ];
    if watch {
        frames.push(json!({"type": "devices_changed"}));
    }
    frames.push(
        json!({"type": "signed_out", "reason": "all_devices", "at": "2026-11-21T08:03:26.123Z"}),
    );
    for frame in frames {
        if socket.send(Message::text(frame.to_string())).await.is_err() {
            return;
        }
    }
    let close = CloseFrame {
        code: CLOSE_SIGNED_OUT,
        reason: "signed out".into(),
    };
    let _ = socket.send(Message::Close(Some(close))).await;
    while let Some(Ok(_)) = socket.recv().await {}
}

#[tokio::test]
async fn live_channel_delivers_events_then_the_close() {
    let base = serve(Router::new().route("/v1/live", any(live))).await;
    let client = Client::new(&base).expect("client").with_token("tok");
    let mut connection = client.live(true).await.expect("connects");

    let mut events = Vec::new();
    while let Some(event) = connection.next_event().await {
        events.push(event.expect("valid event"));
    }
    let kinds: Vec<&str> = events.iter().map(LiveEvent::kind).collect();
    assert_eq!(
        kinds,
        [
            "hello",
            "volume_changed",
            "devices_changed",
            "signed_out",
            "closed"
        ]
    );
    assert!(matches!(
        &events[3],
        LiveEvent::SignedOut {
            reason: SignOutReason::AllDevices,
            ..
        }
    ));
    assert_eq!(
        events[4],
        LiveEvent::Closed {
            code: CLOSE_SIGNED_OUT,
            reason: "signed out".into()
        }
    );
    assert!(connection.next_event().await.is_none());
}

#[tokio::test]
async fn live_channel_accepts_the_browser_subprotocol() {
    let base = serve(Router::new().route("/v1/live", any(live))).await;
    let client = Client::new(&base).expect("client").with_token("tok");
    let mut connection = client
        .connect_with_subprotocol_token(false)
        .await
        .expect("connects");
    assert_eq!(connection.protocol(), Some("usher.v1"));
    let first = connection
        .next_event()
        .await
        .expect("an event")
        .expect("valid");
    assert_eq!(
        first,
        LiveEvent::Hello {
            session_id: "ses_1".into()
        }
    );
    connection.close().await.expect("closes");
}

#[tokio::test]
async fn refused_handshakes_are_problems() {
    let base = serve(Router::new().route("/v1/live", any(live))).await;
    let anonymous = Client::new(&base).expect("client");

    let err = anonymous.live(false).await.expect_err("no token");
    assert_eq!(err.code(), Some("missing_token"));
    assert_eq!(err.status(), Some(401));

    let err = anonymous
        .with_token("revoked")
        .live(false)
        .await
        .expect_err("revoked");
    assert_eq!(err.code(), Some("session_revoked"));
    assert_eq!(err.reason(), Some("remote"));
    assert!(matches!(err, Error::Api(_)));
}

/// Says hello with the client's address as its session id.
async fn live_peer(
    upgrade: WebSocketUpgrade,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    upgrade.on_upgrade(move |mut socket| async move {
        let hello = json!({"type": "hello", "session_id": peer.ip().to_string()});
        let _ = socket.send(Message::text(hello.to_string())).await;
        while let Some(Ok(_)) = socket.recv().await {}
    })
}

#[tokio::test]
async fn a_client_from_a_local_address_calls_and_connects_from_it() {
    let router = Router::new()
        .route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }),
        )
        .route("/v1/live", any(live_peer));
    let base = serve(router).await;
    let local: IpAddr = "127.0.0.3".parse().expect("an address");
    let client = Client::from_local_address(&base, local)
        .expect("client")
        .with_token("tok");
    assert_eq!(client.local_address(), Some(local));

    let answer = client
        .raw(Method::GET, "/peer")
        .send()
        .await
        .expect("answered");
    assert_eq!(answer.text(), "127.0.0.3");
    let mut connection = client.live(false).await.expect("connects");
    let hello = connection
        .next_event()
        .await
        .expect("an event")
        .expect("valid");
    assert_eq!(
        hello,
        LiveEvent::Hello {
            session_id: "127.0.0.3".into()
        }
    );
    connection.close().await.expect("closes");
}
