//! Which profile a device is on: picking one (with its PIN when locked),
//! wrong-PIN throttling, and the lock that sends devices back to the picker.

use std::time::Duration;

use serde_json::{json, Value};
use usher::Config;
use usher_client::{DeviceType, Method, RawResponse, StreamStopReason};

use usher_testkit::*;

#[tokio::test]
async fn a_device_picks_a_locked_profile_with_its_pin() {
    let app = TestApp::spawn().await;
    let tv = app.signed_in("ada").await;
    let default = tv.default_profile().await;
    let kids = tv.add_profile("Kids").await;
    tv.lock_profile(&kids, "1234").await;

    tv.pick_profile(&kids, None)
        .await
        .expect_problem(403, "pin_required");
    tv.pick_profile(&kids, Some("4321"))
        .await
        .expect_problem(403, "wrong_pin");
    assert_eq!(tv.current_profile().await, Some(default.clone()));

    let picked = expect_json(&tv.pick_profile(&kids, Some("1234")).await, 200);
    assert_eq!(picked["profile_id"], kids.as_str());
    assert_eq!(picked["name"], "Kids");
    assert_eq!(tv.current_profile().await, Some(kids));

    // An unlocked profile needs no PIN.
    expect_json(&tv.pick_profile(&default, None).await, 200);
    assert_eq!(tv.current_profile().await, Some(default));
}

/// A server allowing `burst` wrong PINs per `period_secs`, and its TV with
/// a Kids profile locked with 1234.
async fn locked_kids(burst: u32, period_secs: u64) -> (TestApp, TestDevice, String) {
    let app = TestApp::spawn_with(|config: &mut Config| {
        config.profiles.pin_burst = burst;
        config.profiles.pin_period_secs = period_secs;
    })
    .await;
    let tv = app.signed_in("ada").await;
    let kids = tv.add_profile("Kids").await;
    tv.lock_profile(&kids, "1234").await;
    (app, tv, kids)
}

#[tokio::test]
async fn wrong_pins_are_throttled_per_profile() {
    let (_app, tv, kids) = locked_kids(2, 3_600).await;
    let teens = tv.add_profile("Teens").await;
    tv.lock_profile(&teens, "5678").await;

    for _ in 0..2 {
        tv.pick_profile(&kids, Some("0000"))
            .await
            .expect_problem(403, "wrong_pin");
    }
    tv.pick_profile(&kids, Some("0000"))
        .await
        .expect_retry_after();

    // Even the right PIN waits now; another profile does not.
    tv.pick_profile(&kids, Some("1234"))
        .await
        .expect_problem(429, "too_many_attempts");
    expect_json(&tv.pick_profile(&teens, Some("5678")).await, 200);
}

/// `device` picks `profile` with `pin`, from `address` (the server trusts
/// the test client as its proxy).
async fn pick_from(device: &TestDevice, profile: &str, pin: &str, address: &str) -> RawResponse {
    device
        .client
        .raw(Method::POST, "/v1/sessions/current/profile")
        .header("x-forwarded-for", address)
        .json(&serde_json::json!({"profile_id": profile, "pin": pin}))
        .expect("a JSON body")
        .send()
        .await
        .expect("answered")
}

/// A PIN is entered on a signed-in device, so that device is the client:
/// a child guessing on the tablet holds up neither the parent's TV behind
/// the same router nor the tablet's own guesses from another network; the
/// profile's budget, once spent, holds up every device.
#[tokio::test]
async fn wrong_pins_lock_out_their_device_then_every_device() {
    let app = TestApp::spawn_with(|config: &mut Config| {
        config.locations.trusted_proxies = vec!["127.0.0.1".into()];
        config.profiles.pin_burst = 2;
        config.profiles.pin_profile_burst = 3;
    })
    .await;
    let ada = app.account("ada").await;
    let tablet = ada.tv().await;
    let tv = ada.tv().await;
    let phone = ada.phone().await;
    let kids = tablet.add_profile("Kids").await;
    tablet.lock_profile(&kids, "1234").await;
    let (home, holiday) = ("81.193.4.5", "185.15.57.3");

    for _ in 0..2 {
        pick_from(&tablet, &kids, "0000", home)
            .await
            .expect_problem(403, "wrong_pin");
    }
    pick_from(&tablet, &kids, "1234", holiday)
        .await
        .expect_retry_after();
    // Another device behind the same router still takes the PIN.
    expect_json(&pick_from(&tv, &kids, "1234", home).await, 200);

    // A third wrong PIN spends the profile's budget: no device may try.
    pick_from(&tv, &kids, "0000", home)
        .await
        .expect_problem(403, "wrong_pin");
    pick_from(&phone, &kids, "1234", holiday)
        .await
        .expect_retry_after();
}

#[tokio::test]
async fn a_new_pin_starts_without_the_old_pins_wrong_guesses() {
    let (_app, tv, kids) = locked_kids(2, 3_600).await;
    for _ in 0..2 {
        tv.pick_profile(&kids, Some("0000"))
            .await
            .expect_problem(403, "wrong_pin");
    }
    tv.pick_profile(&kids, Some("1234"))
        .await
        .expect_retry_after();

    tv.lock_profile(&kids, "8642").await;
    expect_json(&tv.pick_profile(&kids, Some("8642")).await, 200);
}

#[tokio::test]
async fn a_locked_out_profile_takes_its_pin_again_once_its_retry_after_has_passed() {
    let (app, tv, kids) = locked_kids(2, 60).await;
    for _ in 0..2 {
        tv.pick_profile(&kids, Some("0000"))
            .await
            .expect_problem(403, "wrong_pin");
    }
    let retry_after = tv
        .pick_profile(&kids, Some("0000"))
        .await
        .expect_retry_after();

    // A second short of it, even the right PIN waits, for the second left.
    app.advance(Duration::from_secs(retry_after - 1));
    let answer = tv.pick_profile(&kids, Some("1234")).await;
    assert_eq!(answer.expect_retry_after(), 1);

    app.advance(Duration::from_secs(1));
    let picked = expect_json(&tv.pick_profile(&kids, Some("1234")).await, 200);
    assert_eq!(picked["profile_id"], kids.as_str());
}

#[tokio::test]
async fn guesses_sent_at_once_get_no_more_tries_than_the_allowance() {
    let (_app, tv, kids) = locked_kids(3, 3_600).await;

    // Twenty wrong guesses at once, as a script would send them.
    let guesses = (0..20).map(|n| {
        let tv = tv.clone();
        let kids = kids.clone();
        async move {
            let pin = format!("{:04}", 5000 + n);
            tv.pick_profile(&kids, Some(&pin)).await.status.as_u16()
        }
    });
    let answers = futures_util::future::join_all(guesses).await;

    let checked = answers.iter().filter(|&&s| s == 403).count();
    let refused = answers.iter().filter(|&&s| s == 429).count();
    assert_eq!(checked + refused, 20, "only wrong_pin or 429: {answers:?}");
    assert!(
        (1..=3).contains(&checked),
        "at most the allowance is checked: {answers:?}"
    );
}

#[tokio::test]
async fn locking_a_profile_sends_its_devices_back_to_the_picker() {
    let app = TestApp::spawn().await;
    let ada = app.account_on("ada", "standard").await;
    let phone = ada.sign_in("Phone", DeviceType::Phone).await;
    let tv = ada.sign_in("TV", DeviceType::Tv).await;
    let kids = phone.add_profile("Kids").await;
    expect_json(&tv.pick_profile(&kids, None).await, 200);
    let mut live = tv.live().await;
    let lease = tv.play("Bluey").await;

    phone.lock_profile(&kids, "1234").await;

    live.expect_stream_stopped(&lease.stream_id, StreamStopReason::ProfileLocked)
        .await;
    live.expect_profile_locked(&kids).await;
    assert_eq!(tv.current_profile().await, None);
    tv.client
        .start_stream("Bluey", None)
        .await
        .expect_problem(403, "profile_required");
    tv.client
        .start_stream("Bluey", Some(&kids))
        .await
        .expect_problem(403, "pin_required");
    tv.assert_stream_ended(&lease.stream_id, StreamStopReason::ProfileLocked)
        .await;
    let devices = phone.client.devices().await.expect("the device list");
    let tv_row = devices
        .iter()
        .find(|d| d.session_id == tv.session_id())
        .expect("the TV is listed");
    assert_eq!(tv_row.streaming, None, "the TV's stream is gone");
    assert_eq!(tv_row.profile, None, "the TV is on no profile");
    assert!(phone.streams_playing().await.is_empty());

    // With the PIN it plays again; a new PIN sends it back once more.
    expect_json(&tv.pick_profile(&kids, Some("1234")).await, 200);
    let lease = tv.play("Bluey").await;
    phone.lock_profile(&kids, "9876").await;
    live.expect_stream_stopped(&lease.stream_id, StreamStopReason::ProfileLocked)
        .await;
    live.expect_profile_locked(&kids).await;
    assert_eq!(tv.current_profile().await, None);
}

#[tokio::test]
async fn deleting_a_profile_sends_its_devices_back_to_the_picker() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let phone = ada.sign_in("Phone", DeviceType::Phone).await;
    let tv = ada.sign_in("TV", DeviceType::Tv).await;
    let guests = phone.add_profile("Guests").await;
    expect_json(&tv.pick_profile(&guests, None).await, 200);
    let mut live = tv.live().await;
    let lease = tv.play("Arrival").await;

    let deleted = phone.delete_profile(&guests).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text());

    live.expect_stream_stopped(&lease.stream_id, StreamStopReason::ProfileLocked)
        .await;
    live.expect_profile_locked(&guests).await;
    assert_eq!(tv.current_profile().await, None);
    assert!(phone.streams_playing().await.is_empty());
}

#[tokio::test]
async fn a_locked_default_profile_is_not_where_new_devices_start() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let phone = ada.sign_in("Phone", DeviceType::Phone).await;
    let default = phone.default_profile().await;
    let kids = phone.add_profile("Kids").await;
    phone.lock_profile(&default, "1234").await;

    let tv = ada.sign_in("TV", DeviceType::Tv).await;
    assert_eq!(tv.current_profile().await, None);
    tv.client
        .start_stream("Dune", None)
        .await
        .expect_problem(403, "profile_required");
    // An unlocked profile may be named without picking it.
    tv.client
        .start_stream("Bluey", Some(&kids))
        .await
        .expect("Bluey starts on the unlocked profile");
    let streams = phone.client.streams().await.expect("the stream list");
    let profile = streams[0].profile.as_ref().expect("the stream's profile");
    assert_eq!(profile.profile_id.as_deref(), Some(kids.as_str()));
    assert_eq!(tv.current_profile().await, None, "naming is not picking");
    tv.client
        .start_stream("Bluey", Some("prf_nope"))
        .await
        .expect_problem(422, "unknown_profile");
}

#[tokio::test]
async fn streams_and_devices_show_their_profile() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let phone = ada.sign_in("Phone", DeviceType::Phone).await;
    let tv = ada.sign_in("TV", DeviceType::Tv).await;
    let default = phone.default_profile().await;
    let kids = phone.add_profile("Kids").await;
    expect_json(&tv.pick_profile(&kids, None).await, 200);
    phone.play("Dune").await;

    // The basic plan has one slot: the refusal says who holds it, on which profile.
    let refused = tv.client.start_stream("Bluey", None).await;
    let error = refused.expect_problem(409, "too_many_streams");
    let active = error.active_streams().expect("the active streams");
    let profile = active[0].profile.as_ref().expect("a profile");
    assert_eq!(profile.profile_id.as_deref(), Some(default.as_str()));
    assert_eq!(profile.name.as_deref(), Some("ada"));

    let devices = phone.client.devices().await.expect("the device list");
    let on = |session: &str| {
        let row = devices
            .iter()
            .find(|d| d.session_id == session)
            .expect("listed");
        let profile = row.profile.as_ref().expect("a profile");
        (
            profile.profile_id.clone().unwrap(),
            profile.name.clone().unwrap(),
        )
    };
    assert_eq!(on(phone.session_id()), (default, "ada".to_owned()));
    assert_eq!(on(tv.session_id()), (kids, "Kids".to_owned()));
}

/// `PATCH /v1/profiles/{id}` with `body`.
async fn patch_profile(device: &TestDevice, profile_id: &str, body: Value) -> RawResponse {
    let path = format!("/v1/profiles/{profile_id}");
    device.call(Method::PATCH, &path, Some(body)).await
}

/// `DELETE /v1/profiles/{id}` with `body`.
async fn delete_locked(device: &TestDevice, profile_id: &str, body: Value) -> RawResponse {
    let path = format!("/v1/profiles/{profile_id}");
    device.call(Method::DELETE, &path, Some(body)).await
}

/// The names of the account's profiles and whether each is locked.
async fn profile_locks(device: &TestDevice) -> Vec<(String, bool)> {
    let list = device.profiles().await;
    list["profiles"]
        .as_array()
        .expect("profiles")
        .iter()
        .map(|p| {
            let name = p["name"].as_str().expect("a name").to_owned();
            (name, p["locked"] == true)
        })
        .collect()
}

#[tokio::test]
async fn a_kids_tablet_cannot_rename_or_delete_a_locked_profile_without_its_pin_or_the_password() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let phone = ada.sign_in("Phone", DeviceType::Phone).await;
    let tablet = ada.sign_in("Kid's tablet", DeviceType::Tablet).await;
    let grown_ups = phone.add_profile("Grown-ups").await;
    phone.lock_profile(&grown_ups, "1234").await;
    let before = profile_locks(&tablet).await;

    // From the tablet, on the unlocked default profile.
    let refusals = [
        (
            Method::PATCH,
            json!({ "name": "Hacked" }),
            403,
            "pin_required",
        ),
        (
            Method::PATCH,
            json!({ "name": "Hacked", "pin": "0000" }),
            403,
            "wrong_pin",
        ),
        (
            Method::PATCH,
            json!({ "name": "Hacked", "password": "a guess at it" }),
            403,
            "wrong_password",
        ),
        (Method::DELETE, json!({}), 403, "pin_required"),
        (Method::DELETE, json!({ "pin": "9999" }), 403, "wrong_pin"),
        (Method::DELETE, json!({ "pin": "12" }), 422, "invalid_pin"),
    ];
    for (method, body, status, code) in refusals {
        let path = format!("/v1/profiles/{grown_ups}");
        tablet
            .call(method, &path, Some(body))
            .await
            .expect_problem(status, code);
    }
    tablet
        .delete_profile(&grown_ups)
        .await
        .expect_problem(403, "pin_required");
    assert_eq!(profile_locks(&tablet).await, before, "nothing changed");

    // With the PIN, or the account password, it is done.
    let renamed = patch_profile(&phone, &grown_ups, json!({ "name": "Us", "pin": "1234" })).await;
    assert_eq!(expect_json(&renamed, 200)["name"], "Us");
    let renamed = patch_profile(
        &phone,
        &grown_ups,
        json!({ "name": "Parents", "password": ada.password }),
    )
    .await;
    assert_eq!(expect_json(&renamed, 200)["name"], "Parents");
    let deleted = delete_locked(&phone, &grown_ups, json!({ "password": ada.password })).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text());

    // An unlocked profile needs neither.
    let guests = phone.add_profile("Guests").await;
    expect_json(&tablet.rename_profile(&guests, "Visitors").await, 200);
    let deleted = tablet.delete_profile(&guests).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text());
    assert_eq!(profile_locks(&tablet).await, [("ada".to_owned(), false)]);
}

#[tokio::test]
async fn wrong_pins_for_a_locked_profile_change_are_throttled_with_its_picks() {
    let (_app, tv, kids) = locked_kids(2, 3_600).await;
    for _ in 0..2 {
        patch_profile(&tv, &kids, json!({ "name": "Mine", "pin": "0000" }))
            .await
            .expect_problem(403, "wrong_pin");
    }
    delete_locked(&tv, &kids, json!({ "pin": "0000" }))
        .await
        .expect_retry_after();
    // The same budget as picking it: even the right PIN waits now.
    tv.pick_profile(&kids, Some("1234"))
        .await
        .expect_problem(429, "too_many_attempts");
    patch_profile(&tv, &kids, json!({ "name": "Mine", "pin": "1234" }))
        .await
        .expect_problem(429, "too_many_attempts");
}
