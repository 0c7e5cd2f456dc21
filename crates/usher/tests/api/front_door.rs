//! What a person sees who types the server's address into a browser.

use usher_client::Method;

use usher_testkit::*;

async fn get(app: &TestApp, path: &str) -> usher_client::RawResponse {
    answer_to(&app.client(), Method::GET, path, None).await
}

#[tokio::test]
async fn the_servers_address_opens_the_account_sign_in_page() {
    let app = TestApp::spawn().await;
    for path in ["/", "/account/"] {
        let answer = get(&app, path).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.text());
        assert_eq!(answer.content_type(), Some("text/html"), "{path}");
        assert!(
            answer.text().contains("name=\"password\""),
            "{path} ends on the sign-in form: {}",
            answer.text()
        );
    }
}

#[tokio::test]
async fn browsers_get_a_favicon() {
    let app = TestApp::spawn().await;
    let answer = get(&app, "/favicon.ico").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type(), Some("image/svg+xml"));
    assert!(answer.text().starts_with("<svg"), "{}", answer.text());
}

#[tokio::test]
async fn other_unknown_paths_are_still_a_problem_not_a_page() {
    let app = TestApp::spawn().await;
    let answer = get(&app, "/nothing-here").await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.content_type(), Some("application/problem+json"));
}
