//! The activity page and the sign-in alert banner.

use usher_client::{DeviceInfo, DeviceType, SignOutReason};

use usher_testkit::browser::{tv_and_browser, Browser};
use usher_testkit::{ExpectProblem, TestApp};

#[tokio::test]
async fn the_activity_page_shows_who_did_what_newest_first_and_filters_by_kind() {
    let app = TestApp::spawn().await;
    let account = app.account("alex").await;
    let tv = account.tv().await;
    let phone = account.phone().await;
    phone.sign_out(&tv).await;
    let browser = Browser::signed_in(&app, &account).await;

    browser.click(r#"nav a[href="/account/activity"]"#).await;
    browser.wait_for_path("/account/activity").await;
    browser.wait_for("ol#activity").await;
    // Newest first: this browser's sign-in, a kind of device new to the
    // account, so an alert too.
    let first = browser.text("ol#activity li.activity:nth-child(1)").await;
    assert!(
        first.contains("New sign-in from a new kind of device"),
        "{first}"
    );
    let second = browser.text("ol#activity li.activity:nth-child(2)").await;
    assert!(
        second.contains("Signed in to the account pages"),
        "{second}"
    );
    let signed_out = browser
        .text(r#"ol#activity li.activity[data-kind="signed_out"]"#)
        .await;
    assert!(
        signed_out.contains("Signed out from") && signed_out.contains("Living Room TV"),
        "who did it and to which device: {signed_out}"
    );
    assert!(signed_out.contains("local network"), "{signed_out}");

    browser.select("select#activity-kind", "Sign-outs").await;
    browser
        .click("form#activity-filter button[type=submit]")
        .await;
    browser
        .wait_for_text("ol#activity", "only sign-outs", |t| {
            !t.contains("Signed in")
        })
        .await;
    assert_eq!(browser.count("ol#activity li.activity").await, 1);
    assert!(browser
        .location()
        .await
        .starts_with("/account/activity?kind=signed_out"));
    browser.close().await;
}

#[tokio::test]
async fn an_alert_banner_signs_a_new_kind_of_device_out_in_one_click() {
    let app = TestApp::spawn().await;
    let (account, _, browser) = tv_and_browser(&app).await;
    browser.visit("/account").await;
    // This browser is itself a new kind of device: "It was me".
    browser.wait_for("section.alert-banner").await;
    assert!(
        !browser
            .has("section.alert-banner form.alert-sign-out-form")
            .await,
        "no button to sign this very browser out"
    );
    browser
        .click("section.alert-banner form.alert-dismiss-form button")
        .await;
    browser.wait_for("div.notice").await;
    assert!(!browser.has("section.alert-banner").await);

    let tablet = account
        .sign_in_model("Unknown tablet", DeviceType::Tablet, "Tab S9")
        .await;
    let mut tablet_live = tablet.live().await;
    browser.visit("/account").await;
    let banner = browser.text("section.alert-banner").await;
    assert!(banner.contains("a new kind of device"), "{banner}");
    assert!(banner.contains("Unknown tablet"), "{banner}");

    browser
        .click("section.alert-banner form.alert-sign-out-form button")
        .await;

    tablet_live.expect_signed_out(SignOutReason::Remote).await;
    browser.wait_for("div.notice").await;
    assert!(!browser.has("section.alert-banner").await);
    tablet.assert_signed_out(SignOutReason::Remote).await;
    browser.close().await;
}

#[tokio::test]
async fn a_refused_sign_in_shows_the_name_its_caller_sent_as_unverified() {
    let app = TestApp::spawn().await;
    let account = app.account("dora").await;
    let lure = DeviceInfo::new("URGENT: call 1-800-555-0100", DeviceType::Phone);
    app.client()
        .sign_in(&account.email, "x", &lure)
        .await
        .expect_problem(401, "invalid_credentials");
    let browser = Browser::signed_in(&app, &account).await;

    browser.click(r#"nav a[href="/account/activity"]"#).await;
    browser.wait_for("ol#activity").await;
    let failed = r#"ol#activity li.activity[data-kind="sign_in_failed"]"#;
    let device = browser
        .text(&format!("{failed} .activity-device.unverified"))
        .await;
    assert!(
        device.starts_with("unverified device name:"),
        "labelled: {device}"
    );
    assert_eq!(
        browser
            .text(&format!("{failed} .activity-device.unverified q"))
            .await,
        "URGENT: call 1-800-555-0100",
        "quoted as sent"
    );
    assert_eq!(
        browser.count(".activity-device.unverified").await,
        1,
        "the account's own devices are named plainly"
    );
    browser.close().await;
}
