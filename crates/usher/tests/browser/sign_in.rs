//! Signing in through the form.

use usher_client::DeviceType;

use usher_testkit::browser::Browser;
use usher_testkit::TestApp;

#[tokio::test]
async fn signing_in_lands_on_the_devices_page_with_this_browser_marked() {
    let app = TestApp::spawn().await;
    let account = app.account("alex").await;
    let browser = Browser::signed_in(&app, &account).await;

    assert_eq!(browser.location().await, "/account/devices");
    assert_eq!(
        browser.count("ul#devices li.device").await,
        1,
        "only the browser is signed in"
    );
    let this_device = browser
        .wait_for("ul#devices li.device.current .this-device")
        .await;
    assert!(
        this_device.is_displayed().await.expect("visibility"),
        "the badge is visible"
    );
    let id = browser
        .attr("ul#devices li.device.current", "data-session-id")
        .await;
    assert!(id.starts_with("ses_"), "a session id: {id}");
    assert!(
        browser.has("li.device.current .device-type").await,
        "the row shows what kind of device it is"
    );

    // To the API, the browser is a device session of type browser.
    let phone = account.phone().await;
    let devices = phone.client.devices().await.expect("the device list");
    let listed = devices
        .iter()
        .find(|d| d.session_id == id)
        .expect("the browser is listed");
    assert_eq!(listed.device_type, DeviceType::Browser);
    browser.close().await;
}

#[tokio::test]
async fn a_wrong_password_shows_an_error_and_stays_on_sign_in() {
    let app = TestApp::spawn().await;
    let account = app.account("alex").await;
    let browser = Browser::open(&app).await;
    browser.visit("/account/sign-in").await;

    browser
        .submit_sign_in(&account.email, "not the password at all")
        .await;

    let error = browser
        .wait_for_text("div.error", "a message", |t| !t.trim().is_empty())
        .await;
    browser.wait_for_path("/account/sign-in").await;
    assert!(
        browser.has("form#sign-in-form").await,
        "the form is shown again"
    );
    assert!(
        !browser.has("ul#devices").await,
        "no device list without signing in: {error}"
    );
    let cookies = browser
        .webdriver()
        .get_all_cookies()
        .await
        .expect("the cookies");
    assert!(
        cookies
            .iter()
            .all(|c| c.name() != usher_testkit::browser::SESSION_COOKIE),
        "no session cookie after a refused sign-in"
    );
    browser.close().await;
}

#[tokio::test]
async fn a_browser_that_signed_in_before_is_not_locked_out_by_guesses_from_its_address() {
    let app = TestApp::spawn().await;
    let account = app.account("alex").await;
    let browser = Browser::signed_in(&app, &account).await;
    let proof = browser
        .webdriver()
        .get_named_cookie("__Host-usher_device")
        .await
        .expect("the sign-in leaves a device-proof cookie");
    assert_eq!(proof.http_only(), Some(true));
    assert_eq!(proof.secure(), Some(true));
    assert_eq!(proof.path(), Some("/"));
    browser
        .click("form#sign-out-form button[type=submit]")
        .await;
    browser.wait_for_path("/account/sign-in").await;

    // Someone else at this address guesses until it is locked out.
    for _ in 0..10 {
        account.assert_password_refused("a guess").await;
    }
    let stranger = Browser::open(&app).await;
    stranger.visit("/account/sign-in").await;
    stranger
        .submit_sign_in(&account.email, &account.password)
        .await;
    stranger
        .wait_for_text("div.error", "a wait", |t| t.contains("Too many"))
        .await;
    stranger.close().await;

    // This browser proves it signed in before: it is let in.
    browser.sign_in(&account).await;
    browser.close().await;
}
