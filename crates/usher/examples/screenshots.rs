//! The README's screenshots of the account pages, taken with the browser
//! harness of the tests (Debian's Chromium and chromedriver):
//!
//! ```sh
//! cargo run -p usher --example screenshots
//! ```
//!
//! writes, under `docs/screenshots/`, `devices-laptop.png` (1280×900) and
//! `devices-phone.png` (390×844) — a TV playing "Dune", a phone, and the
//! browser itself signed in — then `overview-laptop.png`,
//! `activity-laptop.png` and `profiles-laptop.png`.

use std::path::PathBuf;
use std::time::Duration;

use usher_client::DeviceType;
use usher_testkit::browser::{device_row, Browser, Viewport};
use usher_testkit::TestApp;

#[tokio::main]
async fn main() {
    devices_page().await;
    other_account_pages().await;
}

/// Where the README finds its screenshots.
fn directory() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots")
}

/// The devices page on a laptop and on a phone.
async fn devices_page() {
    let app = TestApp::spawn().await;
    let account = app.account("alex").await;
    let phone = account
        .sign_in_model("Alex's iPhone", DeviceType::Phone, "iPhone 15")
        .await;
    // The phone was last used a while ago; the TV and the browser just now.
    app.advance(Duration::from_secs(3 * 3600 + 120));
    let tv = account
        .sign_in_model("Living Room TV", DeviceType::Tv, "Sony Bravia XR")
        .await;
    tv.play("Dune").await;

    let directory = directory();
    std::fs::create_dir_all(&directory).expect("docs/screenshots");
    for (viewport, file) in [
        (Viewport::LAPTOP, "devices-laptop.png"),
        (Viewport::PHONE, "devices-phone.png"),
    ] {
        let browser = Browser::open_for_screenshots(&app, viewport).await;
        browser.sign_in(&account).await;
        browser
            .wait_for_text(
                &format!("{} .device-playing", device_row(tv.session_id())),
                "Dune",
                |t| t.contains("Dune"),
            )
            .await;
        browser.wait_for(&device_row(phone.session_id())).await;
        browser.wait_live().await;
        browser.fit_viewport(viewport).await;
        let png = browser.screenshot().await;
        let (width, height) = png_size(&png);
        assert_eq!(
            (width, height),
            (viewport.width, viewport.height),
            "{file} has the viewport's size"
        );
        let path = directory.join(file);
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        eprintln!("wrote {}", path.display());
        browser.close().await;
    }
}

/// Writes `docs/screenshots/NAME-laptop.png` of the page the browser shows.
async fn save(browser: &Browser, name: &str) {
    browser.fit_viewport(Viewport::LAPTOP).await;
    let png = browser.screenshot().await;
    assert_eq!(
        png_size(&png),
        (Viewport::LAPTOP.width, Viewport::LAPTOP.height)
    );
    let path = directory().join(format!("{name}-laptop.png"));
    std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    eprintln!("wrote {}", path.display());
}

/// The overview with a sign-in alert, the activity page and the profiles page.
async fn other_account_pages() {
    let app = TestApp::spawn().await;
    let account = app.account("alex").await;
    let tv = account
        .sign_in_model("Living Room TV", DeviceType::Tv, "Sony Bravia XR")
        .await;
    tv.play("Dune").await;
    let browser = Browser::open_for_screenshots(&app, Viewport::LAPTOP).await;
    browser.sign_in(&account).await;
    browser.visit("/account").await;
    browser
        .click("section.alert-banner form.alert-dismiss-form button")
        .await;
    browser.wait_for("div.notice").await;
    app.advance(Duration::from_secs(600));
    let _console = account
        .sign_in_model("Game room console", DeviceType::Console, "PlayStation 5")
        .await;
    browser.visit("/account").await;
    browser.wait_for("section.alert-banner").await;
    save(&browser, "overview").await;

    browser.visit("/account/activity").await;
    browser.wait_for("ol#activity").await;
    save(&browser, "activity").await;

    browser.visit("/account/profiles").await;
    browser.wait_for("form#add-profile-form").await;
    browser
        .fill("form#add-profile-form input[name=name]", "Kids")
        .await;
    browser
        .click("form#add-profile-form button[type=submit]")
        .await;
    browser.wait_for("div.notice").await;
    save(&browser, "profiles").await;
    browser.close().await;
}

/// Width and height from a PNG's header chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    let word = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().expect("four bytes"));
    (word(16), word(20))
}
