//! Bad requests: each answered with a 4xx problem+json and a stable code,
//! never a 500, and never with a side effect.

use usher_client::{DeviceType, Method, RawResponse};

use usher_testkit::*;

/// Every endpoint that takes a JSON body; `{id}` stands for a session id.
const JSON_ENDPOINTS: [(&str, &str); 7] = [
    ("POST", "/v1/accounts"),
    ("POST", "/v1/sessions"),
    ("POST", "/v1/sessions/refresh"),
    ("PATCH", "/v1/devices/{id}"),
    ("POST", "/v1/devices/sign-out-all"),
    ("POST", "/v1/account/password"),
    ("POST", "/v1/streams"),
];

/// Sends `body` as JSON with `device`'s token (ignored where none is needed).
async fn send(device: &TestDevice, method: &str, path: &str, body: &str) -> RawResponse {
    let method = Method::from_bytes(method.as_bytes()).expect("a method");
    let path = path.replace("{id}", device.session_id());
    answer_to(&device.client, method, &path, Some(body)).await
}

/// Asserts the request changed nothing a user could see.
async fn assert_untouched(device: &TestDevice) {
    let current = device
        .client
        .current_session()
        .await
        .expect("still signed in");
    assert_eq!(current.device.name, "Living Room TV");
    assert_eq!(device.device_list().await, session_ids(&[device]));
}

/// Every way a JSON body can be wrong, each with the problem it gets:
/// `(method, path, body, status, code)`.
fn bad_bodies() -> Vec<(&'static str, &'static str, String, u16, &'static str)> {
    let mut cases = Vec::new();
    // Each breaks before its first member, which any endpoint would judge first.
    let malformed = [
        "{",
        "{\"unterminated",
        "not json",
        "",
        "{'single': 'quotes'}",
    ];
    for (method, path) in JSON_ENDPOINTS {
        for body in malformed {
            cases.push((method, path, body.to_owned(), 400, "malformed_json"));
        }
    }
    let wrong_shape: [(&str, &str, &str); 20] = [
        (
            "POST",
            "/v1/accounts",
            r#"{"email":5,"password":"correct horse battery"}"#,
        ),
        ("POST", "/v1/accounts", r#"{"email":"grace@example.com"}"#),
        (
            "POST",
            "/v1/accounts",
            r#"{"email":"grace@example.com","password":"correct horse battery","admin":true}"#,
        ),
        ("POST", "/v1/accounts", "[]"),
        ("POST", "/v1/accounts", "null"),
        (
            "POST",
            "/v1/sessions",
            r#"{"email":"ada@example.com","password":"x"}"#,
        ),
        (
            "POST",
            "/v1/sessions",
            r#"{"email":"ada@example.com","password":"x","device":"tv"}"#,
        ),
        (
            "POST",
            "/v1/sessions",
            r#"{"email":"ada@example.com","password":"x","device":{"name":"TV","type":"tv","colour":"red"}}"#,
        ),
        ("POST", "/v1/sessions/refresh", "{}"),
        ("POST", "/v1/sessions/refresh", r#"{"refresh_token":1}"#),
        ("PATCH", "/v1/devices/{id}", "{}"),
        ("PATCH", "/v1/devices/{id}", r#"{"name":null}"#),
        (
            "PATCH",
            "/v1/devices/{id}",
            r#"{"name":"Hacked","owner":"mallory"}"#,
        ),
        (
            "POST",
            "/v1/devices/sign-out-all",
            r#"{"include_current":"yes"}"#,
        ),
        ("POST", "/v1/devices/sign-out-all", r#"{"everything":true}"#),
        // A struct is an object, never a list.
        ("POST", "/v1/devices/sign-out-all", "[]"),
        ("POST", "/v1/devices/sign-out-all", "[true]"),
        ("PATCH", "/v1/devices/{id}", r#"["Hacked"]"#),
        (
            "POST",
            "/v1/account/password",
            r#"{"current_password":"x"}"#,
        ),
        (
            "POST",
            "/v1/account/password",
            r#"{"current_password":"x","new_password":"tangerine submarine","sign_out_all_devices":"no"}"#,
        ),
    ];
    for (method, path, body) in wrong_shape {
        cases.push((method, path, body.to_owned(), 422, "invalid_body"));
    }
    // Deeply nested, yet 60 KB: under the body limit, and refused cheaply.
    let depth = 30_000;
    let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let nested = format!(r#"{{"name":{nested}}}"#);
    cases.push(("PATCH", "/v1/devices/{id}", nested, 422, "invalid_body"));
    let big = "x".repeat(64 * 1024 + 1);
    let too_big = [
        (
            "POST",
            "/v1/accounts",
            format!(r#"{{"email":"grace@example.com","password":"{big}"}}"#),
        ),
        (
            "POST",
            "/v1/sessions",
            format!(r#"{{"email":"ada@example.com","password":"{big}"}}"#),
        ),
        (
            "PATCH",
            "/v1/devices/{id}",
            format!(r#"{{"name":"{big}"}}"#),
        ),
    ];
    for (method, path, body) in too_big {
        cases.push((method, path, body, 413, "payload_too_large"));
    }
    cases
}

/// Malformed JSON is 400, a body of the wrong shape 422, one over 64 KiB
/// 413; none of them changes anything.
#[tokio::test]
async fn bad_bodies_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let tv = app.signed_in("ada").await;
    for (method, path, body, status, code) in bad_bodies() {
        send(&tv, method, path, &body)
            .await
            .expect_problem(status, code);
    }
    assert_untouched(&tv).await;
    app.client()
        .create_account("grace@example.com", PASSWORD, None)
        .await
        .expect("no refused request created the account");
}

/// A refused body says what was wrong and where, in words: no Rust type
/// (`struct SignOutAll`, `u32`) and no parser jargon.
#[tokio::test]
async fn refusals_say_in_words_what_was_wrong_and_where() {
    let app = TestApp::spawn().await;
    let tv = app.signed_in("ada").await;
    let cases = [
        (
            "POST",
            "/v1/devices/sign-out-all",
            "[]",
            "The body must be an object, not a list.",
        ),
        (
            "POST",
            "/v1/devices/sign-out-all",
            r#"{"include_current":"yes"}"#,
            "`include_current` must be true or false, not a string.",
        ),
        (
            "POST",
            "/v1/sessions",
            r#"{"email":"ada@example.com","password":"x","device":{"name":"TV"}}"#,
            "`device.type` is required.",
        ),
        (
            "POST",
            "/v1/sessions",
            r#"{"email":"ada@example.com","password":"x","device":["TV","tv"]}"#,
            "`device` must be an object, not a list.",
        ),
        (
            "PATCH",
            "/v1/devices/{id}",
            r#"{"name":"Hacked","owner":"mallory"}"#,
            "`owner` is not known (expected `name`).",
        ),
    ];
    for (method, path, body, detail) in cases {
        let problem = send(&tv, method, path, body)
            .await
            .expect_problem(422, "invalid_body");
        assert_eq!(problem.detail.as_deref(), Some(detail), "{body}");
    }
    let malformed = send(&tv, "POST", "/v1/devices/sign-out-all", "{")
        .await
        .expect_problem(400, "malformed_json");
    assert_eq!(
        malformed.detail.as_deref(),
        Some("The request body ends before its JSON does.")
    );
    // A member given twice is refused: parsers disagree on which copy counts.
    send(
        &tv,
        "POST",
        "/v1/devices/sign-out-all",
        r#"{"include_current":false,"include_current":true}"#,
    )
    .await
    .expect_problem(422, "invalid_body");
    assert_untouched(&tv).await;
}

#[tokio::test]
async fn a_body_that_is_not_declared_json_is_415() {
    let app = TestApp::spawn().await;
    let body = format!(r#"{{"email":"ada@example.com","password":"{PASSWORD}"}}"#);
    let url = format!("http://{}/v1/accounts", app.address);
    // No Content-Type at all: the typed client never sends that.
    let answer = reqwest::Client::new()
        .post(&url)
        .body(body.clone())
        .send()
        .await
        .expect("an answer");
    assert_eq!(answer.status(), 415);
    let content_type = answer.headers()["content-type"].to_str().expect("text");
    assert_eq!(content_type, "application/problem+json");
    let problem: serde_json::Value = answer.json().await.expect("JSON");
    assert_eq!(problem["code"], "unsupported_media_type");

    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        app.client()
            .raw(Method::POST, "/v1/accounts")
            .body(content_type, body.clone())
            .send()
            .await
            .expect("an answer")
            .expect_problem(415, "unsupported_media_type");
    }
}

#[tokio::test]
async fn a_device_that_describes_itself_badly_is_422() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let device = |name: &str, kind: &str, model: &str| {
        format!(
            r#"{{"email":"ada@example.com","password":"{PASSWORD}","device":{{"name":"{name}","type":"{kind}","model":"{model}"}}}}"#
        )
    };
    let long = "m".repeat(65);
    for body in [
        device("TV", "toaster", "X1"),
        device("TV", "TV", "X1"),
        device("", "tv", "X1"),
        device(&"n".repeat(65), "tv", "X1"),
        device("TV", "tv", &long),
    ] {
        answer_to(&app.client(), Method::POST, "/v1/sessions", Some(&body))
            .await
            .expect_problem(422, "invalid_device");
    }
    // Nothing was signed in by the refused attempts.
    let tv = ada.sign_in("TV", DeviceType::Tv).await;
    assert_eq!(tv.device_list().await, session_ids(&[&tv]));
}

#[tokio::test]
async fn a_malformed_session_id_is_simply_not_found() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let tv = ada.sign_in("Living Room TV", DeviceType::Tv).await;
    let other_kind_of_id = ada.id.clone();
    for id in [
        "not-a-session",
        "ses_",
        "ses_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
        &other_kind_of_id,
        "..%2F..%2Fetc%2Fpasswd",
        "%00",
    ] {
        let path = format!("/v1/devices/{id}");
        send(&tv, "PATCH", &path, r#"{"name":"Renamed"}"#)
            .await
            .expect_problem(404, "not_found");
        answer_to(&tv.client, Method::DELETE, &path, None)
            .await
            .expect_problem(404, "not_found");
    }
    assert_untouched(&tv).await;
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems_too() {
    let app = TestApp::spawn().await;
    let tv = app.signed_in("ada").await;
    // `/` opens the account pages (see front_door.rs).
    for path in [
        "/v1",
        "/v1/nothing-here",
        "/v2/devices",
        "/v1/devices/ses_1/extra",
    ] {
        answer_to(&tv.client, Method::GET, path, None)
            .await
            .expect_problem(404, "not_found");
    }
    for (method, path) in [
        (Method::PUT, "/v1/devices"),
        (Method::DELETE, "/v1/accounts"),
        (Method::GET, "/v1/sessions"),
        (Method::POST, "/v1/sessions/current"),
        (Method::GET, "/v1/devices/sign-out-all"),
    ] {
        answer_to(&tv.client, method, path, None)
            .await
            .expect_problem(405, "method_not_allowed");
    }
}

#[tokio::test]
async fn the_live_channel_refuses_bad_requests() {
    let app = TestApp::spawn().await;
    let tv = app.signed_in("ada").await;
    for query in ["watch=bogus", "watch=", "watch=devices&shout=1"] {
        let mut request = tv
            .client
            .live_request(usher_client::LiveAuth::Header, false)
            .expect("a request");
        let uri = format!("{}?{query}", request.uri());
        *request.uri_mut() = uri.parse().expect("a URI");
        usher_client::LiveConnection::connect(request)
            .await
            .expect_problem(400, "invalid_query");
    }
    // A plain GET, not a WebSocket handshake.
    answer_to(&tv.client, Method::GET, "/v1/live", None)
        .await
        .expect_problem(426, "websocket_required");
}

/// A body that arrives but cannot be read (its chunked framing is broken)
/// is as unreadable as one that is not JSON: `400 malformed_json`, at that
/// code's one status, and nothing is done.
#[tokio::test]
async fn a_body_that_cannot_be_read_is_malformed_json() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let tv = ada.sign_in("Living Room TV", DeviceType::Tv).await;
    let phone = ada.sign_in("Ada's phone", DeviceType::Phone).await;
    let mut connection = RawConnection::open(app.address).await;
    connection
        .send(&format!(
            "POST /v1/devices/sign-out-all HTTP/1.1\r\nHost: usher\r\nConnection: close\r\n\
             Authorization: Bearer {}\r\nContent-Type: application/json\r\n\
             Transfer-Encoding: chunked\r\n\r\nzz\r\n{{}}\r\n0\r\n\r\n",
            tv.tokens.access_token
        ))
        .await;
    let problem = connection
        .answer()
        .await
        .expect_problem(400, "malformed_json");
    assert_eq!(problem["detail"], "The request body could not be read.");
    assert_eq!(
        tv.device_list().await,
        session_ids(&[&tv, &phone]),
        "nobody was signed out"
    );
}
