//! The `usher device` simulator against a stand-in server: token refresh,
//! revoked sessions, the state file and `watch` reconnects.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use usher_client::device_cli::{exit_code, run, DeviceArgs, DeviceCommand, EXIT_SIGNED_OUT};

use usher_testkit::stand_in::{bearer, problem, serve};
use usher_testkit::PATIENCE;

/// What the stand-in server saw, and where the device keeps its state.
struct Mock {
    state_path: PathBuf,
    refreshes: AtomicUsize,
    live_connections: AtomicUsize,
}

type Shared = State<Arc<Mock>>;

fn setup() -> (tempfile::TempDir, Arc<Mock>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mock = Arc::new(Mock {
        state_path: dir.path().join("device.json"),
        refreshes: AtomicUsize::new(0),
        live_connections: AtomicUsize::new(0),
    });
    (dir, mock)
}

fn args(server: &str, mock: &Mock, command: DeviceCommand) -> DeviceArgs {
    DeviceArgs {
        server: Some(server.to_owned()),
        state: mock.state_path.clone(),
        command,
    }
}

fn write_state(path: &Path, access: &str, refresh: &str) {
    let state = json!({
        "server": "http://unused.invalid", "session_id": "ses_1",
        "access_token": access, "refresh_token": refresh,
        "device": {"name": "Living Room TV", "type": "tv"}
    });
    std::fs::write(path, state.to_string()).expect("writes state");
}

fn read_state(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("reads state")).expect("json")
}

/// `rt_1` rotates to `at_2`/`rt_2` once; anything else is a reuse.
async fn refresh(State(mock): Shared, Json(body): Json<Value>) -> Response {
    mock.refreshes.fetch_add(1, Ordering::SeqCst);
    if body["refresh_token"] != "rt_1" {
        return problem(401, "refresh_token_reused", json!({}));
    }
    Json(
        json!({"session_id": "ses_1", "access_token": "at_2", "token_type": "Bearer",
                "expires_in": 900, "refresh_token": "rt_2"}),
    )
    .into_response()
}

/// The answer refusing `headers`' token: `at_2` is valid, `at_1` has expired.
fn refusal(headers: &HeaderMap) -> Option<Response> {
    match bearer(headers) {
        Some("at_2") => None,
        Some("at_1") => Some(problem(401, "token_expired", json!({}))),
        _ => Some(problem(401, "invalid_token", json!({}))),
    }
}

async fn current(headers: HeaderMap) -> Response {
    if let Some(refused) = refusal(&headers) {
        return refused;
    }
    Json(json!({"session_id": "ses_1", "account_id": "acc_1",
                "device": {"name": "Living Room TV", "type": "tv", "model": null, "app_version": null},
                "profile_id": null}))
    .into_response()
}

#[tokio::test]
async fn expired_token_is_refreshed_once_and_saved() {
    let (_dir, mock) = setup();
    write_state(&mock.state_path, "at_1", "rt_1");
    let router = Router::new()
        .route("/v1/sessions/current", get(current))
        .route("/v1/sessions/refresh", post(refresh))
        .with_state(mock.clone());
    let base = serve(router).await;

    run(args(&base, &mock, DeviceCommand::Whoami))
        .await
        .expect("whoami");
    let saved = read_state(&mock.state_path);
    assert_eq!(saved["access_token"], "at_2");
    assert_eq!(saved["refresh_token"], "rt_2");
    assert_eq!(mock.refreshes.load(Ordering::SeqCst), 1);

    // The rotated pair is used from now on: no second refresh.
    run(args(&base, &mock, DeviceCommand::Whoami))
        .await
        .expect("whoami");
    assert_eq!(mock.refreshes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_pair_rotated_by_another_process_is_adopted() {
    let (_dir, mock) = setup();
    write_state(&mock.state_path, "at_1", "rt_1");
    // While this command waits, "another process" rotates the pair on disk.
    let devices = |State(mock): Shared, headers: HeaderMap| async move {
        if bearer(&headers) == Some("at_1") {
            write_state(&mock.state_path, "at_2", "rt_2");
        }
        refusal(&headers).unwrap_or_else(|| Json(json!({"devices": []})).into_response())
    };
    let router = Router::new()
        .route("/v1/devices", get(devices))
        .route("/v1/sessions/refresh", post(refresh))
        .with_state(mock.clone());
    let base = serve(router).await;

    run(args(&base, &mock, DeviceCommand::Devices))
        .await
        .expect("lists devices");
    assert_eq!(mock.refreshes.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn revoked_session_exits_with_3() {
    let (_dir, mock) = setup();
    write_state(&mock.state_path, "at_2", "rt_2");
    let router = Router::new().route(
        "/v1/devices",
        get(|| async {
            problem(
                401,
                "session_revoked",
                json!({"reason": "password_changed"}),
            )
        }),
    );
    let base = serve(router).await;

    let err = run(args(&base, &mock, DeviceCommand::Devices))
        .await
        .expect_err("revoked");
    assert_eq!(exit_code(&err), ExitCode::from(EXIT_SIGNED_OUT));
    // The state stays: the next command shows the reason again.
    assert!(mock.state_path.exists());
}

#[tokio::test]
async fn sign_in_saves_a_private_state_file_and_sign_out_removes_it() {
    let (_dir, mock) = setup();
    let router = Router::new()
        .route(
            "/v1/sessions",
            post(|Json(body): Json<Value>| async move {
                assert_eq!(body["device"], json!({"name": "Living Room TV", "type": "tv", "model": "X1"}));
                (
                    StatusCode::CREATED,
                    Json(json!({"session_id": "ses_9", "access_token": "at_2", "token_type": "Bearer",
                                "expires_in": 900, "refresh_token": "rt_2"})),
                )
            }),
        )
        .route(
            "/v1/sessions/current",
            delete(|headers: HeaderMap| async move {
                refusal(&headers).unwrap_or_else(|| StatusCode::NO_CONTENT.into_response())
            }),
        );
    let base = serve(router).await;

    let sign_in = DeviceCommand::SignIn(usher_client::device_cli::SignInArgs {
        email: "a@example.com".into(),
        password: "pw".into(),
        name: "Living Room TV".into(),
        device_type: usher_client::DeviceType::Tv,
        model: Some("X1".into()),
        app_version: None,
    });
    run(args(&base, &mock, sign_in)).await.expect("signs in");
    let saved = read_state(&mock.state_path);
    assert_eq!(saved["session_id"], "ses_9");
    assert_eq!(saved["server"], base);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&mock.state_path)
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    run(args(
        &base,
        &mock,
        DeviceCommand::SignOut { session_id: None },
    ))
    .await
    .expect("signs out");
    assert!(!mock.state_path.exists());
}

/// First connection: the server shuts down (1001). Second: signed out.
async fn live(State(mock): Shared, headers: HeaderMap, upgrade: WebSocketUpgrade) -> Response {
    if let Some(refused) = refusal(&headers) {
        return refused;
    }
    let n = mock.live_connections.fetch_add(1, Ordering::SeqCst);
    upgrade.on_upgrade(move |socket| live_script(socket, n))
}

async fn live_script(mut socket: WebSocket, connection: usize) {
    let hello = json!({"type": "hello", "session_id": "ses_1"}).to_string();
    let _ = socket.send(Message::text(hello)).await;
    let close = if connection == 0 {
        CloseFrame {
            code: 1001,
            reason: "going away".into(),
        }
    } else {
        let signed_out =
            json!({"type": "signed_out", "reason": "remote", "at": "2026-11-21T08:03:26Z"});
        let _ = socket.send(Message::text(signed_out.to_string())).await;
        CloseFrame {
            code: 4001,
            reason: "signed out".into(),
        }
    };
    let _ = socket.send(Message::Close(Some(close))).await;
    while let Some(Ok(_)) = socket.recv().await {}
}

#[tokio::test]
async fn watch_refreshes_reconnects_and_stops_when_signed_out() {
    let (_dir, mock) = setup();
    write_state(&mock.state_path, "at_1", "rt_1");
    let router = Router::new()
        .route("/v1/live", any(live))
        .route("/v1/sessions/refresh", post(refresh))
        .with_state(mock.clone());
    let base = serve(router).await;

    let watch = run(args(&base, &mock, DeviceCommand::Watch { devices: false }));
    tokio::time::timeout(PATIENCE, watch)
        .await
        .expect("watch ends")
        .expect("exits cleanly after signed_out");
    assert_eq!(mock.refreshes.load(Ordering::SeqCst), 1);
    assert_eq!(mock.live_connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn watch_of_a_revoked_session_exits_with_3() {
    let (_dir, mock) = setup();
    write_state(&mock.state_path, "at_2", "rt_2");
    let router = Router::new().route(
        "/v1/live",
        any(|| async { problem(401, "session_revoked", json!({"reason": "remote"})) }),
    );
    let base = serve(router).await;

    let err = run(args(&base, &mock, DeviceCommand::Watch { devices: false }))
        .await
        .expect_err("revoked");
    assert_eq!(exit_code(&err), ExitCode::from(EXIT_SIGNED_OUT));
}
