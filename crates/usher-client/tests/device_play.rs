//! `usher device play` and `stop` against a stand-in server: heartbeats, the
//! stream recorded in the state file, and how each ending is reported.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::Notify;
use usher_client::device_cli::{exit_code, run, DeviceArgs, DeviceCommand, EXIT_SIGNED_OUT};

use usher_testkit::stand_in::{bearer, problem, serve};
use usher_testkit::PATIENCE;

/// What the live channel does after `hello`.
#[derive(Clone, Copy)]
enum Script {
    /// Nothing more; the connection stays open.
    Quiet,
    /// `stream_stopped reason=remote` once the first heartbeat has come.
    RemoteStopAfterHeartbeat,
    /// Once the stream has started: ended by sign-out, then `signed_out`,
    /// then close 4001.
    SignedOut,
}

struct Mock {
    state_path: PathBuf,
    script: Script,
    /// Heartbeats answered before `410 stream_ended reason=stopped`.
    heartbeats_allowed: usize,
    heartbeats: AtomicUsize,
    /// Whether the state file named the stream while it was being kept.
    recorded: AtomicBool,
    stopped: Mutex<Vec<String>>,
    /// Told when a stream starts, and on each heartbeat: what the live
    /// script waits for instead of a clock.
    started: Notify,
    heartbeat: Notify,
}

type Shared = State<Arc<Mock>>;

fn setup(script: Script, heartbeats_allowed: usize) -> (tempfile::TempDir, Arc<Mock>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mock = Arc::new(Mock {
        state_path: dir.path().join("device.json"),
        script,
        heartbeats_allowed,
        heartbeats: AtomicUsize::new(0),
        recorded: AtomicBool::new(false),
        stopped: Mutex::new(Vec::new()),
        started: Notify::new(),
        heartbeat: Notify::new(),
    });
    write_state(&mock.state_path, None);
    (dir, mock)
}

fn write_state(path: &Path, stream: Option<(&str, &str)>) {
    let mut state = json!({
        "server": "http://unused.invalid", "session_id": "ses_1",
        "access_token": "at_2", "refresh_token": "rt_2",
        "device": {"name": "Living Room TV", "type": "tv"}
    });
    if let Some((stream_id, title)) = stream {
        state["stream"] = json!({"stream_id": stream_id, "title": title});
    }
    std::fs::write(path, state.to_string()).expect("writes state");
}

fn saved_stream(path: &Path) -> Value {
    let state: Value =
        serde_json::from_slice(&std::fs::read(path).expect("reads state")).expect("json");
    state.get("stream").cloned().unwrap_or(Value::Null)
}

fn args(server: &str, mock: &Mock, command: DeviceCommand) -> DeviceArgs {
    DeviceArgs {
        server: Some(server.to_owned()),
        state: mock.state_path.clone(),
        command,
    }
}

fn play(title: &str) -> DeviceCommand {
    DeviceCommand::Play {
        title: title.to_owned(),
        profile: None,
    }
}

fn lease() -> Value {
    json!({"stream_id": "str_1", "heartbeat_interval": 1, "expires_at": "2026-11-21T08:04:26Z"})
}

async fn start(State(mock): Shared, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    assert_eq!(bearer(&headers), Some("at_2"));
    assert_eq!(body, json!({"title": "Dune"}));
    mock.started.notify_one();
    (StatusCode::CREATED, Json(lease())).into_response()
}

async fn heartbeat(State(mock): Shared, UrlPath(id): UrlPath<String>) -> Response {
    assert_eq!(id, "str_1");
    if saved_stream(&mock.state_path)["stream_id"] == "str_1" {
        mock.recorded.store(true, Ordering::SeqCst);
    }
    let allowed = mock.heartbeats.fetch_add(1, Ordering::SeqCst) < mock.heartbeats_allowed;
    mock.heartbeat.notify_one();
    if !allowed {
        return problem(410, "stream_ended", json!({"reason": "stopped"}));
    }
    Json(lease()).into_response()
}

async fn stop(State(mock): Shared, UrlPath(id): UrlPath<String>) -> StatusCode {
    mock.stopped.lock().expect("lock").push(id);
    StatusCode::NO_CONTENT
}

async fn live(State(mock): Shared, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |socket| live_script(socket, mock))
}

async fn live_script(mut socket: WebSocket, mock: Arc<Mock>) {
    let send = |frame: Value| Message::text(frame.to_string());
    let _ = socket
        .send(send(json!({"type": "hello", "session_id": "ses_1"})))
        .await;
    match mock.script {
        Script::Quiet => {}
        Script::RemoteStopAfterHeartbeat => {
            mock.heartbeat.notified().await;
            let stopped =
                json!({"type": "stream_stopped", "stream_id": "str_1", "reason": "remote"});
            let _ = socket.send(send(stopped)).await;
        }
        Script::SignedOut => {
            mock.started.notified().await;
            let stopped =
                json!({"type": "stream_stopped", "stream_id": "str_1", "reason": "signed_out"});
            let signed_out =
                json!({"type": "signed_out", "reason": "remote", "at": "2026-11-21T08:03:26Z"});
            let _ = socket.send(send(stopped)).await;
            let _ = socket.send(send(signed_out)).await;
            let close = CloseFrame {
                code: 4001,
                reason: "signed out".into(),
            };
            let _ = socket.send(Message::Close(Some(close))).await;
        }
    }
    while let Some(Ok(_)) = socket.recv().await {}
}

fn router(mock: &Arc<Mock>) -> Router {
    Router::new()
        .route("/v1/streams", post(start))
        .route("/v1/streams/{id}/heartbeat", post(heartbeat))
        .route("/v1/streams/{id}", delete(stop))
        .route("/v1/live", any(live))
        .with_state(mock.clone())
}

async fn run_play(base: &str, mock: &Mock) -> anyhow::Result<()> {
    tokio::time::timeout(PATIENCE, run(args(base, mock, play("Dune"))))
        .await
        .expect("play ends")
}

#[tokio::test]
async fn play_heartbeats_until_stopped_remotely_then_exits_0() {
    let (_dir, mock) = setup(Script::RemoteStopAfterHeartbeat, 100);
    let base = serve(router(&mock)).await;

    run_play(&base, &mock)
        .await
        .expect("a remote stop is a clean end");
    assert!(mock.heartbeats.load(Ordering::SeqCst) >= 1);
    assert!(mock.recorded.load(Ordering::SeqCst), "stream in state file");
    assert_eq!(saved_stream(&mock.state_path), Value::Null, "and forgotten");
    assert!(mock.stopped.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn play_ends_cleanly_when_a_heartbeat_finds_the_stream_stopped() {
    // What a `usher device stop` of this device's own stream looks like to
    // `play`: the server tells no live event, the next heartbeat gets a 410.
    let (_dir, mock) = setup(Script::Quiet, 0);
    let base = serve(router(&mock)).await;

    run_play(&base, &mock).await.expect("clean end");
    assert_eq!(mock.heartbeats.load(Ordering::SeqCst), 1);
    assert_eq!(saved_stream(&mock.state_path), Value::Null);
}

#[tokio::test]
async fn play_exits_3_when_the_device_is_signed_out() {
    let (_dir, mock) = setup(Script::SignedOut, 100);
    let base = serve(router(&mock)).await;

    let err = run_play(&base, &mock).await.expect_err("signed out");
    assert_eq!(exit_code(&err), ExitCode::from(EXIT_SIGNED_OUT));
    assert_eq!(err.to_string(), "this device was signed out (remote)");
    assert_eq!(saved_stream(&mock.state_path), Value::Null);
}

#[tokio::test]
async fn a_full_plan_is_refused_with_who_is_watching() {
    let (_dir, mock) = setup(Script::Quiet, 100);
    let full = || async {
        let active = json!([{"stream_id": "str_9",
            "device": {"session_id": "ses_2", "name": "Kitchen tablet", "type": "tablet"},
            "title": "Arrival", "profile": null, "started_at": "2026-11-21T08:03:26Z"}]);
        problem(
            409,
            "too_many_streams",
            json!({"limit": 1, "active": active}),
        )
    };
    let router = Router::new()
        .route("/v1/streams", post(full))
        .route("/v1/live", any(live))
        .with_state(mock.clone());
    let base = serve(router).await;

    let err = run_play(&base, &mock).await.expect_err("refused");
    assert_eq!(exit_code(&err), ExitCode::FAILURE);
    let text = format!("{err:#}");
    assert!(text.contains("allows 1 stream at a time"), "{text}");
    assert!(
        text.contains("Kitchen tablet") && text.contains("tablet") && text.contains("Arrival"),
        "{text}"
    );
    assert!(text.ends_with("usher device stop str_9"), "{text}");
    assert_eq!(saved_stream(&mock.state_path), Value::Null);
}

#[tokio::test]
async fn stop_defaults_to_this_devices_stream_and_stops_others_by_id() {
    let (_dir, mock) = setup(Script::Quiet, 100);
    write_state(&mock.state_path, Some(("str_1", "Dune")));
    let base = serve(router(&mock)).await;

    // Another device's stream, by id: this device's record stays.
    let remote = DeviceCommand::Stop {
        stream_id: Some("str_7".into()),
    };
    run(args(&base, &mock, remote)).await.expect("stops str_7");
    assert_eq!(saved_stream(&mock.state_path)["stream_id"], "str_1");

    let own = || DeviceCommand::Stop { stream_id: None };
    run(args(&base, &mock, own())).await.expect("stops str_1");
    assert_eq!(*mock.stopped.lock().expect("lock"), ["str_7", "str_1"]);
    assert_eq!(saved_stream(&mock.state_path), Value::Null);

    let err = run(args(&base, &mock, own()))
        .await
        .expect_err("nothing to stop");
    assert!(err.to_string().contains("not playing anything"), "{err}");
    assert_eq!(mock.stopped.lock().expect("lock").len(), 2);
}
