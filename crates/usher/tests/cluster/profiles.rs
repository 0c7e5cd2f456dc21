//! A profile locked through one node sends its devices on another node back
//! to the picker, live.

use serde_json::{json, Value};
use usher_client::{Client, LiveEvent, Method, StreamStopReason};

use crate::harness::*;

/// Sends `method path` with a JSON body and returns the JSON answer, which
/// must have `status`.
async fn call(client: &Client, method: Method, path: &str, body: Value, status: u16) -> Value {
    let answer = client
        .raw(method, path)
        .json(&body)
        .expect("serialisable")
        .send()
        .await
        .expect("an answer");
    assert_eq!(answer.status, status, "{}", answer.text());
    answer.json().expect("a JSON body")
}

#[tokio::test]
async fn locking_a_profile_on_node_a_reaches_its_device_on_node_b() {
    let cluster = Cluster::start(2).await;
    let email = account(cluster.node(0), "ada", Some("standard")).await;
    let phone = Device::sign_in(cluster.node(0), &email, "Phone").await;
    let tv = Device::sign_in(cluster.node(1), &email, "Living Room TV").await;
    let on_a = phone.on(cluster.node(0));
    let on_b = tv.on(cluster.node(1));

    let kids = call(
        &on_a,
        Method::POST,
        "/v1/profiles",
        json!({"name": "Kids"}),
        201,
    )
    .await;
    let kids = kids["profile_id"].as_str().expect("an id").to_owned();
    let pick = json!({ "profile_id": kids });
    call(
        &on_b,
        Method::POST,
        "/v1/sessions/current/profile",
        pick,
        200,
    )
    .await;
    // Node B has the TV, on Kids, in its cache.
    let current = on_b.current_session().await.expect("B knows the TV");
    assert_eq!(current.profile_id.as_deref(), Some(kids.as_str()));
    let mut live = tv.live_on(cluster.node(1)).await;
    let lease = on_b
        .start_stream("Bluey", None)
        .await
        .expect("Bluey starts");

    let lock = json!({ "password": PASSWORD, "pin": "1234" });
    call(
        &on_a,
        Method::PUT,
        &format!("/v1/profiles/{kids}/pin"),
        lock,
        200,
    )
    .await;

    match next_event(&mut live).await {
        LiveEvent::StreamStopped { stream_id, reason } => {
            assert_eq!(stream_id, lease.stream_id);
            assert_eq!(reason, StreamStopReason::ProfileLocked);
        }
        other => panic!("expected stream_stopped, got {other:?}"),
    }
    match next_event(&mut live).await {
        LiveEvent::ProfileLocked { profile_id } => assert_eq!(profile_id, kids),
        other => panic!("expected profile_locked, got {other:?}"),
    }
    // B forgets the cached profile before it tells the device.
    let current = on_b.current_session().await.expect("still signed in");
    assert_eq!(current.profile_id, None);
    let refused = on_b
        .start_stream("Bluey", None)
        .await
        .expect_err("no profile");
    assert_eq!(refused.code(), Some("profile_required"), "{refused}");
}
