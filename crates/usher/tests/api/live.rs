//! The live channel: how it is opened, what it carries, how it ends.

use usher_client::{DeviceType, LiveAuth, LiveEvent, SignOutReason, CLOSE_GOING_AWAY, SUBPROTOCOL};

use usher_testkit::*;

#[tokio::test]
async fn a_browser_opens_the_channel_with_its_token_as_a_subprotocol() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let browser = ada.sign_in("Firefox", DeviceType::Browser).await;
    let phone = ada.sign_in("Phone", DeviceType::Phone).await;

    let connection = browser.client.connect_with_subprotocol_token(false).await;
    let mut live = Live::opened(connection, browser.session_id()).await;
    assert_eq!(live.protocol(), Some(SUBPROTOCOL));

    phone.sign_out(&browser).await;
    live.expect_signed_out(SignOutReason::Remote).await;
    browser
        .client
        .live_with_auth(LiveAuth::Subprotocol, false)
        .await
        .expect_revoked(&SignOutReason::Remote);
}

#[tokio::test]
async fn the_channel_needs_a_valid_token() {
    let app = TestApp::spawn().await;
    app.client()
        .live(false)
        .await
        .expect_problem(401, "missing_token");
    for auth in [LiveAuth::Header, LiveAuth::Subprotocol] {
        app.client()
            .with_token("not-a-token")
            .live_with_auth(auth, false)
            .await
            .expect_problem(401, "invalid_token");
    }
}

#[tokio::test]
async fn an_account_page_is_told_when_the_device_list_changes() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let laptop = ada.sign_in("Laptop", DeviceType::Browser).await;
    let mut page = laptop.watch_devices().await;

    let tv = ada.sign_in("TV", DeviceType::Tv).await;
    page.expect_list_update(&laptop, |list| list.len() == 2)
        .await;

    laptop
        .client
        .rename_device(tv.session_id(), "Hotel TV")
        .await
        .expect("renamed");
    page.expect_list_update(&laptop, |list| list.iter().any(|d| d.name == "Hotel TV"))
        .await;

    tv.client.sign_out_current().await.expect("signed out");
    page.expect_list_update(&laptop, |list| list.len() == 1)
        .await;
}

#[tokio::test]
async fn only_watchers_of_that_account_hear_about_its_devices() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let ada_tv = ada.sign_in("TV", DeviceType::Tv).await;
    let mut ada_tv_live = ada_tv.live().await;
    let grace = app.signed_in("grace").await;
    let mut grace_page = grace.watch_devices().await;

    // Two changes to Ada's list, then Grace's page is signed out.
    let ada_phone = ada.sign_in("Phone", DeviceType::Phone).await;
    ada_phone.sign_out(&ada_tv).await;
    grace.client.sign_out_current().await.expect("signed out");

    // Ada's TV does not watch: it hears only about itself.
    match ada_tv_live.next().await {
        LiveEvent::SignedOut { reason, .. } => assert_eq!(reason, SignOutReason::Remote),
        other => panic!("expected signed_out, got {other}"),
    }
    // Grace's page may hear of Grace's own sign-in, which raced with its
    // connecting, but of neither of Ada's changes.
    let updates = grace_page.list_updates_before_signed_out().await;
    assert!(
        updates <= 1,
        "Grace's page heard {updates} device-list changes"
    );
}

#[tokio::test]
async fn shutting_down_closes_live_channels_as_going_away() {
    let app = TestApp::spawn().await;
    let tv = app.signed_in("ada").await;
    let mut live = tv.live().await;

    let stopping = tokio::spawn(app.stop());

    live.expect_closed(CLOSE_GOING_AWAY).await;
    stopping.await.expect("the server stops cleanly");
}
