//! The harness itself: the system browser starts, reaches the server, and
//! holds the session cookie the account pages set.

use usher_testkit::browser::Browser;
use usher_testkit::TestApp;

#[tokio::test]
async fn the_system_browser_reaches_the_server() {
    let app = TestApp::spawn().await;
    let browser = Browser::open(&app).await;

    browser.visit("/healthz").await;

    assert_eq!(browser.location().await, "/healthz");
    let body = browser.text("body").await;
    assert!(
        !body.trim().is_empty(),
        "/healthz shows something: {body:?}"
    );
    browser.close().await;
}
