//! Re-entering the account password on a signed-in device (to change the
//! password, a PIN or the profile settings): throttled like a sign-in (the
//! session is its client), each wrong one in the history, and a burst of
//! them raises an alert.

use std::time::Duration;

use serde_json::json;
use usher::Config;
use usher_client::{ActivityQuery, Method, RawResponse};

use usher_testkit::*;

const NEW_PASSWORD: &str = "tangerine submarine orchestra";

/// `POST /v1/account/password` from `device` with `current`.
async fn change_password(device: &TestDevice, current: &str) -> RawResponse {
    let body = json!({"current_password": current, "new_password": NEW_PASSWORD});
    device
        .call(Method::POST, "/v1/account/password", Some(body))
        .await
}

/// The account's `password_check_failed` events: (session, `during`).
async fn wrong_passwords_entered(device: &TestDevice) -> Vec<(String, String)> {
    let query = ActivityQuery {
        limit: Some(200),
        kinds: &["password_check_failed"],
        ..Default::default()
    };
    let page = device.client.activity(&query).await.expect("the history");
    page.events
        .iter()
        .map(|e| {
            let device = e.device.as_ref().expect("entered on a device");
            (
                device.session_id.clone().expect("a signed-in device"),
                e.detail["during"].as_str().expect("what for").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn sixty_wrong_current_passwords_from_one_session_are_throttled_recorded_and_alerted() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let tv = ada.tv().await;

    let mut first_refused = None;
    for n in 0..60 {
        let answer = change_password(&tv, &format!("guess {n}")).await;
        if first_refused.is_none() && answer.status == 403 {
            answer.expect_problem(403, "wrong_password");
            continue;
        }
        answer.expect_retry_after();
        first_refused.get_or_insert(n);
    }
    assert_eq!(first_refused, Some(10), "ten guesses are checked");
    // The right password waits too.
    let retry_after = change_password(&tv, PASSWORD).await.expect_retry_after();

    // Each wrong password is in the history, as entered on the TV.
    let tv_changing_the_password = (tv.session_id().to_owned(), "password_change".to_owned());
    assert_eq!(
        wrong_passwords_entered(&tv).await,
        vec![tv_changing_the_password; 10]
    );
    // One alert, naming the TV.
    let alerts = tv.client.alerts().await.expect("the alerts");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].reasons, ["wrong_passwords"]);
    assert_eq!(alerts[0].device["session_id"], tv.session_id());

    app.advance(Duration::from_secs(retry_after));
    let answer = change_password(&tv, PASSWORD).await;
    assert_eq!(answer.status, 204, "{}", answer.text());
    ada.assert_password_works(NEW_PASSWORD).await;
}

#[tokio::test]
async fn every_password_check_spends_the_same_budget_and_says_what_it_was_for() {
    let app = TestApp::spawn_with(|config: &mut Config| {
        config.throttle.client_failure_burst = 4;
    })
    .await;
    let ada = app.account("ada").await;
    let tv = ada.tv().await;
    let kids = tv.add_profile("Kids").await;
    let pin = format!("/v1/profiles/{kids}/pin");
    let locked = tv.add_profile("Parents").await;
    let locking = tv
        .call(
            Method::PUT,
            &format!("/v1/profiles/{locked}/pin"),
            Some(json!({"password": PASSWORD, "pin": "4321"})),
        )
        .await;
    assert_eq!(locking.status, 200, "{}", locking.text());

    let answers = [
        tv.call(
            Method::PATCH,
            &format!("/v1/profiles/{locked}"),
            Some(json!({"name": "Ours", "password": "not it"})),
        )
        .await,
        tv.call(
            Method::PUT,
            &pin,
            Some(json!({"password": "not it", "pin": "1234"})),
        )
        .await,
        tv.call(Method::DELETE, &pin, Some(json!({"password": "not it"})))
            .await,
        tv.call(
            Method::PUT,
            "/v1/profiles/settings",
            Some(json!({"password": "not it", "require_pin_to_add": true})),
        )
        .await,
    ];
    for answer in &answers {
        answer.expect_problem(403, "wrong_password");
    }
    // The budget is the same: the password change waits now.
    change_password(&tv, PASSWORD).await.expect_retry_after();

    let mut entered: Vec<String> = wrong_passwords_entered(&tv)
        .await
        .into_iter()
        .map(|(_, during)| during)
        .collect();
    entered.sort();
    assert_eq!(
        entered,
        [
            "locked_profile_change",
            "pin_removal",
            "pin_set",
            "profile_settings"
        ]
    );
}

#[tokio::test]
async fn a_session_locked_out_for_wrong_passwords_holds_back_no_other_device() {
    let app = TestApp::spawn_with(|config: &mut Config| {
        config.throttle.client_failure_burst = 2;
    })
    .await;
    let ada = app.account("ada").await;
    let tv = ada.tv().await;
    let phone = ada.phone().await;
    for _ in 0..2 {
        change_password(&tv, "a guess")
            .await
            .expect_problem(403, "wrong_password");
    }
    change_password(&tv, PASSWORD).await.expect_retry_after();

    // Same address, other clients: the phone's session, and a new sign-in.
    ada.assert_password_works(PASSWORD).await;
    let answer = change_password(&phone, PASSWORD).await;
    assert_eq!(answer.status, 204, "{}", answer.text());
}
