//! Signing devices out (one, this one, all) and refresh-token rotation.

use std::time::Duration;

use usher::clock::Clock;
use usher_client::{DeviceType, LiveEvent, SignOutReason};

use usher_testkit::*;

#[tokio::test]
async fn a_device_signed_out_remotely_is_told_at_once_and_refused_after() {
    let app = TestApp::spawn().await;
    let Household { tv, phone, .. } = app.household().await;
    let mut tv_live = tv.live().await;

    phone.sign_out(&tv).await;

    let event = tv_live.expect_signed_out(SignOutReason::Remote).await;
    let LiveEvent::SignedOut { at, .. } = event else {
        unreachable!("checked by expect_signed_out")
    };
    assert_eq!(
        at.timestamp_millis(),
        app.clock.now(),
        "signed out at the server's time"
    );
    tv.assert_signed_out(SignOutReason::Remote).await;
    assert_eq!(phone.device_list().await, session_ids(&[&phone]));
    phone.assert_signed_in().await;
}

#[tokio::test]
async fn a_device_that_signs_itself_out_is_told_why() {
    let app = TestApp::spawn().await;
    let Household { tv, phone, .. } = app.household().await;
    let mut tv_live = tv.live().await;

    tv.client.sign_out_current().await.expect("signed out");

    tv_live.expect_signed_out(SignOutReason::SelfSignOut).await;
    tv.assert_signed_out(SignOutReason::SelfSignOut).await;
    assert_eq!(phone.device_list().await, session_ids(&[&phone]));
}

#[tokio::test]
async fn sign_out_all_can_keep_the_device_in_use() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let laptop = ada.sign_in("Laptop", DeviceType::Browser).await;
    let tv = ada.sign_in("TV", DeviceType::Tv).await;
    let console = ada.sign_in("Console", DeviceType::Console).await;
    let mut laptop_live = laptop.live().await;
    let mut tv_live = tv.live().await;
    let mut console_live = console.live().await;

    let count = laptop.client.sign_out_all(false).await.expect("signed out");

    assert_eq!(count.signed_out, 2);
    tv_live.expect_signed_out(SignOutReason::AllDevices).await;
    console_live
        .expect_signed_out(SignOutReason::AllDevices)
        .await;
    tv.assert_signed_out(SignOutReason::AllDevices).await;
    console.assert_signed_out(SignOutReason::AllDevices).await;
    assert_eq!(laptop.device_list().await, session_ids(&[&laptop]));
    // The laptop's own channel stays open: the next thing it hears is about
    // its own sign-out, later.
    laptop.client.sign_out_current().await.expect("signed out");
    laptop_live
        .expect_signed_out(SignOutReason::SelfSignOut)
        .await;
}

#[tokio::test]
async fn sign_out_all_can_include_the_device_in_use() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let laptop = ada.sign_in("Laptop", DeviceType::Browser).await;
    let tv = ada.sign_in("TV", DeviceType::Tv).await;
    let mut laptop_live = laptop.live().await;
    let mut tv_live = tv.live().await;

    let count = laptop.client.sign_out_all(true).await.expect("signed out");

    assert_eq!(count.signed_out, 2);
    laptop_live
        .expect_signed_out(SignOutReason::AllDevices)
        .await;
    tv_live.expect_signed_out(SignOutReason::AllDevices).await;
    laptop.assert_signed_out(SignOutReason::AllDevices).await;
    tv.assert_signed_out(SignOutReason::AllDevices).await;
    let fresh = ada.sign_in("Laptop", DeviceType::Browser).await;
    assert_eq!(fresh.device_list().await, session_ids(&[&fresh]));
}

#[tokio::test]
async fn refreshing_rotates_both_tokens() {
    let app = TestApp::spawn().await;
    let tv = app.signed_in("ada").await;
    app.advance(Duration::from_secs(60));

    let fresh = tv
        .client
        .refresh(&tv.tokens.refresh_token)
        .await
        .expect("refreshed");
    assert_eq!(fresh.session_id, tv.session_id());
    assert_eq!(fresh.token_type, "Bearer");
    assert_eq!(fresh.expires_in, 15 * 60);
    assert_ne!(fresh.access_token, tv.tokens.access_token);
    assert_ne!(fresh.refresh_token, tv.tokens.refresh_token);

    let refreshed = TestDevice::new(&app.client(), fresh);
    let current = refreshed.client.current_session().await.expect("who am I");
    assert_eq!(current.session_id, tv.session_id());
    // The new refresh token rotates in turn.
    refreshed
        .client
        .refresh(&refreshed.tokens.refresh_token)
        .await
        .expect("refreshed again");
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_ends_the_session() {
    let app = TestApp::spawn().await;
    let Household { tv, phone, .. } = app.household().await;
    let mut tv_live = tv.live().await;
    let fresh = tv
        .client
        .refresh(&tv.tokens.refresh_token)
        .await
        .expect("refreshed");
    let refreshed = TestDevice::new(&app.client(), fresh);

    // A thief replays the token the TV already rotated.
    let reused = app
        .client()
        .refresh(&tv.tokens.refresh_token)
        .await
        .expect_problem(401, "refresh_token_reused");
    assert_eq!(reused.reason(), Some("token_reused"));

    tv_live.expect_signed_out(SignOutReason::TokenReused).await;
    refreshed
        .assert_signed_out(SignOutReason::TokenReused)
        .await;
    tv.client
        .current_session()
        .await
        .expect_revoked(&SignOutReason::TokenReused);
    // Only that session ended.
    assert_eq!(phone.device_list().await, session_ids(&[&phone]));
}
