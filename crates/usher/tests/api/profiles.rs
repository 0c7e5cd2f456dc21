//! Profiles: the list, adding, renaming, deleting, their limits, and who may
//! touch them.

use serde_json::json;
use usher_client::{DeviceType, Method};

use usher_testkit::*;

#[tokio::test]
async fn an_account_starts_with_one_default_profile_its_devices_are_on() {
    let app = TestApp::spawn().await;
    let tv = app.signed_in("ada").await;

    let list = tv.profiles().await;
    let profiles = list["profiles"].as_array().expect("a list");
    assert_eq!(profiles.len(), 1);
    assert_eq!(profiles[0]["name"], "ada");
    assert_eq!(profiles[0]["default"], true);
    assert_eq!(profiles[0]["locked"], false);
    assert_eq!(list["require_pin_to_add"], false);
    let default = tv.default_profile().await;
    assert_eq!(tv.current_profile().await, Some(default));
}

#[tokio::test]
async fn profiles_are_added_renamed_and_deleted() {
    let app = TestApp::spawn().await;
    let tv = app.signed_in("ada").await;

    let kids = tv.add_profile("  Kids ").await;
    assert_eq!(tv.profile_names().await, ["ada", "Kids"]);

    let renamed = tv.rename_profile(&kids, "Little ones").await;
    assert_eq!(expect_json(&renamed, 200)["name"], "Little ones");
    assert_eq!(tv.profile_names().await, ["ada", "Little ones"]);

    let deleted = tv.delete_profile(&kids).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text());
    assert_eq!(tv.profile_names().await, ["ada"]);
    let again = tv.delete_profile(&kids).await;
    again.expect_problem(404, "not_found");
}

#[tokio::test]
async fn a_sixth_profile_is_refused() {
    let app = TestApp::spawn().await;
    let tv = app.signed_in("ada").await;
    for name in ["Bob", "Cy", "Di", "Ed"] {
        tv.add_profile(name).await;
    }

    let answer = tv
        .call(Method::POST, "/v1/profiles", Some(json!({ "name": "Fay" })))
        .await;
    let problem = answer.expect_problem(409, "profile_limit_reached");
    assert_eq!(problem.limit(), Some(5));
    assert_eq!(tv.profile_names().await.len(), 5);
}

#[tokio::test]
async fn the_limit_holds_when_profiles_are_added_at_once() {
    let app = TestApp::spawn().await;
    let tv = app.signed_in("ada").await;

    let adds = (0..8).map(|i| {
        let tv = tv.clone();
        async move {
            let body = json!({ "name": format!("Viewer {i}") });
            tv.call(Method::POST, "/v1/profiles", Some(body))
                .await
                .status
                .as_u16()
        }
    });
    let mut statuses = futures_util::future::join_all(adds).await;
    statuses.sort();
    assert_eq!(statuses, [201, 201, 201, 201, 409, 409, 409, 409]);
    assert_eq!(tv.profile_names().await.len(), 5);
}

#[tokio::test]
async fn the_last_and_the_default_profile_are_kept() {
    let app = TestApp::spawn().await;
    let tv = app.signed_in("ada").await;
    let default = format!("/v1/profiles/{}", tv.default_profile().await);

    tv.call(Method::DELETE, &default, None)
        .await
        .expect_problem(409, "last_profile");
    tv.add_profile("Kids").await;
    tv.call(Method::DELETE, &default, None)
        .await
        .expect_problem(409, "default_profile");
    assert_eq!(tv.profile_names().await, ["ada", "Kids"]);
}

#[tokio::test]
async fn invalid_names_and_pins_are_refused() {
    let app = TestApp::spawn().await;
    let tv = app.signed_in("ada").await;
    let kids = tv.add_profile("Kids").await;

    for name in ["", "   ", &"x".repeat(51), "Kids\u{7}"] {
        tv.call(Method::POST, "/v1/profiles", Some(json!({ "name": name })))
            .await
            .expect_problem(422, "invalid_profile_name");
        tv.call(
            Method::PATCH,
            &format!("/v1/profiles/{kids}"),
            Some(json!({ "name": name })),
        )
        .await
        .expect_problem(422, "invalid_profile_name");
    }
    for pin in ["123", "12345", "12a4", " 1234"] {
        tv.set_pin(&kids, PASSWORD, pin)
            .await
            .expect_problem(422, "invalid_pin");
        tv.pick_profile(&kids, Some(pin))
            .await
            .expect_problem(422, "invalid_pin");
    }
    assert_eq!(tv.profile_names().await, ["ada", "Kids"]);
    assert_eq!(tv.profiles().await["profiles"][1]["locked"], false);
}

#[tokio::test]
async fn pin_changes_need_the_account_password() {
    let app = TestApp::spawn().await;
    let tv = app.signed_in("ada").await;
    let kids = tv.add_profile("Kids").await;
    let wrong = "not the password";

    tv.set_pin(&kids, wrong, "1234")
        .await
        .expect_problem(403, "wrong_password");
    assert_eq!(tv.profiles().await["profiles"][1]["locked"], false);

    tv.lock_profile(&kids, "1234").await;
    let pin_path = format!("/v1/profiles/{kids}/pin");
    tv.call(
        Method::DELETE,
        &pin_path,
        Some(json!({ "password": wrong })),
    )
    .await
    .expect_problem(403, "wrong_password");
    assert_eq!(tv.profiles().await["profiles"][1]["locked"], true);

    let removed = tv
        .call(
            Method::DELETE,
            &pin_path,
            Some(json!({ "password": PASSWORD })),
        )
        .await;
    assert_eq!(expect_json(&removed, 200)["locked"], false);
    tv.pick_profile(&kids, None).await;
    assert_eq!(tv.current_profile().await, Some(kids));
}

#[tokio::test]
async fn another_accounts_profiles_are_not_found() {
    let app = TestApp::spawn().await;
    let ada = app.signed_in("ada").await;
    let grace = app.signed_in("grace").await;
    let theirs = grace.add_profile("Grace's kids").await;

    for id in [theirs.as_str(), "prf_nope", "../../etc"] {
        let renamed = ada.rename_profile(id, "Mine").await;
        renamed.expect_problem(404, "not_found");
        let deleted = ada.delete_profile(id).await;
        deleted.expect_problem(404, "not_found");
        ada.set_pin(id, PASSWORD, "1234")
            .await
            .expect_problem(404, "not_found");
        ada.pick_profile(id, None)
            .await
            .expect_problem(404, "not_found");
    }
    assert_eq!(
        grace.profile_names().await,
        ["grace", "Grace's kids"],
        "Grace's profiles are untouched"
    );
}

#[tokio::test]
async fn adding_a_profile_can_require_the_default_profiles_pin() {
    let app = TestApp::spawn().await;
    let phone = app
        .account("ada")
        .await
        .sign_in("Phone", DeviceType::Phone)
        .await;
    let default = phone.default_profile().await;
    let settings =
        |on: bool, password: &str| json!({ "password": password, "require_pin_to_add": on });

    // Nothing to ask for while the default profile is unlocked.
    phone
        .call(
            Method::PUT,
            "/v1/profiles/settings",
            Some(settings(true, PASSWORD)),
        )
        .await
        .expect_problem(409, "default_profile_unlocked");
    phone.lock_profile(&default, "2468").await;
    phone
        .call(
            Method::PUT,
            "/v1/profiles/settings",
            Some(settings(true, "wrong")),
        )
        .await
        .expect_problem(403, "wrong_password");
    let on = phone
        .call(
            Method::PUT,
            "/v1/profiles/settings",
            Some(settings(true, PASSWORD)),
        )
        .await;
    assert_eq!(expect_json(&on, 200)["require_pin_to_add"], true);

    let add = |pin: Option<&str>| {
        let mut body = json!({ "name": "Kids" });
        if let Some(pin) = pin {
            body["pin"] = pin.into();
        }
        phone.call(Method::POST, "/v1/profiles", Some(body))
    };
    add(None).await.expect_problem(403, "pin_required");
    add(Some("1111")).await.expect_problem(403, "wrong_pin");
    expect_json(&add(Some("2468")).await, 201);

    // Unlocking the default profile turns the requirement off with it.
    let unlock = json!({ "password": PASSWORD });
    let path = format!("/v1/profiles/{default}/pin");
    expect_json(&phone.call(Method::DELETE, &path, Some(unlock)).await, 200);
    assert_eq!(phone.profiles().await["require_pin_to_add"], false);
    expect_json(&add(None).await, 201);
}
