//! "Sign out of all devices", behind its confirmation page.

use usher_client::SignOutReason;

use usher_testkit::browser::{device_row, tv_and_browser, Browser};
use usher_testkit::TestApp;

const CHECKBOX: &str = "form#sign-out-all-form input[type=checkbox][name=include_current]";

#[tokio::test]
async fn signing_out_everywhere_else_keeps_this_browser_signed_in() {
    let app = TestApp::spawn().await;
    let account = app.account("alex").await;
    let tv = account.tv().await;
    let phone = account.phone().await;
    let mut tv_live = tv.live().await;
    let mut phone_live = phone.live().await;
    let browser = Browser::signed_in(&app, &account).await;
    browser.wait_for(&device_row(tv.session_id())).await;

    browser.click("a#sign-out-all").await;
    browser.wait_for("form#sign-out-all-form").await;
    assert_eq!(browser.location().await, "/account/devices/sign-out-all");
    tv.assert_signed_in().await;
    assert!(
        !browser.is_checked(CHECKBOX).await,
        "this browser is kept by default"
    );
    browser
        .click("form#sign-out-all-form button[type=submit]")
        .await;

    tv_live.expect_signed_out(SignOutReason::AllDevices).await;
    phone_live
        .expect_signed_out(SignOutReason::AllDevices)
        .await;
    browser.wait_for_path("/account/devices").await;
    browser.wait_for("div.notice").await;
    browser.wait_gone(&device_row(tv.session_id())).await;
    browser.wait_gone(&device_row(phone.session_id())).await;
    assert!(
        browser.has("ul#devices li.device.current").await,
        "this browser stays"
    );
    tv.assert_signed_out(SignOutReason::AllDevices).await;
    phone.assert_signed_out(SignOutReason::AllDevices).await;

    // Still signed in: the next page loads without a sign-in.
    browser.visit("/account").await;
    browser.wait_for("#account-email").await;
    browser.close().await;
}

#[tokio::test]
async fn signing_out_everywhere_including_here_lands_on_sign_in() {
    let app = TestApp::spawn().await;
    let (_, tv, browser) = tv_and_browser(&app).await;
    let mut tv_live = tv.live().await;

    browser.visit("/account/devices/sign-out-all").await;
    browser.set_checkbox(CHECKBOX, true).await;
    browser
        .click("form#sign-out-all-form button[type=submit]")
        .await;

    tv_live.expect_signed_out(SignOutReason::AllDevices).await;
    browser.wait_for_path("/account/sign-in").await;
    browser.wait_for("form#sign-in-form").await;
    browser.wait_for("div.notice").await;
    tv.assert_signed_out(SignOutReason::AllDevices).await;

    browser.visit("/account/devices").await;
    browser.wait_for_path("/account/sign-in").await;
    assert!(
        !browser.has("ul#devices").await,
        "the browser is signed out too"
    );
    browser.close().await;
}

#[tokio::test]
async fn leaving_the_confirmation_page_signs_nobody_out() {
    let app = TestApp::spawn().await;
    let (_, tv, browser) = tv_and_browser(&app).await;

    browser.click("a#sign-out-all").await;
    browser.wait_for("form#sign-out-all-form").await;
    browser.click(r#"nav a[href="/account/devices"]"#).await;

    browser.wait_for(&device_row(tv.session_id())).await;
    tv.assert_signed_in().await;
    browser.close().await;
}
