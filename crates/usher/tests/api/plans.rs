//! Plans: what the account shows, a smaller plan under running streams, and
//! a cap on signed-in devices.

use std::time::Duration;

use usher::domain::Plan;
use usher::Config;
use usher_client::{Device, DeviceInfo, DeviceType};

use usher_testkit::*;

/// A plan with two streams for at most two signed-in devices.
fn duo_plan(config: &mut Config) {
    let duo = Plan {
        max_streams: 2,
        max_devices: Some(2),
    };
    config.plans.insert("duo".into(), duo);
}

#[tokio::test]
async fn the_account_shows_its_plan_and_streams_in_use() {
    let app = TestApp::spawn().await;
    let defaulted = app.signed_in("grace").await;
    let plan = defaulted.client.account().await.expect("the account").plan;
    assert_eq!((plan.name.as_str(), plan.max_streams), ("basic", 1));

    let Household { ada, tv, phone } = app.household_on("premium").await;
    let account = tv.client.account().await.expect("the account");
    assert_eq!(account.account_id, ada.id);
    assert_eq!(account.plan.name, "premium");
    assert_eq!(account.plan.max_streams, 4);
    assert_eq!(account.plan.max_devices, None);
    assert_eq!(account.devices_signed_in, 2);
    assert_eq!(account.streams_in_use, 0);

    let dune = tv.play("Dune").await;
    phone.play("Arrival").await;
    assert_eq!(streams_in_use(&phone).await, 2);
    tv.stop(&dune.stream_id).await;
    assert_eq!(streams_in_use(&phone).await, 1);
    // A lease that lapsed no longer counts, whether or not anything tidied it.
    app.advance(Duration::from_secs(61));
    assert_eq!(streams_in_use(&phone).await, 0);
}

async fn streams_in_use(device: &TestDevice) -> u32 {
    let account = device.client.account().await.expect("the account");
    account.streams_in_use
}

#[tokio::test]
async fn a_smaller_plan_never_cuts_running_streams() {
    let app = TestApp::spawn().await;
    let Household { ada, tv, phone } = app.household_on("standard").await;
    let tablet = ada.sign_in("Tablet", DeviceType::Tablet).await;
    let dune = tv.play("Dune").await;
    let arrival = phone.play("Arrival").await;

    app.set_plan(&ada, "basic").await;

    tv.client.heartbeat(&dune.stream_id).await.expect("kept");
    phone
        .client
        .heartbeat(&arrival.stream_id)
        .await
        .expect("kept");
    let account = tablet.client.account().await.expect("the account");
    assert_eq!(
        (account.plan.name.as_str(), account.plan.max_streams),
        ("basic", 1)
    );
    assert_eq!(account.streams_in_use, 2);

    // Over the limit: no new start until the account is under it.
    let refused = tablet
        .client
        .start_stream("Heat", None)
        .await
        .expect_problem(409, "too_many_streams");
    assert_eq!(refused.problem().and_then(|p| p.limit()), Some(1));
    assert_eq!(refused.active_streams().map(|a| a.len()), Some(2));

    tv.stop(&dune.stream_id).await;
    let refused = tablet
        .client
        .start_stream("Heat", None)
        .await
        .expect_problem(409, "too_many_streams");
    let active = refused.active_streams().expect("who is watching");
    let [watching] = &active[..] else {
        panic!("the phone alone holds the slot: {active:?}");
    };
    assert_eq!(watching.stream_id, arrival.stream_id);

    phone.stop(&arrival.stream_id).await;
    let heat = tablet.play("Heat").await;
    assert_eq!(tv.streams_playing().await, [heat.stream_id]);

    // And back up: the larger plan's second slot is there at once.
    app.set_plan(&ada, "standard").await;
    tv.play("Dune").await;
}

#[tokio::test]
async fn a_plan_can_cap_signed_in_devices() {
    let app = TestApp::spawn_with(duo_plan).await;
    let Household { ada, tv, phone } = app.household_on("duo").await;
    let plan = tv.client.account().await.expect("the account").plan;
    assert_eq!((plan.max_streams, plan.max_devices), (2, Some(2)));

    let tablet = DeviceInfo::new("Tablet", DeviceType::Tablet);
    let refused = app
        .client()
        .sign_in(&ada.email, &ada.password, &tablet)
        .await
        .expect_problem(403, "device_limit_reached");
    let problem = refused.problem().expect("a problem");
    assert_eq!(problem.limit(), Some(2));
    let listed: Vec<Device> =
        serde_json::from_value(problem.get("devices").cloned().expect("the devices"))
            .expect("devices in the device-list shape");
    let mut ids: Vec<String> = listed.iter().map(|d| d.session_id.clone()).collect();
    ids.sort();
    assert_eq!(ids, session_ids(&[&tv, &phone]));
    let mut names: Vec<&str> = listed.iter().map(|d| d.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["Ada's phone", "Living Room TV"]);

    // Without the password nobody learns which devices are signed in.
    app.client()
        .sign_in(&ada.email, "not the password at all", &tablet)
        .await
        .expect_problem(401, "invalid_credentials");
    assert_eq!(tv.device_list().await, session_ids(&[&tv, &phone]));

    phone.client.sign_out_current().await.expect("signed out");
    let tablet = ada.sign_in_device(&tablet).await;
    assert_eq!(tv.device_list().await, session_ids(&[&tv, &tablet]));
}
