//! The OpenAPI document at `GET /openapi.json`: every path the router
//! serves is in it with exactly the methods it serves (but the account
//! pages, listed), and every problem code it lists
//! is one the server answers with, at that code's status. (Whether the
//! server's answers match the document is Schemathesis's to show:
//! `scripts/schemathesis.sh`.)

use std::collections::{BTreeSet, HashSet};

use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::Value;
use usher_api::ProblemCode;
use usher_testkit::*;

/// The paths the router serves that are not the API: the account pages
/// and what they load. Every other path is documented; a new page must be
/// added here, and anything else the router serves fails the test until
/// the document describes it.
const NOT_API_PATHS: [&str; 28] = [
    // The site root and the browser's icon request, which go to the pages.
    "/",
    "/favicon.ico",
    // The account pages (docs/account-pages.md).
    "/account",
    "/account/",
    "/account/activity",
    "/account/alerts/{alert_id}/dismiss",
    "/account/alerts/{alert_id}/sign-out",
    "/account/devices",
    "/account/devices/list",
    "/account/devices/sign-out-all",
    "/account/devices/{session_id}/rename",
    "/account/devices/{session_id}/sign-out",
    "/account/events",
    "/account/password",
    "/account/profiles",
    "/account/profiles/settings",
    "/account/profiles/{profile_id}/delete",
    "/account/profiles/{profile_id}/pin",
    "/account/profiles/{profile_id}/pin/remove",
    "/account/profiles/{profile_id}/rename",
    "/account/sign-in",
    "/account/sign-out",
    "/account/static/app.css",
    "/account/static/app.js",
    "/account/static/favicon.svg",
    "/account/streams/list",
    "/account/streams/{stream_id}/stop",
    // Where axum's router sends what no route takes (a 404 problem).
    "/{*__private__axum_fallback}",
];
const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

async fn served_document(app: &TestApp) -> Value {
    let answer = answer_to(
        &app.client(),
        usher_client::Method::GET,
        "/openapi.json",
        None,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.content_type(), Some("application/json"));
    answer.json().expect("the document is JSON")
}

/// Every path the router serves. axum lists no routes, but its router's
/// `Debug` form names every path (`paths: {RouteId(0): "/v1/…", …}`), the
/// account pages' too; the API's are picked from those.
fn served_paths(app: &TestApp) -> BTreeSet<String> {
    let debug = format!("{:?}", app.router());
    let paths: BTreeSet<String> = debug
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|text| text.starts_with('/'))
        .map(str::to_owned)
        .collect();
    assert!(
        paths.contains("/v1/accounts") && paths.contains("/account"),
        "the router's Debug form no longer lists its paths: {debug:.300}"
    );
    paths
}

#[tokio::test]
async fn the_document_is_openapi_3_1_with_the_auth_schemes_and_live_events() {
    let app = TestApp::spawn().await;
    let document = served_document(&app).await;
    assert_eq!(
        document,
        usher::http::document(),
        "`usher openapi` prints what is served"
    );
    assert_eq!(document["openapi"], "3.1.0");
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["bearer"]["bearerFormat"], "JWT");
    assert_eq!(schemes["live_subprotocol"]["in"], "header");
    assert_eq!(
        schemes["live_subprotocol"]["name"],
        "Sec-WebSocket-Protocol"
    );
    let schemas = &document["components"]["schemas"];
    let frames: Vec<&Value> = schemas["LiveEvent"]["oneOf"]
        .as_array()
        .expect("LiveEvent is one of its frames")
        .iter()
        .map(|frame| &frame["properties"]["type"]["enum"][0])
        .collect();
    assert_eq!(
        frames,
        [
            "hello",
            "signed_out",
            "stream_stopped",
            "profile_locked",
            "devices_changed"
        ]
    );
    let close_codes = &schemas["LiveCloseCode"]["enum"];
    for code in [
        usher_api::CLOSE_SIGNED_OUT,
        usher_api::CLOSE_GOING_AWAY,
        usher_api::CLOSE_REPLACED,
        usher_api::CLOSE_TRY_AGAIN_LATER,
    ] {
        assert!(
            close_codes
                .as_array()
                .is_some_and(|c| c.contains(&code.into())),
            "{code}"
        );
    }
    let live = &document["paths"]["/v1/live"]["get"];
    assert_eq!(
        live["security"],
        serde_json::json!([{"bearer": []}, {"live_subprotocol": []}])
    );
    assert!(live["responses"]["101"].is_object());
    assert!(
        document["paths"].get("/account").is_none(),
        "the account pages are not the API"
    );
}

#[tokio::test]
async fn every_route_of_the_api_is_documented_with_the_methods_it_serves() {
    let app = TestApp::spawn().await;
    let document = served_document(&app).await;
    let documented: BTreeSet<String> = document["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .cloned()
        .collect();
    let all = served_paths(&app);
    for page in NOT_API_PATHS {
        assert!(
            all.contains(page),
            "{page} is no longer served: take it off the list"
        );
        assert!(
            !documented.contains(page),
            "{page} is documented: take it off the list"
        );
    }
    let served: BTreeSet<String> = all
        .into_iter()
        .filter(|p| !NOT_API_PATHS.contains(&p.as_str()))
        .collect();
    assert_eq!(
        served, documented,
        "every path the router serves is documented, or listed as not the API"
    );
    for path in &served {
        // Any id will do: the method is matched before anything is parsed.
        let concrete = path.replace('{', "x_").replace('}', "");
        for method in METHODS {
            let request = Request::builder()
                .method(method.clone())
                .uri(&concrete)
                .body(Body::empty())
                .expect("a request");
            let status = app.oneshot(request).await.status();
            let is_served = status != 405;
            let is_documented = document["paths"][path]
                .get(method.as_str().to_lowercase())
                .is_some();
            assert_eq!(
                is_served, is_documented,
                "{method} {path}: answered {status}"
            );
        }
    }
}

#[tokio::test]
async fn every_documented_problem_is_a_problem_code_at_its_status() {
    let app = TestApp::spawn().await;
    let document = served_document(&app).await;
    let mut listed = HashSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            let name = format!("{method} {path}");
            assert!(
                operation.get("x-problems").is_none(),
                "{name}: the extension is taken out"
            );
            let responses = operation["responses"].as_object().expect("responses");
            for (status, response) in responses {
                let Some(problem) = response["content"].get(usher_api::PROBLEM_CONTENT_TYPE) else {
                    assert!(
                        !status.starts_with('4'),
                        "{name} {status}: a 4xx is a problem"
                    );
                    continue;
                };
                let codes = problem["schema"]["allOf"][1]["properties"]["code"]["enum"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{name} {status}: its codes"));
                assert!(!codes.is_empty(), "{name} {status}");
                for code in codes {
                    let code: ProblemCode = code
                        .as_str()
                        .and_then(|c| c.parse().ok())
                        .unwrap_or_else(|| panic!("{name} {status}: {code} is no ProblemCode"));
                    assert_eq!(status, &code.status().to_string(), "{name}: {code}");
                    listed.insert(code);
                }
            }
            if operation.get("security").is_some() {
                let unauthorized = &responses["401"]["content"][usher_api::PROBLEM_CONTENT_TYPE];
                let codes = &unauthorized["schema"]["allOf"][1]["properties"]["code"]["enum"];
                for code in [
                    "missing_token",
                    "invalid_token",
                    "token_expired",
                    "session_revoked",
                ] {
                    assert!(
                        codes.as_array().is_some_and(|c| c.contains(&code.into())),
                        "{name}: {code}"
                    );
                }
            }
        }
    }
    // Every code is listed somewhere but those no operation answers: a
    // wrong method, a crash, and a plan unknown to the operator's commands
    // (a sign-up that names any plan is refused before it is looked up).
    let unlisted: Vec<ProblemCode> = ProblemCode::ALL
        .into_iter()
        .filter(|code| !listed.contains(code))
        .collect();
    assert_eq!(
        unlisted,
        [
            ProblemCode::UnknownPlan,
            ProblemCode::MethodNotAllowed,
            ProblemCode::Internal
        ]
    );
}
