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

/// Every account page forbids being framed, loading script or style from
/// anywhere else, sending a referrer and being cached, signed in or not.
#[tokio::test]
async fn account_pages_send_the_headers_that_keep_them_to_themselves() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let page = ada.page_session().await;
    let signed_out = get(&app, "/account/sign-in").await;
    let devices = page.get("/account/devices").await;
    assert_eq!(devices.status(), 200);
    for (name, headers) in [
        ("sign-in", &signed_out.headers),
        ("devices", devices.headers()),
    ] {
        let header = |h: &str| {
            headers
                .get(h)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let csp = header("content-security-policy");
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ] {
            assert!(csp.contains(directive), "{name}: {directive} in {csp:?}");
        }
        assert_eq!(header("x-frame-options"), "DENY", "{name}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{name}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{name}");
        assert_eq!(header("cache-control"), "no-store", "{name}");
    }
}

/// A device name is text wherever a page shows it, never markup.
#[tokio::test]
async fn a_device_named_like_markup_is_shown_as_text() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let tv = ada.tv().await;
    tv.client
        .rename_device(tv.session_id(), "<img src=x onerror=alert(1)>")
        .await
        .expect("renamed");
    let page = ada.page_session().await;
    for path in ["/account/devices", "/account/activity"] {
        let html = page.get(path).await.text().await.expect("a page");
        assert!(!html.contains("<img src=x"), "{path}: markup escaped");
        assert!(
            html.contains("&#60;img src=x onerror=alert(1)&#62;"),
            "{path}: the name shown as text: {html}"
        );
    }
}
