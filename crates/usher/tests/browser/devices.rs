//! The devices page: a device signing in appears live, and each row can be
//! signed out or renamed.

use usher_client::{SignOutReason, StreamStopReason};

use usher_testkit::browser::{device_row, tv_and_browser, Browser};
use usher_testkit::TestApp;

#[tokio::test]
async fn a_tv_signing_in_appears_without_a_reload_and_shows_what_it_plays() {
    let app = TestApp::spawn().await;
    let account = app.account("alex").await;
    let browser = Browser::signed_in(&app, &account).await;
    browser.wait_live().await;
    browser.mark_document().await;

    let tv = account.tv().await;

    let tv_row = device_row(tv.session_id());
    browser
        .wait_for_text(&format!("{tv_row} .device-name"), "the TV's name", |t| {
            t.contains("Living Room TV")
        })
        .await;
    assert!(browser.same_document().await, "the list updated in place");
    assert!(
        browser
            .text(&format!("{tv_row} .device-model"))
            .await
            .contains("Bravia XR"),
        "the model is shown"
    );
    for part in [
        ".device-type",
        ".device-last-active",
        ".device-location",
        ".device-ip",
    ] {
        assert!(
            browser.has(&format!("{tv_row} {part}")).await,
            "{part} is shown"
        );
    }
    assert!(
        browser
            .text(&format!("{tv_row} .device-ip"))
            .await
            .contains("127.0.0.1"),
        "the TV's address is shown"
    );
    assert_eq!(
        browser.text(&format!("{tv_row} .device-location")).await,
        "local network",
        "a loopback address is on the local network"
    );
    assert!(
        !browser.has(&format!("{tv_row}.current")).await,
        "the TV is not this device"
    );
    assert!(
        !browser.has(&format!("{tv_row} .device-playing")).await,
        "nothing playing yet"
    );

    let lease = tv.play("Dune").await;

    browser
        .wait_for_text(&format!("{tv_row} .device-playing"), "Dune", |t| {
            t.contains("Dune")
        })
        .await;
    assert!(browser.same_document().await, "the list updated in place");

    tv.stop(&lease.stream_id).await;
    browser
        .wait_gone(&format!("{tv_row} .device-playing"))
        .await;
    assert!(browser.same_document().await, "the list updated in place");
    browser.close().await;
}

#[tokio::test]
async fn signing_a_tv_out_tells_the_tv_at_once_and_removes_its_row() {
    let app = TestApp::spawn().await;
    let account = app.account("alex").await;
    let tv = account.tv().await;
    let phone = account.phone().await;
    let mut tv_live = tv.live().await;
    let mut phone_live = phone.live().await;
    let browser = Browser::signed_in(&app, &account).await;
    let tv_row = device_row(tv.session_id());
    browser.wait_for(&tv_row).await;

    browser
        .click(&format!("{tv_row} form.sign-out-form button"))
        .await;

    tv_live.expect_signed_out(SignOutReason::Remote).await;
    browser.wait_gone(&tv_row).await;
    browser.wait_for("div.notice").await;
    tv.assert_signed_out(SignOutReason::Remote).await;
    assert!(
        browser.has(&device_row(phone.session_id())).await,
        "the phone is still listed"
    );
    assert!(
        browser.has("ul#devices li.device.current").await,
        "this browser is still listed"
    );
    phone.assert_signed_in().await;
    phone_live.expect_nothing_yet();
    browser.close().await;
}

#[tokio::test]
async fn a_signed_out_device_that_was_playing_is_told_its_stream_stopped_too() {
    let app = TestApp::spawn().await;
    let account = app.account("alex").await;
    let tv = account.tv().await;
    let mut tv_live = tv.live().await;
    let lease = tv.play("Dune").await;
    let browser = Browser::signed_in(&app, &account).await;
    let tv_row = device_row(tv.session_id());
    browser
        .wait_for_text(&format!("{tv_row} .device-playing"), "Dune", |t| {
            t.contains("Dune")
        })
        .await;

    browser
        .click(&format!("{tv_row} form.sign-out-form button"))
        .await;

    tv_live
        .expect_stream_stopped(&lease.stream_id, StreamStopReason::SignedOut)
        .await;
    tv_live.expect_signed_out(SignOutReason::Remote).await;
    browser.wait_gone(&tv_row).await;
    browser.close().await;
}

#[tokio::test]
async fn renaming_a_device_shows_the_new_name_to_the_page_and_the_device() {
    let app = TestApp::spawn().await;
    let (_, tv, browser) = tv_and_browser(&app).await;
    let tv_row = device_row(tv.session_id());
    browser.wait_for(&tv_row).await;

    // Rename sits behind a disclosure toggle, as a plain form.
    browser
        .click(&format!("{tv_row} details.rename summary"))
        .await;
    let rename_form = format!("{tv_row} form.rename-form");
    browser
        .submit_filled(&rename_form, &[("name", "Bedroom TV")])
        .await;

    browser
        .wait_for_text(&format!("{tv_row} .device-name"), "the new name", |t| {
            t.contains("Bedroom TV")
        })
        .await;
    browser.wait_for("div.notice").await;
    let current = tv
        .client
        .current_session()
        .await
        .expect("the TV is signed in");
    assert_eq!(current.device.name, "Bedroom TV");
    let listed = tv.client.devices().await.expect("the device list");
    let entry = listed
        .iter()
        .find(|d| d.session_id == tv.session_id())
        .expect("the TV is listed");
    assert_eq!(entry.name, "Bedroom TV");
    browser.close().await;
}

#[tokio::test]
async fn a_page_that_newer_tabs_pushed_out_says_so_and_leaves_them_be() {
    let app = TestApp::spawn_with(|config| config.live.max_per_session = 1).await;
    let account = app.account("alex").await;
    let browser = Browser::signed_in(&app, &account).await;
    browser.wait_live().await;
    let first = browser.tab().await;

    let second = browser.open_tab("/account/devices").await;
    browser.wait_live().await;

    browser.switch_to(first).await;
    browser.wait_for(r#"body[data-live="replaced"]"#).await;
    let notice = browser.text("#live-replaced").await;
    assert!(notice.contains("Reload"), "{notice}");
    // It did not reconnect, which would have pushed the newer tab out.
    browser.switch_to(second).await;
    assert!(browser.has(r#"body[data-live="on"]"#).await);
    browser.close().await;
}
