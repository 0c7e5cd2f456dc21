//! Stream slots: who holds them when none is left, a slot freed the moment
//! its stream ends, leases kept by heartbeats and lapsing on their own,
//! replacement on the same device, and ids that are not the caller's.

use std::time::Duration;

use serde_json::json;
use usher::Config;
use usher_client::{DeviceType, Method, RawResponse, SignOutReason, StreamStopReason};

use usher_testkit::*;

/// The default lease (`streams.lease_secs`).
const LEASE: Duration = Duration::from_secs(60);
const SECOND: Duration = Duration::from_secs(1);

/// A reaper that never runs during a test: whatever frees a lapsed slot
/// then, it is not a background job.
fn without_reaper(config: &mut Config) {
    config.streams.reap_interval_ms = 24 * 3600 * 1000;
}

#[tokio::test]
async fn when_every_slot_is_taken_the_answer_says_who_is_watching_what() {
    let app = TestApp::spawn().await;
    let Household { tv, phone, .. } = app.household_on("basic").await;
    let started_at = app.now();
    let dune = tv.play("Dune").await;
    app.advance(5 * SECOND);

    let refused = phone
        .client
        .start_stream("Arrival", None)
        .await
        .expect_problem(409, "too_many_streams");
    assert_eq!(refused.problem().and_then(|p| p.limit()), Some(1));
    let active = refused
        .active_streams()
        .expect("the streams holding the slots");
    let [watching] = &active[..] else {
        panic!("one stream holds the only slot: {active:?}");
    };
    assert_eq!(watching.stream_id, dune.stream_id);
    assert_eq!(watching.device.session_id, tv.session_id());
    assert_eq!(watching.device.name, "Living Room TV");
    assert_eq!(watching.device.device_type, DeviceType::Tv);
    assert_eq!(watching.title, "Dune");
    // Played on the account's default profile, where devices start.
    let default = tv.default_profile().await;
    let profile = watching.profile.as_ref().expect("the stream's profile");
    assert_eq!(profile.profile_id.as_deref(), Some(default.as_str()));
    assert_eq!(profile.name.as_deref(), Some("ada"));
    assert_eq!(watching.started_at, started_at);

    // On the wire exactly as documented.
    let answer = start_with_body(&phone, r#"{"title":"Arrival"}"#).await;
    answer.expect_problem(409, "too_many_streams");
    let body = answer.json().expect("a JSON body");
    assert_eq!(body["limit"], 1);
    let entry = &body["active"][0];
    assert_eq!(entry["stream_id"], json!(dune.stream_id));
    assert_eq!(
        entry["device"],
        json!({"session_id": tv.session_id(), "name": "Living Room TV", "type": "tv"})
    );
    assert_eq!(entry["title"], "Dune");
    assert_eq!(
        entry["profile"],
        json!({"profile_id": default, "name": "ada"}),
        "{entry}"
    );
    assert!(entry["started_at"].is_string(), "{entry}");

    // The refused device plays nothing; the TV keeps its slot.
    assert_eq!(phone.streams_playing().await, [dune.stream_id.as_str()]);
    let devices = phone.client.devices().await.expect("the device list");
    let phone_row = devices
        .iter()
        .find(|d| d.session_id == phone.session_id())
        .expect("the phone is listed");
    assert_eq!(phone_row.streaming, None);
    tv.client
        .heartbeat(&dune.stream_id)
        .await
        .expect("the TV still holds its slot");
}

#[tokio::test]
async fn the_device_list_shows_what_each_device_is_playing() {
    let app = TestApp::spawn().await;
    let Household { tv, phone, .. } = app.household_on("standard").await;
    let started_at = app.now();
    let dune = tv.play("Dune").await;
    app.advance(SECOND);

    let devices = phone.client.devices().await.expect("the device list");
    for device in &devices {
        if device.session_id == tv.session_id() {
            let playing = device.streaming.as_ref().expect("the TV is playing");
            assert_eq!(playing.stream_id.as_deref(), Some(dune.stream_id.as_str()));
            assert_eq!(playing.title.as_deref(), Some("Dune"));
            assert_eq!(playing.started_at, Some(started_at));
        } else {
            assert_eq!(device.streaming, None, "{device:?}");
        }
    }
    assert_eq!(devices.len(), 2);

    tv.stop(&dune.stream_id).await;
    let devices = phone.client.devices().await.expect("the device list");
    assert!(devices.iter().all(|d| d.streaming.is_none()), "{devices:?}");
}

#[tokio::test]
async fn stopping_a_stream_frees_its_slot_at_once() {
    let app = TestApp::spawn().await;
    let Household { tv, phone, .. } = app.household_on("basic").await;
    let mut tv_live = tv.live().await;
    let dune = tv.play("Dune").await;

    tv.stop(&dune.stream_id).await;
    let arrival = phone.play("Arrival").await;

    assert_eq!(tv.streams_playing().await, [arrival.stream_id]);
    tv.assert_stream_ended(&dune.stream_id, StreamStopReason::Stopped)
        .await;
    tv.stop(&dune.stream_id).await;
    // A device is not told about the stop it asked for: the next thing its
    // channel carries is what happens to it next.
    phone.sign_out(&tv).await;
    tv_live.expect_signed_out(SignOutReason::Remote).await;
}

#[tokio::test]
async fn a_remote_stop_frees_the_slot_and_tells_the_device() {
    let app = TestApp::spawn().await;
    let Household { tv, phone, .. } = app.household_on("basic").await;
    let mut tv_live = tv.live().await;
    let dune = tv.play("Dune").await;

    phone.stop(&dune.stream_id).await;
    let arrival = phone.play("Arrival").await;

    tv_live
        .expect_stream_stopped(&dune.stream_id, StreamStopReason::Remote)
        .await;
    tv.assert_stream_ended(&dune.stream_id, StreamStopReason::Remote)
        .await;
    assert_eq!(tv.streams_playing().await, [arrival.stream_id]);
    // The TV stays signed in: only its stream was stopped.
    tv.assert_signed_in().await;
}

#[tokio::test]
async fn signing_a_device_out_ends_its_stream_and_frees_the_slot() {
    let app = TestApp::spawn().await;
    let Household { tv, phone, .. } = app.household_on("basic").await;
    let mut tv_live = tv.live().await;
    let dune = tv.play("Dune").await;

    phone.sign_out(&tv).await;
    let arrival = phone.play("Arrival").await;

    tv_live
        .expect_stream_stopped(&dune.stream_id, StreamStopReason::SignedOut)
        .await;
    tv_live.expect_signed_out(SignOutReason::Remote).await;
    assert_eq!(phone.streams_playing().await, [arrival.stream_id]);
}

#[tokio::test]
async fn a_device_that_signs_itself_out_gives_its_slot_back() {
    let app = TestApp::spawn().await;
    let Household { tv, phone, .. } = app.household_on("basic").await;
    let mut tv_live = tv.live().await;
    let dune = tv.play("Dune").await;

    tv.client.sign_out_current().await.expect("signed out");
    phone.play("Arrival").await;

    tv_live
        .expect_stream_stopped(&dune.stream_id, StreamStopReason::SignedOut)
        .await;
    tv_live.expect_signed_out(SignOutReason::SelfSignOut).await;
}

#[tokio::test]
async fn signing_out_all_devices_frees_their_slots() {
    let app = TestApp::spawn().await;
    let ada = app.account_on("ada", "standard").await;
    let tv = ada.sign_in("Living Room TV", DeviceType::Tv).await;
    let tablet = ada.sign_in("Tablet", DeviceType::Tablet).await;
    let phone = ada.sign_in("Ada's phone", DeviceType::Phone).await;
    let mut tv_live = tv.live().await;
    let mut tablet_live = tablet.live().await;
    let dune = tv.play("Dune").await;
    let heat = tablet.play("Heat").await;

    let done = phone.client.sign_out_all(false).await.expect("signed out");
    assert_eq!(done.signed_out, 2);
    let arrival = phone.play("Arrival").await;

    for (live, lease) in [(&mut tv_live, &dune), (&mut tablet_live, &heat)] {
        live.expect_stream_stopped(&lease.stream_id, StreamStopReason::SignedOut)
            .await;
        live.expect_signed_out(SignOutReason::AllDevices).await;
    }
    assert_eq!(phone.streams_playing().await, [arrival.stream_id]);
}

#[tokio::test]
async fn a_password_change_frees_every_slot() {
    const NEW_PASSWORD: &str = "tangerine submarine orchestra";
    let app = TestApp::spawn().await;
    let Household { mut ada, tv, phone } = app.household_on("basic").await;
    let mut tv_live = tv.live().await;
    let dune = tv.play("Dune").await;

    phone
        .client
        .change_password(PASSWORD, NEW_PASSWORD, None)
        .await
        .expect("password changed");
    ada.password = NEW_PASSWORD.to_owned();
    let laptop = ada.sign_in("Laptop", DeviceType::Browser).await;
    let arrival = laptop.play("Arrival").await;

    tv_live
        .expect_stream_stopped(&dune.stream_id, StreamStopReason::SignedOut)
        .await;
    tv_live
        .expect_signed_out(SignOutReason::PasswordChanged)
        .await;
    assert_eq!(laptop.streams_playing().await, [arrival.stream_id]);
}

#[tokio::test]
async fn a_heartbeat_extends_the_lease() {
    let app = TestApp::spawn().await;
    let Household { tv, phone, .. } = app.household_on("basic").await;
    let lease = tv.play("Dune").await;
    assert_eq!(lease.expires_at, app.now() + LEASE);
    assert_eq!(lease.heartbeat_interval, 20);

    app.advance(20 * SECOND);
    let renewed = tv.client.heartbeat(&lease.stream_id).await.expect("kept");
    assert_eq!(renewed.stream_id, lease.stream_id);
    assert_eq!(renewed.heartbeat_interval, 20);
    assert_eq!(renewed.expires_at, app.now() + LEASE);

    // Past the first expiry the renewed lease still holds the only slot.
    app.advance(50 * SECOND);
    assert!(app.now() > lease.expires_at && app.now() < renewed.expires_at);
    phone.assert_plan_full("Arrival").await;
    assert_eq!(phone.streams_playing().await, [lease.stream_id.as_str()]);
    let again = tv.client.heartbeat(&lease.stream_id).await.expect("kept");
    assert_eq!(again.expires_at, app.now() + LEASE);
}

#[tokio::test]
async fn only_the_playing_device_may_heartbeat() {
    let app = TestApp::spawn().await;
    let Household { tv, phone, .. } = app.household_on("standard").await;
    let dune = tv.play("Dune").await;
    phone.play("Arrival").await;

    phone
        .client
        .heartbeat(&dune.stream_id)
        .await
        .expect_problem(404, "not_found");
    tv.client
        .heartbeat(&dune.stream_id)
        .await
        .expect("the TV's heartbeat is its own");
}

#[tokio::test]
async fn unknown_malformed_and_foreign_stream_ids_are_not_found() {
    let app = TestApp::spawn().await;
    let tv = app.signed_in("ada").await;
    let grace_tv = app.signed_in("grace").await;
    let dune = tv.play("Dune").await;
    let graces = grace_tv.play("Arrival").await;

    let not_ours = [
        "str_00000000000000000000000000000000",
        "str_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
        "str_",
        "not-a-stream",
        tv.session_id(),
        "..%2F..%2Fetc%2Fpasswd",
        &graces.stream_id,
    ];
    for id in not_ours {
        tv.client
            .heartbeat(id)
            .await
            .expect_problem(404, "not_found");
        tv.client
            .stop_stream(id)
            .await
            .expect_problem(404, "not_found");
    }
    // Answered as problems like any other refusal.
    let foreign = format!("/v1/streams/{}", graces.stream_id);
    for (method, path) in [
        (Method::POST, "/v1/streams/not-a-stream/heartbeat"),
        (Method::DELETE, foreign.as_str()),
    ] {
        let answer = answer_to(&tv.client, method, path, None).await;
        answer.expect_problem(404, "not_found");
    }
    // Neither account's stream was touched.
    grace_tv
        .client
        .heartbeat(&graces.stream_id)
        .await
        .expect("Grace still plays");
    assert_eq!(tv.streams_playing().await, [dune.stream_id]);
}

#[tokio::test]
async fn a_lapsed_lease_frees_its_slot_without_any_background_job() {
    let app = TestApp::spawn_with(without_reaper).await;
    let Household { tv, phone, .. } = app.household_on("basic").await;
    let mut tv_live = tv.live().await;
    let dune = tv.play("Dune").await;

    app.advance(LEASE - SECOND);
    phone.assert_plan_full("Arrival").await;
    app.advance(SECOND);
    assert_eq!(app.now(), dune.expires_at);
    assert!(phone.streams_playing().await.is_empty());
    let arrival = phone.play("Arrival").await;

    // The start that found the lease lapsed ended it for good, and said so.
    tv_live
        .expect_stream_stopped(&dune.stream_id, StreamStopReason::LeaseExpired)
        .await;
    tv.assert_stream_ended(&dune.stream_id, StreamStopReason::LeaseExpired)
        .await;
    assert_eq!(tv.streams_playing().await, [arrival.stream_id]);
}

#[tokio::test]
async fn a_heartbeat_after_the_lease_lapsed_is_too_late() {
    let app = TestApp::spawn_with(without_reaper).await;
    let tv = app.signed_in("ada").await;
    let mut tv_live = tv.live().await;
    let dune = tv.play("Dune").await;

    app.advance(LEASE + SECOND);
    tv.assert_stream_ended(&dune.stream_id, StreamStopReason::LeaseExpired)
        .await;
    tv_live
        .expect_stream_stopped(&dune.stream_id, StreamStopReason::LeaseExpired)
        .await;
    tv.assert_stream_ended(&dune.stream_id, StreamStopReason::LeaseExpired)
        .await;
    let again = tv.play("Dune").await;
    assert_eq!(tv.streams_playing().await, [again.stream_id]);
}

#[tokio::test]
async fn the_reaper_tells_a_vanished_device_its_lease_expired() {
    let app = TestApp::spawn_with(|config| config.streams.reap_interval_ms = 10).await;
    let tv = app.signed_in("ada").await;
    let mut tv_live = tv.live().await;
    let dune = tv.play("Dune").await;

    app.advance(LEASE + SECOND);

    tv_live
        .expect_stream_stopped(&dune.stream_id, StreamStopReason::LeaseExpired)
        .await;
    tv.assert_stream_ended(&dune.stream_id, StreamStopReason::LeaseExpired)
        .await;
    assert!(tv.streams_playing().await.is_empty());
}

#[tokio::test]
async fn starting_again_on_the_same_device_replaces_its_stream() {
    let app = TestApp::spawn().await;
    let Household { tv, phone, .. } = app.household_on("basic").await;
    let mut tv_live = tv.live().await;
    let dune = tv.play("Dune").await;

    let arrival = tv.play("Arrival").await;

    assert_ne!(arrival.stream_id, dune.stream_id);
    tv_live
        .expect_stream_stopped(&dune.stream_id, StreamStopReason::Replaced)
        .await;
    let streams = phone.client.streams().await.expect("the stream list");
    let [only] = &streams[..] else {
        panic!("one stream per device: {streams:?}");
    };
    assert_eq!(
        (only.stream_id.as_str(), only.title.as_str()),
        (arrival.stream_id.as_str(), "Arrival")
    );
    tv.assert_stream_ended(&dune.stream_id, StreamStopReason::Replaced)
        .await;
    tv.client
        .heartbeat(&arrival.stream_id)
        .await
        .expect("the new stream is kept");
    // Replacing never frees a second slot.
    phone.assert_plan_full("Heat").await;
}

/// Sends `body` to `POST /v1/streams` as `device`.
async fn start_with_body(device: &TestDevice, body: &str) -> RawResponse {
    answer_to(&device.client, Method::POST, "/v1/streams", Some(body)).await
}

#[tokio::test]
async fn bad_starts_are_refused_without_taking_a_slot() {
    let app = TestApp::spawn().await;
    let tv = app.signed_in("ada").await;
    let too_long = format!(r#"{{"title":"{}"}}"#, "é".repeat(201));
    let cases = [
        ("{}", 422, "invalid_body"),
        (r#"{"title":null}"#, 422, "invalid_body"),
        (r#"{"title":5}"#, 422, "invalid_body"),
        (r#"{"title":"Dune","rating":"PG"}"#, 422, "invalid_body"),
        ("[]", 422, "invalid_body"),
        (r#"{"title":""}"#, 422, "invalid_title"),
        (r#"{"title":"   "}"#, 422, "invalid_title"),
        (r#"{"title":"Du\u0007ne"}"#, 422, "invalid_title"),
        (&too_long, 422, "invalid_title"),
        (
            r#"{"title":"Dune","profile_id":"pro_00000000000000000000000000000000"}"#,
            422,
            "unknown_profile",
        ),
        (
            r#"{"title":"Dune","profile_id":"kids"}"#,
            422,
            "unknown_profile",
        ),
        ("{", 400, "malformed_json"),
        ("not json", 400, "malformed_json"),
        ("", 400, "malformed_json"),
    ];
    for (body, status, code) in cases {
        start_with_body(&tv, body)
            .await
            .expect_problem(status, code);
    }
    assert!(tv.streams_playing().await.is_empty());

    // The same through the typed client, and the longest title that fits.
    tv.client
        .start_stream("", None)
        .await
        .expect_problem(422, "invalid_title");
    tv.client
        .start_stream("Dune", Some("pro_00000000000000000000000000000000"))
        .await
        .expect_problem(422, "unknown_profile");
    let longest = tv.play(&"é".repeat(200)).await;
    assert_eq!(tv.streams_playing().await, [longest.stream_id]);
}

#[tokio::test]
async fn a_signed_out_device_cannot_start_or_keep_a_stream() {
    let app = TestApp::spawn().await;
    let Household { tv, phone, .. } = app.household_on("standard").await;
    let dune = tv.play("Dune").await;
    phone.sign_out(&tv).await;

    let reason = SignOutReason::Remote;
    tv.client
        .start_stream("Dune", None)
        .await
        .expect_revoked(&reason);
    tv.client
        .heartbeat(&dune.stream_id)
        .await
        .expect_revoked(&reason);
    assert!(phone.streams_playing().await.is_empty());
}
