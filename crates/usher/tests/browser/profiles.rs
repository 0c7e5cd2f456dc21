//! The profiles page: adding a profile, locking it with a PIN (which needs
//! the account password), and the errors a user can make on the way.

use usher_client::StreamStopReason;

use usher_testkit::browser::{tv_and_browser, Browser};
use usher_testkit::TestApp;

/// The CSS selector of the row of the profile called `name` (by its id).
fn row(profile_id: &str) -> String {
    format!(r#"ul#profiles li.profile[data-profile-id="{profile_id}"]"#)
}

async fn open_profiles_page(browser: &Browser) {
    browser.click(r#"nav a[href="/account/profiles"]"#).await;
    browser.wait_for("form#add-profile-form").await;
}

async fn add_profile(browser: &Browser, name: &str) {
    browser
        .submit_filled("form#add-profile-form", &[("name", name)])
        .await;
}

/// Opens the PIN panel of the profile row `row` and submits `pin` with `password`.
async fn lock_with_pin(browser: &Browser, row: &str, pin: &str, password: &str) {
    browser.click(&format!("{row} details.pin summary")).await;
    submit_pin(browser, row, pin, password).await;
}

/// Submits the (open) PIN form of the profile row `row`.
async fn submit_pin(browser: &Browser, row: &str, pin: &str, password: &str) {
    let form = format!("{row} form.pin-form");
    browser
        .submit_filled(&form, &[("pin", pin), ("password", password)])
        .await;
}

#[tokio::test]
async fn a_profile_is_added_and_locked_with_a_pin_and_its_tv_goes_back_to_the_picker() {
    let app = TestApp::spawn().await;
    let account = app.account("alex").await;
    let browser = Browser::signed_in(&app, &account).await;
    open_profiles_page(&browser).await;
    assert_eq!(browser.count("ul#profiles li.profile").await, 1);
    assert!(browser.has("ul#profiles li.profile .profile-default").await);

    add_profile(&browser, "Kids").await;
    browser.wait_for("div.notice").await;
    browser
        .wait_for_text(
            "ul#profiles li.profile:nth-child(2) .profile-name",
            "Kids",
            |t| t == "Kids",
        )
        .await;

    // A TV watching on Kids is sent back to the picker when it is locked.
    let tv = account.tv().await;
    let kids = tv.pick_profile_named("Kids").await;
    let mut tv_live = tv.live().await;
    let lease = tv.play("Bluey").await;
    let kids_row = row(&kids);
    assert!(!browser.has(&format!("{kids_row} .profile-locked")).await);

    lock_with_pin(&browser, &kids_row, "1234", &account.password).await;

    browser.wait_for("div.notice").await;
    browser
        .wait_for(&format!("{} .profile-locked", row(&kids)))
        .await;
    tv_live
        .expect_stream_stopped(&lease.stream_id, StreamStopReason::ProfileLocked)
        .await;
    tv_live.expect_profile_locked(&kids).await;
    browser.close().await;
}

#[tokio::test]
async fn a_wrong_password_or_pin_is_shown_next_to_the_form_and_nothing_changes() {
    let app = TestApp::spawn().await;
    let (account, tv, browser) = tv_and_browser(&app).await;
    open_profiles_page(&browser).await;
    add_profile(&browser, "Kids").await;
    browser.wait_for("div.notice").await;
    let kids = tv.pick_profile_named("Kids").await;
    let kids_row = row(&kids);

    lock_with_pin(&browser, &kids_row, "1234", "not my password").await;
    browser
        .wait_for_text(
            &format!("{kids_row} div.error"),
            "a wrong-password error",
            |t| t.contains("password"),
        )
        .await;
    assert!(!browser.has(&format!("{kids_row} .profile-locked")).await);
    assert!(
        browser.has(&format!("{kids_row} details.pin[open]")).await,
        "the form stays open to try again"
    );

    // The panel is open already: no click on its summary (it would close it).
    submit_pin(&browser, &kids_row, "12a4", &account.password).await;
    browser
        .wait_for_text(
            &format!("{kids_row} div.error"),
            "an invalid-PIN error",
            |t| t.contains("four digits"),
        )
        .await;
    assert!(!browser.has(&format!("{kids_row} .profile-locked")).await);
    // The TV was never sent away.
    tv.play("Bluey").await;

    // A sixth profile is refused with the typed name kept.
    // Each waits for its own row: the previous page's notice is still
    // shown until the next page arrives.
    for name in ["Bo", "Cy", "Di"] {
        add_profile(&browser, name).await;
        browser
            .wait_for_text("ul#profiles", "the new profile", |t| t.contains(name))
            .await;
    }
    add_profile(&browser, "Eve").await;
    browser
        .wait_for_text("section div.error", "the profile limit", |t| {
            t.contains("5 profiles")
        })
        .await;
    assert_eq!(
        browser
            .attr("form#add-profile-form input[name=name]", "value")
            .await,
        "Eve"
    );
    assert_eq!(browser.count("ul#profiles li.profile").await, 5);
    browser.close().await;
}

#[tokio::test]
async fn a_locked_profile_is_renamed_and_deleted_only_with_its_pin_or_the_password() {
    let app = TestApp::spawn().await;
    let (account, tv, browser) = tv_and_browser(&app).await;
    let kids = tv.add_profile("Kids").await;
    tv.lock_profile(&kids, "1234").await;
    open_profiles_page(&browser).await;
    let kids_row = row(&kids);
    let rename_form = format!("{kids_row} form.rename-form");

    browser
        .click(&format!("{kids_row} details.rename summary"))
        .await;
    browser
        .submit_filled(&rename_form, &[("name", "Mine"), ("unlock", "0000")])
        .await;
    browser
        .wait_for_text(&format!("{kids_row} div.error"), "a wrong-PIN error", |t| {
            t.contains("not this profile's PIN")
        })
        .await;
    assert_eq!(
        browser.text(&format!("{kids_row} .profile-name")).await,
        "Kids"
    );

    // The panel stays open: the right PIN renames it.
    browser
        .submit_filled(&rename_form, &[("name", "Little ones"), ("unlock", "1234")])
        .await;
    browser.wait_for("div.notice").await;
    browser
        .wait_for_text(&format!("{kids_row} .profile-name"), "the new name", |t| {
            t == "Little ones"
        })
        .await;

    // The account password deletes it.
    browser
        .click(&format!("{kids_row} details.delete summary"))
        .await;
    browser
        .submit_filled(
            &format!("{kids_row} form.delete-form"),
            &[("unlock", account.password.as_str())],
        )
        .await;
    browser.wait_gone(&kids_row).await;
    assert_eq!(browser.count("ul#profiles li.profile").await, 1);
    browser.close().await;
}
