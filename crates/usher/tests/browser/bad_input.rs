//! Bad input from a browser: forged or missing CSRF tokens, revoked, expired
//! and forged cookies, another account's ids, a form submitted twice. Each
//! gets a clear page or message, and nothing changes that should not.

use cookie::SameSite;
use fantoccini::cookies::Cookie;
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use usher_client::{SignOutReason, StreamStopReason};

use usher_testkit::browser::{device_row, tv_and_browser, Browser, SESSION_COOKIE};
use usher_testkit::{TestApp, PASSWORD};

/// Form posts sent outside the browser, with the browser's cookie, so a test
/// can choose the fields and see the status.
struct Forms {
    http: reqwest::Client,
    base_url: String,
    cookie: String,
}

struct Answer {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

impl Forms {
    async fn of(app: &TestApp, browser: &Browser) -> Self {
        Forms {
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .expect("an HTTP client"),
            base_url: app.base_url().to_owned(),
            cookie: browser.session_cookie().await,
        }
    }

    /// POSTs `fields` to `path` as the browser would (cookie and `Origin`).
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let answer = self
            .http
            .post(format!("{}{path}", self.base_url))
            .header("Cookie", format!("{SESSION_COOKIE}={}", self.cookie))
            .header("Origin", &self.base_url)
            .form(fields)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let status = answer.status();
        let location = answer
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = answer.text().await.unwrap_or_default();
        Answer {
            status,
            location,
            body,
        }
    }
}

impl Answer {
    fn summary(&self) -> String {
        let body: String = self.body.chars().take(600).collect();
        format!("{} (location {:?})\n{body}", self.status, self.location)
    }
}

/// The CSRF token the page put in `form`.
async fn csrf_of(browser: &Browser, form: &str) -> String {
    browser
        .find(&format!("{form} input[name=csrf]"))
        .await
        .prop("value")
        .await
        .expect("the csrf field")
        .unwrap_or_else(|| panic!("{form} carries a csrf field"))
}

#[tokio::test]
async fn a_post_with_a_missing_or_forged_csrf_token_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let account = app.account("alex").await;
    let tv = account.tv().await;
    let mut tv_live = tv.live().await;
    let lease = tv.play("Dune").await;
    let browser = Browser::signed_in(&app, &account).await;
    let tv_row = device_row(tv.session_id());
    browser.wait_for(&tv_row).await;
    let forms = Forms::of(&app, &browser).await;
    let sign_out_tv = format!("/account/devices/{}/sign-out", tv.session_id());
    let csrf = csrf_of(&browser, &format!("{tv_row} form.sign-out-form")).await;

    let attempts = [
        ("missing token", sign_out_tv.clone(), vec![]),
        ("empty token", sign_out_tv.clone(), vec![("csrf", "")]),
        (
            "forged token",
            sign_out_tv.clone(),
            vec![("csrf", "forged")],
        ),
        (
            "sign out of all devices",
            "/account/devices/sign-out-all".into(),
            vec![("csrf", "forged"), ("include_current", "on")],
        ),
        (
            "rename",
            format!("/account/devices/{}/rename", tv.session_id()),
            vec![("csrf", "forged"), ("name", "Hacked")],
        ),
        (
            "stop",
            format!("/account/streams/{}/stop", lease.stream_id),
            vec![("csrf", "forged")],
        ),
        (
            "password",
            "/account/password".into(),
            vec![
                ("csrf", "forged"),
                ("current_password", &account.password),
                ("new_password", "a password chosen by someone else"),
                ("sign_out_all_devices", "on"),
            ],
        ),
    ];
    // Every answer is checked before any is asserted, so one wrong answer
    // does not hide the others.
    let mut wrong = Vec::new();
    for (what, path, fields) in &attempts {
        let answer = forms.post(path, fields).await;
        if answer.status != StatusCode::FORBIDDEN || !answer.body.contains(r#"class="error""#) {
            wrong.push(format!(
                "{what}: POST {path}: expected 403 with div.error, got {}",
                answer.summary()
            ));
        }
    }
    let sign_out_here = forms.post("/account/sign-out", &[("csrf", "forged")]).await;
    if sign_out_here.status != StatusCode::FORBIDDEN {
        wrong.push(format!(
            "sign out: POST /account/sign-out: expected 403, got {}",
            sign_out_here.summary()
        ));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));

    // In the browser, a forged post shows the error page.
    browser.post_form(&sign_out_tv, &[("csrf", "forged")]).await;
    browser
        .wait_for_text("div.error", "an explanation", |t| !t.trim().is_empty())
        .await;

    // Nothing changed: the TV plays on under its name, the password stands.
    tv.assert_signed_in().await;
    tv_live.expect_nothing_yet();
    let devices = tv.client.devices().await.expect("the device list");
    assert!(devices.iter().all(|d| d.name != "Hacked"), "{devices:?}");
    assert_eq!(tv.client.streams().await.expect("the streams").len(), 1);
    account.phone().await; // signs in with the old password
    browser.visit("/account/devices").await;
    browser.wait_for(&tv_row).await;

    // The same post with the page's token works, so the cookie was fine.
    let answer = forms.post(&sign_out_tv, &[("csrf", &csrf)]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.summary());
    assert_eq!(
        answer.location.as_deref(),
        Some("/account/devices?notice=device_signed_out")
    );
    // It was playing: its stream ends with the sign-out, then it is told.
    tv_live
        .expect_stream_stopped(&lease.stream_id, StreamStopReason::SignedOut)
        .await;
    tv_live.expect_signed_out(SignOutReason::Remote).await;
    browser.close().await;
}

#[tokio::test]
async fn a_sign_in_post_without_the_forms_csrf_token_signs_nobody_in() {
    let app = TestApp::spawn().await;
    let account = app.account("alex").await;
    let http = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("an HTTP client");

    // A page elsewhere posting the victim's browser into the attacker's account.
    for csrf in [None, Some("forged")] {
        let mut fields = vec![("email", account.email.as_str()), ("password", PASSWORD)];
        fields.extend(csrf.map(|token| ("csrf", token)));
        let answer = http
            .post(format!("{}/account/sign-in", app.base_url()))
            .header("Origin", app.base_url())
            .form(&fields)
            .send()
            .await
            .expect("the sign-in post");
        let status = answer.status();
        let sets_session = answer
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap_or_default().starts_with(SESSION_COOKIE));
        assert!(
            status.is_client_error() && !sets_session,
            "csrf {csrf:?}: expected a refusal without a session cookie, got {status}"
        );
    }
}

#[tokio::test]
async fn a_revoked_cookie_leads_to_sign_in_with_a_notice() {
    let app = TestApp::spawn().await;
    let account = app.account("alex").await;
    let phone = account.phone().await;
    let browser = Browser::signed_in(&app, &account).await;
    let this_browser = browser
        .attr("ul#devices li.device.current", "data-session-id")
        .await;

    phone
        .client
        .sign_out_device(&this_browser)
        .await
        .expect("the phone signs the browser out");
    browser.visit("/account/devices").await;

    browser.wait_for_path("/account/sign-in").await;
    assert_eq!(
        browser.location().await,
        "/account/sign-in?notice=signed_out_remote"
    );
    browser
        .wait_for_text("div.notice", "why", |t| !t.trim().is_empty())
        .await;
    assert!(browser.has("form#sign-in-form").await);
    phone.assert_signed_in().await;
    browser.close().await;
}

#[tokio::test]
async fn an_idle_expired_cookie_leads_to_sign_in_with_a_notice() {
    let app = TestApp::spawn().await;
    let account = app.account("alex").await;
    let browser = Browser::signed_in(&app, &account).await;

    app.advance(app.idle_timeout() + std::time::Duration::from_secs(60));
    browser.visit("/account/devices").await;

    browser.wait_for_path("/account/sign-in").await;
    assert_eq!(
        browser.location().await,
        "/account/sign-in?notice=signed_out_idle_expired"
    );
    browser
        .wait_for_text("div.notice", "why", |t| !t.trim().is_empty())
        .await;
    browser.close().await;
}

#[tokio::test]
async fn a_forged_cookie_leads_to_sign_in_and_signs_nobody_out() {
    let app = TestApp::spawn().await;
    let account = app.account("alex").await;
    let tv = account.tv().await;
    let browser = Browser::open(&app).await;
    browser.visit("/account/sign-in").await;

    let forged = format!("{}.not-the-secret", tv.session_id());
    let planted = forged.clone();
    // For the whole site, Secure, on an address (so host-only): what
    // `__Host-` asks.
    let cookie = Cookie::build((SESSION_COOKIE, forged))
        .domain("127.0.0.1")
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Lax)
        .build();
    browser
        .webdriver()
        .add_cookie(cookie)
        .await
        .expect("the cookie is set");
    assert_eq!(
        browser.session_cookie().await,
        planted,
        "the browser took it"
    );
    browser.visit("/account/devices").await;

    browser.wait_for_path("/account/sign-in").await;
    assert_eq!(browser.location().await, "/account/sign-in", "no notice");
    assert!(browser.has("form#sign-in-form").await);
    assert!(!browser.has("ul#devices").await);
    tv.assert_signed_in().await;
    browser.close().await;
}

#[tokio::test]
async fn another_accounts_ids_in_a_form_are_not_found_and_change_nothing() {
    let app = TestApp::spawn().await;
    let alex = app.account("alex").await;
    let bob = app.account("bob").await;
    let bobs_tv = bob.tv().await;
    let mut bobs_live = bobs_tv.live().await;
    let bobs_stream = bobs_tv.play("Dune").await;
    let alexs_phone = alex.phone().await;
    let browser = Browser::signed_in(&app, &alex).await;
    let phone_row = device_row(alexs_phone.session_id());
    browser.wait_for(&phone_row).await;
    let csrf = csrf_of(&browser, &format!("{phone_row} form.sign-out-form")).await;
    let forms = Forms::of(&app, &browser).await;

    // In the browser: the phone's Sign out button, aimed at Bob's TV.
    let sign_out_bobs_tv = format!("/account/devices/{}/sign-out", bobs_tv.session_id());
    browser
        .post_form(&sign_out_bobs_tv, &[("csrf", &csrf)])
        .await;
    browser
        .wait_for_text("div.error, div.notice", "a message", |t| {
            !t.trim().is_empty()
        })
        .await;

    let attempts = [
        (sign_out_bobs_tv.clone(), vec![("csrf", csrf.as_str())]),
        (
            format!("/account/devices/{}/rename", bobs_tv.session_id()),
            vec![("csrf", csrf.as_str()), ("name", "Hacked")],
        ),
        (
            format!("/account/streams/{}/stop", bobs_stream.stream_id),
            vec![("csrf", csrf.as_str())],
        ),
    ];
    for (path, fields) in &attempts {
        let answer = forms.post(path, fields).await;
        assert!(
            answer.status == StatusCode::NOT_FOUND || answer.status == StatusCode::SEE_OTHER,
            "{path}: not found: {}",
            answer.summary()
        );
        assert!(!answer.body.contains("Hacked"), "{}", answer.summary());
    }

    // Nothing of Bob's changed, and nothing of Alex's.
    bobs_tv.assert_signed_in().await;
    bobs_live.expect_nothing_yet();
    let bobs_devices = bobs_tv.client.devices().await.expect("Bob's devices");
    assert_eq!(bobs_devices.len(), 1);
    assert_eq!(bobs_devices[0].name, "Living Room TV");
    assert_eq!(
        bobs_tv.client.streams().await.expect("Bob's streams").len(),
        1
    );
    alexs_phone.assert_signed_in().await;
    browser.visit("/account/devices").await;
    browser.wait_for(&phone_row).await;
    assert!(
        !browser.has(&device_row(bobs_tv.session_id())).await,
        "Bob's TV is not Alex's"
    );
    browser.close().await;
}

#[tokio::test]
async fn a_sign_out_form_submitted_twice_explains_the_second_time() {
    let app = TestApp::spawn().await;
    let (_, tv, browser) = tv_and_browser(&app).await;
    let mut tv_live = tv.live().await;
    let tv_row = device_row(tv.session_id());
    browser.wait_for(&tv_row).await;
    let csrf = csrf_of(&browser, &format!("{tv_row} form.sign-out-form")).await;
    let action = format!("/account/devices/{}/sign-out", tv.session_id());

    browser
        .click(&format!("{tv_row} form.sign-out-form button"))
        .await;
    tv_live.expect_signed_out(SignOutReason::Remote).await;
    browser.wait_gone(&tv_row).await;

    // The same POST again, from the browser, as a second click would send it.
    browser.post_form(&action, &[("csrf", &csrf)]).await;
    browser
        .wait_for_text("div.error, div.notice", "a message", |t| {
            !t.trim().is_empty()
        })
        .await;
    let page = browser.text("body").await;
    assert!(!page.contains("Internal Server Error"), "{page}");

    let forms = Forms::of(&app, &browser).await;
    let third = forms.post(&action, &[("csrf", &csrf)]).await;
    assert!(
        third.status == StatusCode::NOT_FOUND || third.status == StatusCode::SEE_OTHER,
        "a clear answer, not an error: {}",
        third.summary()
    );
    tv.assert_signed_out(SignOutReason::Remote).await;
    browser.visit("/account/devices").await;
    browser.wait_for("ul#devices li.device.current").await;
    browser.close().await;
}
