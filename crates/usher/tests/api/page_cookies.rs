//! The account pages' cookies: a session cookie is proven before anything
//! about its session is told, every cookie is `__Host-` (host-only, Secure,
//! for the whole site), and the sign-in form's token is bound to the
//! browser's pre-session (no login CSRF with a planted cookie).

use reqwest::redirect::Policy;
use reqwest::Response;
use usher_testkit::browser::{PRESESSION_COOKIE, SESSION_COOKIE};
use usher_testkit::*;

/// A browser without redirects, as the pages' tests use.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("an HTTP client")
}

/// What a browser sending `cookie` (a `Cookie` header) to the devices page
/// is told: the status, where to, and what becomes of its session cookie.
async fn told(app: &TestApp, cookie: &str) -> (u16, String, Option<String>) {
    let answer = http()
        .get(format!("{}/account/devices", app.base_url()))
        .header("Cookie", cookie)
        .send()
        .await
        .expect("answered");
    let location = answer
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let session = set_cookie(&answer, SESSION_COOKIE);
    (answer.status().as_u16(), location, session)
}

/// The session id of a page session's cookie.
fn session_of(page: &PageSession) -> &str {
    let value = &page.cookie[SESSION_COOKIE.len() + 1..];
    value.split_once('.').expect("<id>.<secret>").0
}

fn forged(session_id: &str) -> String {
    format!("{SESSION_COOKIE}={session_id}.AAAA")
}

/// No session has this id.
const UNKNOWN: &str = "ses_0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn a_cookie_that_does_not_prove_its_session_learns_nothing_about_it() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let phone = ada.phone().await;
    let signed_out = ada.page_session().await;
    let open = ada.page_session().await;
    // Seen by this node before the sign-out, so it is remembered (with its
    // secret) in memory, not only read from the store.
    assert_eq!(told(&app, &signed_out.cookie).await.0, 200);
    phone
        .client
        .sign_out_device(session_of(&signed_out))
        .await
        .expect("the phone signs the browser out");

    // Once from memory, once from a node that never saw them (the store).
    let mut app = app;
    for node in ["this node", "a node just started"] {
        let uniform = told(&app, &forged(session_of(&signed_out))).await;
        assert_eq!(
            uniform,
            (
                303,
                "/account/sign-in".into(),
                Some(format!("{SESSION_COOKIE}="))
            ),
            "{node}: to sign-in without a notice, the cookie cleared"
        );
        assert_eq!(told(&app, &forged(UNKNOWN)).await, uniform, "{node}");
        assert_eq!(
            told(&app, &forged(session_of(&open))).await,
            uniform,
            "{node}"
        );
        // Only the browser holding the secret is told why.
        let (status, location, _) = told(&app, &signed_out.cookie).await;
        assert_eq!(
            (status, location.as_str()),
            (303, "/account/sign-in?notice=signed_out_remote"),
            "{node}"
        );
        assert_eq!(told(&app, &open.cookie).await.0, 200, "{node}");
        app = app.restart_with(|_| {}).await;
    }
}

/// The sign-in form a browser is shown: its pre-session cookie (as a
/// `Cookie` header), the form's token, and the raw `Set-Cookie`.
async fn sign_in_form(app: &TestApp) -> (String, String, String) {
    let form = http()
        .get(format!("{}/account/sign-in", app.base_url()))
        .send()
        .await
        .expect("the sign-in form");
    let raw = form.headers()["set-cookie"]
        .to_str()
        .expect("text")
        .to_owned();
    let presession = set_cookie(&form, PRESESSION_COOKIE).expect("a pre-session");
    let csrf = form_csrf(&form.text().await.expect("a page")).expect("a token");
    (presession, csrf, raw)
}

/// Posts the sign-in form with `cookie` and `csrf`.
async fn post_sign_in(app: &TestApp, account: &TestAccount, cookie: &str, csrf: &str) -> Response {
    http()
        .post(format!("{}/account/sign-in", app.base_url()))
        .header("Cookie", cookie)
        .form(&[
            ("email", account.email.as_str()),
            ("password", account.password.as_str()),
            ("csrf", csrf),
        ])
        .send()
        .await
        .expect("answered")
}

/// Asserts a `Set-Cookie` is `__Host-` and as the prefix asks.
fn assert_host_only(raw: &str, name: &str, same_site: &str) {
    assert!(raw.starts_with(&format!("{name}=")), "{raw}");
    for attribute in ["HttpOnly", "Secure", "Path=/", same_site] {
        assert!(
            raw.split("; ").any(|a| a == attribute),
            "{attribute} in {raw}"
        );
    }
    assert!(!raw.contains("Domain"), "host-only: {raw}");
}

#[tokio::test]
async fn every_cookie_is_host_only() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let (presession, csrf, raw) = sign_in_form(&app).await;
    assert_host_only(&raw, PRESESSION_COOKIE, "SameSite=Strict");

    let signed_in = post_sign_in(&app, &ada, &presession, &csrf).await;
    assert_eq!(signed_in.status(), 303);
    let set: Vec<&str> = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|c| c.to_str().ok())
        .collect();
    let session = set
        .iter()
        .find(|c| c.starts_with(SESSION_COOKIE))
        .expect("a session cookie");
    assert_host_only(session, SESSION_COOKIE, "SameSite=Lax");
    assert!(
        set.iter()
            .any(|c| c.starts_with(&format!("{PRESESSION_COOKIE}=;"))),
        "the pre-session is forgotten: {set:?}"
    );

    let value = session.split(';').next().expect("name=value");
    assert_eq!(told(&app, value).await.0, 200);
}

#[tokio::test]
async fn a_sign_in_token_works_only_with_the_pre_session_it_was_made_for() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let (mine, my_token, _) = sign_in_form(&app).await;
    let (_, other_token, _) = sign_in_form(&app).await;

    let planted = format!("{PRESESSION_COOKIE}=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let refused = [
        (mine.as_str(), other_token.as_str()),
        // The old double submit: a cookie and a field of one value.
        (
            planted.as_str(),
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ),
        ("usher_csrf=token-1", "token-1"),
        ("", my_token.as_str()),
    ];
    for (cookie, csrf) in refused {
        let answer = post_sign_in(&app, &ada, cookie, csrf).await;
        assert_eq!(answer.status(), 403, "{cookie} with {csrf}");
        assert_eq!(
            set_cookie(&answer, SESSION_COOKIE),
            None,
            "nobody signed in"
        );
    }

    // Any node takes the form: the key is the deployment's, not the process's.
    let app = app.restart_with(|_| {}).await;
    let signed_in = post_sign_in(&app, &ada, &mine, &my_token).await;
    assert_eq!(signed_in.status(), 303);
    assert!(set_cookie(&signed_in, SESSION_COOKIE).is_some());
}

/// A browser signed in before the `__Host-` names keeps its session: the
/// proven old cookie comes back under the new name, the old one is removed.
#[tokio::test]
async fn a_cookie_of_the_earlier_name_is_renamed_once_its_secret_is_proven() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let page = ada.page_session().await;
    let value = &page.cookie[SESSION_COOKIE.len() + 1..];

    let answer = http()
        .get(format!("{}/account/activity?page=1", app.base_url()))
        .header("Cookie", format!("usher_session={value}"))
        .send()
        .await
        .expect("answered");
    assert_eq!(answer.status(), 303);
    assert_eq!(answer.headers()["location"], "/account/activity?page=1");
    let cookies: Vec<&str> = answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|c| c.to_str().ok())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with(&format!("{SESSION_COOKIE}={value};"))),
        "the session under its new name: {cookies:?}"
    );
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("usher_session=;") && c.contains("Path=/account")),
        "the old cookie removed where it was set: {cookies:?}"
    );
    assert_eq!(told(&app, &page.cookie).await.0, 200, "still signed in");

    // An old cookie that does not prove its session is only removed.
    let answer = http()
        .get(format!("{}/account/devices", app.base_url()))
        .header(
            "Cookie",
            forged(session_of(&page)).replace(SESSION_COOKIE, "usher_session"),
        )
        .send()
        .await
        .expect("answered");
    assert_eq!(answer.status(), 303);
    assert_eq!(answer.headers()["location"], "/account/sign-in");
}
