//! Sessions unused for the idle period expire on their own.

use std::time::Duration;

use usher::Config;
use usher_client::{DeviceType, SignOutReason};

use usher_testkit::*;

const IDLE: Duration = Duration::from_secs(3600);
const MINUTE: Duration = Duration::from_secs(60);

fn one_hour_idle_timeout(config: &mut Config) {
    config.sessions.idle_timeout_secs = IDLE.as_secs();
    // Access tokens outlive the idle period here, so a refusal can only come
    // from idle expiry, not from an expired token.
    config.tokens.access_ttl_secs = 3 * IDLE.as_secs();
}

#[tokio::test]
async fn an_idle_device_is_signed_out_and_told_why() {
    let app = TestApp::spawn_with(one_hour_idle_timeout).await;
    let tv = app.signed_in("ada").await;
    let mut live = tv.live().await;

    app.advance(IDLE + MINUTE);

    live.expect_signed_out(SignOutReason::IdleExpired).await;
    tv.assert_signed_out(SignOutReason::IdleExpired).await;
}

#[tokio::test]
async fn a_device_in_use_does_not_expire() {
    let app = TestApp::spawn_with(one_hour_idle_timeout).await;
    let ada = app.account("ada").await;
    let phone = ada.sign_in("Phone", DeviceType::Phone).await;
    let tv = ada.sign_in("TV", DeviceType::Tv).await;
    let mut phone_live = phone.live().await;
    let mut tv_live = tv.live().await;

    app.advance(40 * MINUTE);
    phone.client.devices().await.expect("the phone is used");
    app.advance(40 * MINUTE);

    // The TV, unused for 80 minutes, expires: proof that a sweep ran after
    // the clock moved. The phone, used 40 minutes ago, must not.
    tv_live.expect_signed_out(SignOutReason::IdleExpired).await;
    assert_eq!(phone.device_list().await, session_ids(&[&phone]));
    phone.assert_signed_in().await;

    // Its channel stays open until something about the phone happens.
    phone.client.sign_out_current().await.expect("signed out");
    phone_live
        .expect_signed_out(SignOutReason::SelfSignOut)
        .await;
}

#[tokio::test]
async fn a_refresh_counts_as_use() {
    let app = TestApp::spawn_with(one_hour_idle_timeout).await;
    let ada = app.account("ada").await;
    let phone = ada.sign_in("Phone", DeviceType::Phone).await;
    let tv = ada.sign_in("TV", DeviceType::Tv).await;
    let mut tv_live = tv.live().await;

    app.advance(40 * MINUTE);
    let fresh = phone
        .client
        .refresh(&phone.tokens.refresh_token)
        .await
        .expect("refreshed");
    app.advance(40 * MINUTE);

    tv_live.expect_signed_out(SignOutReason::IdleExpired).await;
    let phone = TestDevice::new(&app.client(), fresh);
    phone.assert_signed_in().await;
}
