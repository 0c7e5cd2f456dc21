//! The account's activity history: every kind of event, who caused it,
//! pagination, filtering, retention, and what another account may not see.

use std::time::Duration;

use serde_json::json;
use usher_client::{ActivityEvent, ActivityQuery, DeviceType, Method, SignOutReason};

use usher_testkit::*;

/// Every event of the account, newest first, read page by page.
async fn history(device: &TestDevice) -> Vec<ActivityEvent> {
    let mut events = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let page = device
            .client
            .activity(&ActivityQuery {
                limit: Some(200),
                before: before.as_deref(),
                ..Default::default()
            })
            .await
            .expect("the history is readable");
        events.extend(page.events);
        match page.next {
            Some(next) => before = Some(next),
            None => return events,
        }
    }
}

fn kinds(events: &[ActivityEvent]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

/// The newest event of `kind`.
fn newest<'a>(events: &'a [ActivityEvent], kind: &str) -> &'a ActivityEvent {
    events
        .iter()
        .find(|e| e.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} event in {:?}", kinds(events)))
}

fn device_name(event: &ActivityEvent) -> &str {
    event
        .device
        .as_ref()
        .map(|d| d.name.as_str())
        .unwrap_or_else(|| panic!("{} has no device", event.kind))
}

#[tokio::test]
async fn sign_ins_failures_and_remote_sign_outs_are_recorded_with_who_did_them() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let tv = ada.sign_in("Living Room TV", DeviceType::Tv).await;
    ada.assert_password_refused("not the password").await;
    let phone = ada.sign_in("Ada's phone", DeviceType::Phone).await;
    phone.sign_out(&tv).await;

    let events = history(&phone).await;
    assert_eq!(
        kinds(&events),
        [
            "signed_out",
            "alert",
            "sign_in",
            "sign_in_failed",
            "sign_in"
        ],
        "newest first: {events:#?}"
    );

    let tv_in = &events[4];
    assert_eq!(device_name(tv_in), "Living Room TV");
    assert_eq!(tv_in.device.as_ref().unwrap().device_type, "tv");
    assert_eq!(
        tv_in.device.as_ref().unwrap().session_id.as_deref(),
        Some(tv.session_id())
    );
    assert_eq!(tv_in.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(tv_in.detail["via"], "app");
    assert_eq!(
        tv_in.location.as_ref().map(|l| &l["local"]),
        Some(&json!(true)),
        "a loopback address is the local network: {tv_in:?}"
    );

    let failed = &events[3];
    assert_eq!(failed.detail["reason"], "wrong_password");
    assert_eq!(device_name(failed), "Phone");
    assert!(failed.device.as_ref().unwrap().session_id.is_none());

    // The account's first phone: a new kind of device.
    let alert = &events[1];
    assert_eq!(device_name(alert), "Ada's phone");
    assert_eq!(alert.detail["reasons"], json!(["new_device_type"]));

    let signed_out = &events[0];
    assert_eq!(device_name(signed_out), "Living Room TV");
    assert_eq!(signed_out.detail["reason"], "remote");
    assert_eq!(signed_out.detail["cause"], "another_device");
    assert_eq!(signed_out.detail["by"]["name"], "Ada's phone");
    assert_eq!(signed_out.detail["by"]["session_id"], phone.session_id());
    assert!(events.windows(2).all(|w| w[0].at >= w[1].at));
}

#[tokio::test]
async fn signing_oneself_out_and_sign_out_all_name_their_cause() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let tv = ada.sign_in("TV", DeviceType::Tv).await;
    let tablet = ada.sign_in("Tablet", DeviceType::Tablet).await;
    let phone = ada.sign_in("Phone", DeviceType::Phone).await;
    tv.client.sign_out_current().await.expect("signed out");
    phone.client.sign_out_all(false).await.expect("signed out");

    let events = history(&phone).await;
    let by_tv = events
        .iter()
        .find(|e| e.kind == "signed_out" && device_name(e) == "TV")
        .expect("the TV's sign-out is recorded");
    assert_eq!(by_tv.detail["cause"], "this_device");
    assert_eq!(by_tv.detail["by"], serde_json::Value::Null);
    let tablet_out = events
        .iter()
        .find(|e| e.kind == "signed_out" && device_name(e) == "Tablet")
        .expect("the tablet's sign-out is recorded");
    assert_eq!(tablet_out.detail["reason"], "all_devices");
    assert_eq!(tablet_out.detail["cause"], "sign_out_all");
    assert_eq!(tablet_out.detail["by"]["name"], "Phone");
    tablet.assert_signed_out(SignOutReason::AllDevices).await;
}

#[tokio::test]
async fn password_changes_token_theft_and_idle_expiry_are_recorded() {
    let app = TestApp::spawn_with(|c| {
        c.sessions.idle_timeout_secs = 3600;
        c.tokens.access_ttl_secs = 3 * 3600;
    })
    .await;
    let ada = app.account("ada").await;
    let stolen = ada.sign_in("Stolen phone", DeviceType::Phone).await;
    let _ = stolen
        .client
        .without_token()
        .refresh(&stolen.tokens.refresh_token)
        .await
        .expect("the first refresh works");
    stolen
        .client
        .without_token()
        .refresh(&stolen.tokens.refresh_token)
        .await
        .expect_problem(401, "refresh_token_reused");

    let idle = ada.sign_in("Old tablet", DeviceType::Tablet).await;
    let mut idle_live = idle.live().await;
    app.advance(Duration::from_secs(3600 + 60));
    idle_live
        .expect_signed_out(SignOutReason::IdleExpired)
        .await;

    let laptop = ada.sign_in("Laptop", DeviceType::Desktop).await;
    let tv = ada.sign_in("TV", DeviceType::Tv).await;
    laptop
        .client
        .change_password(PASSWORD, "a brand new passphrase", Some(true))
        .await
        .expect("the password is changed");
    tv.assert_signed_out(SignOutReason::PasswordChanged).await;

    let owner = ada
        .sign_in_with_password("Phone", "a brand new passphrase")
        .await;
    let events = history(&owner).await;
    let cause_of = |name: &str| {
        events
            .iter()
            .find(|e| e.kind == "signed_out" && device_name(e) == name)
            .unwrap_or_else(|| panic!("no sign-out of {name} in {events:#?}"))
            .detail
            .clone()
    };
    assert_eq!(cause_of("Stolen phone")["cause"], "token_reuse");
    assert_eq!(cause_of("Stolen phone")["reason"], "token_reused");
    assert_eq!(cause_of("Old tablet")["cause"], "idle_expiry");
    assert_eq!(cause_of("TV")["cause"], "password_change");
    assert_eq!(cause_of("TV")["by"]["name"], "Laptop");
    assert_eq!(cause_of("Laptop")["cause"], "password_change");
    let changed = newest(&events, "password_changed");
    assert_eq!(device_name(changed), "Laptop");
    assert_eq!(changed.detail["signed_out"], 2);
}

#[tokio::test]
async fn streams_started_stopped_and_refused_are_recorded() {
    let app = TestApp::spawn().await;
    let Household { tv, phone, .. } = app.household_on("basic").await;
    let lease = tv.play("Nosferatu").await;
    phone.assert_plan_full("Metropolis").await;
    phone.stop(&lease.stream_id).await;
    let second = tv.play("Nosferatu").await;
    phone.sign_out(&tv).await;

    let events = history(&phone).await;
    let streams: Vec<&ActivityEvent> = events
        .iter()
        .filter(|e| e.kind.starts_with("stream_"))
        .collect();
    let summary: Vec<(&str, &str)> = streams
        .iter()
        .map(|e| (e.kind.as_str(), device_name(e)))
        .collect();
    assert_eq!(
        summary,
        [
            ("stream_stopped", "Living Room TV"),
            ("stream_started", "Living Room TV"),
            ("stream_stopped", "Living Room TV"),
            ("stream_refused", "Ada's phone"),
            ("stream_started", "Living Room TV"),
        ],
        "{streams:#?}"
    );
    assert_eq!(streams[4].detail["title"], "Nosferatu");
    assert_eq!(streams[4].detail["stream_id"], lease.stream_id.as_str());
    assert_eq!(streams[3].detail["title"], "Metropolis");
    assert_eq!(streams[3].detail["reason"], "too_many_streams");
    assert_eq!(streams[3].detail["limit"], 1);
    assert_eq!(streams[2].detail["reason"], "remote");
    assert_eq!(streams[2].detail["by"]["name"], "Ada's phone");
    assert_eq!(streams[0].detail["reason"], "signed_out");
    assert_eq!(streams[0].detail["stream_id"], second.stream_id.as_str());
}

#[tokio::test]
async fn device_renames_are_recorded_with_the_old_and_new_name() {
    let app = TestApp::spawn().await;
    let Household { tv, phone, .. } = app.household().await;
    phone
        .client
        .rename_device(tv.session_id(), "Bedroom TV")
        .await
        .expect("renamed");
    let renamed = newest(&history(&tv).await, "device_renamed").clone();
    assert_eq!(device_name(&renamed), "Bedroom TV");
    assert_eq!(renamed.detail["from"], "Living Room TV");
    assert_eq!(renamed.detail["to"], "Bedroom TV");
    assert_eq!(renamed.detail["by"]["session_id"], phone.session_id());
    assert_eq!(renamed.detail["by"]["name"], "Ada's phone");
}

#[tokio::test]
async fn pages_walk_every_event_once_newest_first_and_filter_by_kind() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let tv = ada.sign_in("TV", DeviceType::Tv).await;
    for n in 1..=7 {
        tv.client
            .rename_device(tv.session_id(), &format!("TV {n}"))
            .await
            .expect("renamed");
    }
    // 1 sign-in + 7 renames, in pages of 3.
    let mut seen = Vec::new();
    let mut before: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = tv
            .client
            .activity(&ActivityQuery {
                limit: Some(3),
                before: before.as_deref(),
                ..Default::default()
            })
            .await
            .expect("a page");
        pages += 1;
        assert!(page.events.len() <= 3);
        seen.extend(page.events);
        match page.next {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let names: Vec<&str> = seen.iter().map(device_name).collect();
    assert_eq!(
        names,
        ["TV 7", "TV 6", "TV 5", "TV 4", "TV 3", "TV 2", "TV 1", "TV"],
        "each event once, newest first"
    );

    let only_sign_ins = tv
        .client
        .activity(&ActivityQuery {
            kinds: &["sign_in", "signed_out"],
            ..Default::default()
        })
        .await
        .expect("filtered");
    assert_eq!(kinds(&only_sign_ins.events), ["sign_in"]);
    assert_eq!(only_sign_ins.next, None);
}

#[tokio::test]
async fn bad_activity_queries_get_clear_errors() {
    let app = TestApp::spawn().await;
    let tv = app.signed_in("ada").await;
    for (query, code) in [
        ("limit=0", "invalid_limit"),
        ("limit=201", "invalid_limit"),
        ("limit=-1", "invalid_limit"),
        ("limit=ten", "invalid_limit"),
        ("limit=", "invalid_limit"),
        ("before=evt_nope", "invalid_cursor"),
        (
            "before=ses_0192d1a4c7b97f3a8e2b5c6d7e8f9a0b",
            "invalid_cursor",
        ),
        ("kind=sign_in,meteor_strike", "invalid_kind"),
    ] {
        let path = format!("/v1/activity?{query}");
        answer_to(&tv.client, Method::GET, &path, None)
            .await
            .expect_problem(422, code);
    }
    tv.client
        .raw(Method::GET, "/v1/activity")
        .no_auth()
        .send()
        .await
        .expect("an answer")
        .expect_problem(401, "missing_token");
}

#[tokio::test]
async fn another_accounts_history_is_never_shown() {
    let app = TestApp::spawn().await;
    let ada = app.signed_in("ada").await;
    let bob = app.signed_in("bob").await;
    let ada_events = history(&ada).await;
    let bob_events = history(&bob).await;
    assert_eq!(ada_events.len(), 1);
    assert_eq!(bob_events.len(), 1);
    assert_eq!(
        ada_events[0].device.as_ref().unwrap().session_id.as_deref(),
        Some(ada.session_id())
    );
    // Bob's cursor only pages through Bob's history.
    let page = ada
        .client
        .activity(&ActivityQuery {
            before: Some("evt_ffffffffffff7fffbfffffffffffffff"),
            ..Default::default()
        })
        .await
        .expect("a page");
    assert!(page
        .events
        .iter()
        .all(|e| e.device.as_ref().unwrap().session_id.as_deref() == Some(ada.session_id())));
}

#[tokio::test]
async fn events_older_than_the_retention_period_are_pruned() {
    let app = TestApp::spawn_with(|c| c.activity.retention_days = 30).await;
    let ada = app.account("ada").await;
    let old = ada.sign_in("Old phone", DeviceType::Phone).await;
    app.advance(Duration::from_secs(31 * 24 * 3600));
    let new = ada.sign_in("New phone", DeviceType::Phone).await;
    assert_eq!(history(&new).await.len(), 2);

    let pruned = app.prune_activity().await;

    assert_eq!(pruned, 1);
    let events = history(&new).await;
    assert_eq!(kinds(&events), ["sign_in"]);
    assert_eq!(device_name(&events[0]), "New phone");
    assert_eq!(
        events[0].device.as_ref().unwrap().session_id.as_deref(),
        Some(new.session_id())
    );
    assert_ne!(old.session_id(), new.session_id());
}

#[tokio::test]
async fn history_survives_a_restart() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let tv = ada.sign_in("TV", DeviceType::Tv).await;
    tv.client
        .rename_device(tv.session_id(), "Den TV")
        .await
        .expect("renamed");
    let before = history(&tv).await;

    let app = app.restart_with(|_| {}).await;
    let tv = tv.on(&app.client());
    assert_eq!(history(&tv).await, before);
}

#[tokio::test]
async fn profile_and_pin_changes_and_the_streams_a_lock_ends_are_recorded() {
    let app = TestApp::spawn().await;
    let ada = app.account_on("ada", "standard").await;
    let phone = ada.sign_in("Phone", DeviceType::Phone).await;
    let tv = ada.sign_in("TV", DeviceType::Tv).await;
    let kids = phone.add_profile("Kids").await;
    let renamed = phone
        .call(
            Method::PATCH,
            &format!("/v1/profiles/{kids}"),
            Some(json!({ "name": "Little ones" })),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text());
    assert_eq!(tv.pick_profile(&kids, None).await.status, 200);
    let lease = tv.play("Bluey").await;
    phone.lock_profile(&kids, "1234").await;
    let removed = phone
        .call(
            Method::DELETE,
            &format!("/v1/profiles/{kids}/pin"),
            Some(json!({ "password": PASSWORD })),
        )
        .await;
    assert_eq!(removed.status, 200, "{}", removed.text());
    let deleted = phone.delete_profile(&kids).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text());

    let events = history(&phone).await;
    let profile_events: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e.kind.starts_with("profile_"))
        .map(|e| (e.kind.as_str(), e.detail["name"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        profile_events,
        [
            ("profile_deleted", "Little ones"),
            ("profile_pin_removed", "Little ones"),
            ("profile_pin_set", "Little ones"),
            ("profile_renamed", "Little ones"),
            ("profile_created", "Kids"),
        ]
    );
    for e in events.iter().filter(|e| e.kind.starts_with("profile_")) {
        assert_eq!(device_name(e), "Phone", "{e:?}");
        assert_eq!(e.detail["profile_id"], kids.as_str());
    }
    let ended = events
        .iter()
        .find(|e| e.kind == "stream_stopped")
        .expect("the lock ended the TV's stream");
    assert_eq!(ended.detail["reason"], "profile_locked");
    assert_eq!(ended.detail["stream_id"], lease.stream_id.as_str());
    assert_eq!(device_name(ended), "TV");
}

/// What a stranger sends with a refused sign-in is theirs: the history keeps
/// it, but as unverified, never as one of the owner's devices.
#[tokio::test]
async fn a_refused_sign_in_names_its_device_as_unverified() {
    let app = TestApp::spawn_with(|config| {
        let solo = usher::domain::Plan {
            max_streams: 1,
            max_devices: Some(1),
        };
        config.plans.insert("solo".into(), solo);
    })
    .await;
    let dora = app.account_on("dora", "solo").await;
    let lure = usher_client::DeviceInfo::new("URGENT: call 1-800-555-0100", DeviceType::Phone);
    app.client()
        .sign_in(&dora.email, "x", &lure)
        .await
        .expect_problem(401, "invalid_credentials");
    let tv = dora.sign_in("Living Room TV", DeviceType::Tv).await;
    // The right password, but the plan's one device is signed in already.
    let second = usher_client::DeviceInfo::new("Call us: 1-800-555-0199", DeviceType::Tablet);
    app.client()
        .sign_in(&dora.email, &dora.password, &second)
        .await
        .expect_problem(403, "device_limit_reached");
    // A refusal is recorded with the next batch: an awaited change follows it.
    let renamed = tv
        .call(
            Method::PATCH,
            &format!("/v1/devices/{}", tv.session_id()),
            Some(json!({ "name": "Den TV" })),
        )
        .await;
    expect_json(&renamed, 200);

    let events = history(&tv).await;
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "sign_in_failed")
        .map(|e| e.device.as_ref().expect("the device that tried"))
        .collect();
    let names: Vec<(&str, bool)> = failed
        .iter()
        .map(|d| (d.name.as_str(), d.verified))
        .collect();
    assert_eq!(
        names,
        [
            ("Call us: 1-800-555-0199", false),
            ("URGENT: call 1-800-555-0100", false)
        ],
        "kept as sent, marked unverified: {events:#?}"
    );
    let signed_in = newest(&events, "sign_in")
        .device
        .as_ref()
        .expect("a device");
    assert_eq!(signed_in.name, "Living Room TV");
    assert!(
        signed_in.verified,
        "a signed-in device's own name is verified"
    );
}
