//! Brute-force protection on sign-in.

use std::time::Duration;

use usher::Config;
use usher_client::{DeviceInfo, DeviceType, Method};

use usher_testkit::*;

const BURST: u32 = 3;

/// Asserts the next sign-in of `email` with `password` is throttled, through a
/// raw request so the `Retry-After` header itself is checked; its seconds.
async fn assert_throttled(app: &TestApp, email: &str, password: &str) -> u64 {
    let body = serde_json::json!({
        "email": email,
        "password": password,
        "device": DeviceInfo::new("Phone", DeviceType::Phone),
    });
    let answer = app
        .client()
        .raw(Method::POST, "/v1/sessions")
        .json(&body)
        .expect("serialisable")
        .send()
        .await
        .expect("an answer");
    answer.expect_retry_after()
}

#[tokio::test]
async fn sign_in_attempts_are_limited_per_account() {
    let app = TestApp::spawn_with(|config: &mut Config| {
        config.throttle.account_burst = BURST;
        config.throttle.account_period_secs = 3_600;
    })
    .await;
    let ada = app.account("ada").await;
    let grace = app.account("grace").await;

    for _ in 0..BURST {
        ada.assert_password_refused("a wrong guess, again").await;
    }

    // Even the right password waits now.
    assert_throttled(&app, &ada.email, PASSWORD).await;
    // Another account is not affected.
    grace.assert_password_works(PASSWORD).await;
}

#[tokio::test]
async fn sign_in_attempts_are_limited_per_address() {
    let app = TestApp::spawn_with(|config: &mut Config| {
        config.throttle.ip_burst = BURST;
        // The limit recovers only when the test moves the clock.
        config.throttle.ip_period_ms = 3_600_000;
    })
    .await;
    let ada = app.account("ada").await;

    // Spraying many accounts from one address exhausts the address's budget.
    for n in 0..BURST {
        app.client()
            .sign_in(
                &format!("victim{n}@example.com"),
                PASSWORD,
                &DeviceInfo::new("Phone", DeviceType::Phone),
            )
            .await
            .expect_problem(401, "invalid_credentials");
    }

    assert_throttled(&app, &ada.email, PASSWORD).await;
}

#[tokio::test]
async fn a_throttled_sign_in_succeeds_again_once_its_retry_after_has_passed() {
    let app = TestApp::spawn_with(|config: &mut Config| {
        config.throttle.account_burst = BURST;
        config.throttle.account_period_secs = 60;
    })
    .await;
    let ada = app.account("ada").await;
    for _ in 0..BURST {
        ada.assert_password_refused("a wrong guess, again").await;
    }
    let retry_after = assert_throttled(&app, &ada.email, PASSWORD).await;

    // A second short of it, the account still waits, for the second left.
    app.advance(Duration::from_secs(retry_after - 1));
    assert_eq!(assert_throttled(&app, &ada.email, PASSWORD).await, 1);

    app.advance(Duration::from_secs(1));
    ada.assert_password_works(PASSWORD).await;
}
