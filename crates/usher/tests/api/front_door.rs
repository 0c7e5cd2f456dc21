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

/// Beside the pages: the icon browsers ask for, and a problem (not a page)
/// for any other unknown path: `(path, status, content type, body start)`.
#[tokio::test]
async fn the_favicon_is_served_and_other_unknown_paths_are_problems() {
    let app = TestApp::spawn().await;
    for (path, status, content_type, starts_with) in [
        ("/favicon.ico", 200, "image/svg+xml", Some("<svg")),
        ("/nothing-here", 404, "application/problem+json", None),
    ] {
        let answer = get(&app, path).await;
        assert_eq!(answer.status, status, "{path}");
        assert_eq!(answer.content_type(), Some(content_type), "{path}");
        if let Some(start) = starts_with {
            assert!(answer.text().starts_with(start), "{}", answer.text());
        }
    }
}
