//! Changing the password from the browser.

use usher_client::SignOutReason;

use usher_testkit::browser::{tv_and_browser, Browser};
use usher_testkit::TestApp;

const NEW_PASSWORD: &str = "a much longer new passphrase";
const SIGN_OUT_ALL: &str = "form#password-form input[type=checkbox][name=sign_out_all_devices]";

async fn fill_password_form(browser: &Browser, current: &str, new: &str) {
    browser.click(r#"nav a[href="/account/password"]"#).await;
    browser.wait_for("form#password-form").await;
    browser
        .fill("form#password-form input[name=current_password]", current)
        .await;
    browser
        .fill("form#password-form input[name=new_password]", new)
        .await;
}

#[tokio::test]
async fn changing_the_password_signs_out_every_device_and_this_browser_by_default() {
    let app = TestApp::spawn().await;
    let (mut account, tv, browser) = tv_and_browser(&app).await;
    let mut tv_live = tv.live().await;

    fill_password_form(&browser, &account.password, NEW_PASSWORD).await;
    assert!(browser.is_checked(SIGN_OUT_ALL).await, "checked by default");
    browser
        .click("form#password-form button[type=submit]")
        .await;

    tv_live
        .expect_signed_out(SignOutReason::PasswordChanged)
        .await;
    browser.wait_for_path("/account/sign-in").await;
    browser.wait_for("form#sign-in-form").await;
    browser
        .wait_for_text("div.notice", "a notice", |t| !t.trim().is_empty())
        .await;
    tv.assert_signed_out(SignOutReason::PasswordChanged).await;

    // The old password no longer works; the new one does.
    browser
        .submit_sign_in(&account.email, &account.password)
        .await;
    browser.wait_for("div.error").await;
    account.password = NEW_PASSWORD.to_owned();
    browser.sign_in(&account).await;
    browser.close().await;
}

#[tokio::test]
async fn unchecking_sign_out_keeps_every_device_signed_in() {
    let app = TestApp::spawn().await;
    let (account, tv, browser) = tv_and_browser(&app).await;
    let mut tv_live = tv.live().await;

    fill_password_form(&browser, &account.password, NEW_PASSWORD).await;
    browser.set_checkbox(SIGN_OUT_ALL, false).await;
    browser
        .click("form#password-form button[type=submit]")
        .await;

    browser.wait_for_path("/account/password").await;
    browser.wait_for("div.notice").await;
    tv.assert_signed_in().await;
    tv_live.expect_nothing_yet();
    browser.visit("/account/devices").await;
    browser.wait_for("ul#devices li.device.current").await;
    browser.close().await;
}

#[tokio::test]
async fn a_wrong_current_password_changes_nothing() {
    let app = TestApp::spawn().await;
    let (account, tv, browser) = tv_and_browser(&app).await;

    fill_password_form(&browser, "not my password", NEW_PASSWORD).await;
    browser
        .click("form#password-form button[type=submit]")
        .await;

    browser
        .wait_for_text("div.error", "an error", |t| !t.trim().is_empty())
        .await;
    browser.wait_for_path("/account/password").await;
    tv.assert_signed_in().await;
    account
        .sign_in_model("Check", usher_client::DeviceType::Phone, "Pixel")
        .await;
    browser.close().await;
}

#[tokio::test]
async fn wrong_current_passwords_are_limited_recorded_and_alerted() {
    let app = TestApp::spawn_with(|config: &mut usher::Config| {
        config.throttle.client_failure_burst = 3;
        config.alerts.wrong_passwords_burst = 3;
    })
    .await;
    let (account, _tv, browser) = tv_and_browser(&app).await;

    for _ in 0..3 {
        fill_password_form(&browser, "not my password", NEW_PASSWORD).await;
        browser
            .click("form#password-form button[type=submit]")
            .await;
        browser
            .wait_for_text("div.error", "wrong", |t| t.contains("wrong"))
            .await;
    }
    // Now even the right password waits.
    fill_password_form(&browser, &account.password, NEW_PASSWORD).await;
    browser
        .click("form#password-form button[type=submit]")
        .await;
    browser
        .wait_for_text("div.error", "a wait", |t| t.contains("Wait"))
        .await;

    browser.visit("/account/activity").await;
    let wrong = "li.activity[data-kind=password_check_failed] .activity-what";
    browser.wait_for(wrong).await;
    assert_eq!(browser.count(wrong).await, 3);
    assert_eq!(
        browser.text(wrong).await,
        "Wrong password entered while changing the password"
    );

    browser.visit("/account").await;
    browser
        .wait_for_text(".alert-banner .alert-text", "the alert", |t| {
            t.contains("wrong passwords")
        })
        .await;
    browser.close().await;
}

#[tokio::test]
async fn a_guessable_new_password_is_refused_with_the_policy() {
    let app = TestApp::spawn().await;
    let (account, tv, browser) = tv_and_browser(&app).await;

    fill_password_form(&browser, &account.password, "Password123!").await;
    browser
        .click("form#password-form button[type=submit]")
        .await;

    let error = browser
        .wait_for_text("div.error", "the policy", |t| {
            t.contains("at least 10 characters")
        })
        .await;
    assert!(error.contains("too easy to guess"), "{error}");
    assert!(
        error.contains("must not contain control characters"),
        "{error}"
    );
    tv.assert_signed_in().await;
    account.assert_password_works(&account.password).await;
    browser.close().await;
}
