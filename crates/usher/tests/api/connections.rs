//! Slow and abusive clients (issue 12): the server disconnects a client
//! that never finishes its headers, closes idle kept-alive connections,
//! answers a request that takes too long with `408 request_timeout`, and
//! caps connections per client address and in all, refusing with a clear
//! answer, while everyone else is served.

use usher::Config;
use usher_client::DeviceType;

use usher_testkit::*;

use crate::server_process::ServerProcess;

/// Timeouts short enough that awaiting one is quick, long enough that a
/// loaded machine never trips them on an ordinary request.
const SHORT_MS: u64 = 300;

async fn healthy(app: &TestApp) {
    let answer = RawConnection::get(app.address, "/healthz", &[]).await;
    assert_eq!(answer.status, 200, "{answer:?}");
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected_while_others_are_served() {
    let app = TestApp::spawn_with(|config: &mut Config| {
        config.http.header_read_timeout_ms = SHORT_MS;
        config.http.keep_alive_idle_ms = SHORT_MS;
    })
    .await;
    let mut slow = RawConnection::open(app.address).await;
    slow.send("GET /healthz HTTP/1.1\r\nHost: usher\r\nX-Still-Typing: ")
        .await;
    healthy(&app).await;
    slow.expect_closed().await;
    healthy(&app).await;
}

#[tokio::test]
async fn a_kept_alive_connection_that_stays_idle_is_closed() {
    let app = TestApp::spawn_with(|config| {
        // The header timer alone would wait far longer than the test does.
        config.http.header_read_timeout_ms = 600_000;
        config.http.keep_alive_idle_ms = SHORT_MS;
    })
    .await;
    let mut connection = RawConnection::open(app.address).await;
    connection
        .send("GET /healthz HTTP/1.1\r\nHost: usher\r\n\r\n")
        .await;
    let answer = connection.answer().await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.header("connection"), None, "kept alive: {answer:?}");
    connection.expect_closed().await;
}

#[tokio::test]
async fn a_client_halfway_through_its_headers_does_not_hold_up_shutdown() {
    let app = TestApp::spawn_with(|config| {
        // Far longer than the test waits: only shutdown can close it.
        config.http.header_read_timeout_ms = 600_000;
    })
    .await;
    let mut slow = RawConnection::open(app.address).await;
    slow.send("GET /healthz HTTP/1.1\r\nHost: us").await;
    healthy(&app).await;
    app.stop().await;
    slow.expect_closed().await;
}

#[tokio::test]
async fn a_request_too_slow_to_arrive_gets_request_timeout_while_live_channels_and_event_streams_stay_open(
) {
    let app = TestApp::spawn_with(|config| config.http.request_timeout_ms = 2_000).await;
    let ada = app.account("ada").await;
    let tv = ada.sign_in("TV", DeviceType::Tv).await;
    let mut live = tv.watch_devices().await;
    let cookie = ada.page_session().await.cookie;
    let mut events = RawConnection::open(app.address).await;
    events
        .send_get("/account/events", &[("Cookie", &cookie)])
        .await;
    let head = events.answer_head().await;
    assert_eq!(head.status, 200, "{head:?}");
    assert_eq!(head.header("content-type"), Some("text/event-stream"));

    // The body is promised and never finished.
    let mut slow = RawConnection::open(app.address).await;
    slow.send(
        "POST /v1/accounts HTTP/1.1\r\nHost: usher\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{\"email\":",
    )
    .await;
    let answer = slow.answer().await;
    let problem = answer.expect_problem(408, "request_timeout");
    assert!(problem["detail"].is_string(), "{problem}");
    assert_eq!(answer.header("connection"), Some("close"), "{answer:?}");
    slow.expect_closed().await;

    // Both were open before the slow request began, and still deliver.
    ada.sign_in("Phone", DeviceType::Phone).await;
    assert_eq!(
        live.next().await,
        usher_client::LiveEvent::DevicesChanged,
        "the live channel is still open"
    );
    events.expect_text("event: devices").await;
}

#[tokio::test]
async fn the_per_address_cap_refuses_the_next_connection_clearly_until_one_closes() {
    let app = TestApp::spawn_with(|config| config.http.max_connections_per_address = 2).await;
    let first = RawConnection::open(app.address).await;
    let _second = RawConnection::open(app.address).await;
    // Accepted in the order they connected: this one is over the cap.
    let refused = RawConnection::get(app.address, "/healthz", &[]).await;
    let problem = refused.expect_problem(429, "too_many_connections");
    assert_eq!(refused.header("retry-after"), Some("1"), "{refused:?}");
    assert_eq!(problem["retry_after"], 1);
    assert_eq!(refused.header("connection"), Some("close"), "{refused:?}");

    first.close().await;
    healthy(&app).await;
}

#[tokio::test]
async fn a_trusted_proxy_is_not_capped_by_its_own_connections_but_counts_the_clients_it_forwards() {
    let app = TestApp::spawn_with(|config| {
        config.locations.trusted_proxies = vec!["127.0.0.1".into()];
        config.http.max_connections_per_address = 2;
    })
    .await;
    let tv = app.signed_in("ada").await;
    // The proxy's own connections are not counted.
    let _idle: Vec<RawConnection> =
        futures_util::future::join_all((0..3).map(|_| RawConnection::open(app.address))).await;
    healthy(&app).await;

    // Each live channel holds its client's slot while it is open.
    let client = [("X-Forwarded-For", "81.193.4.5")];
    let mut first = RawConnection::open(app.address).await;
    let mut second = RawConnection::open(app.address).await;
    for live in [&mut first, &mut second] {
        let opened = live.open_live(&tv.tokens.access_token, &client).await;
        assert_eq!(opened.status, 101, "{opened:?}");
    }
    let refused = RawConnection::get(app.address, "/healthz", &client).await;
    refused.expect_problem(429, "too_many_connections");
    let other = RawConnection::get(
        app.address,
        "/healthz",
        &[("X-Forwarded-For", "81.193.4.6")],
    )
    .await;
    assert_eq!(other.status, 200, "another client is served: {other:?}");

    first.close().await;
    let answer = RawConnection::get(app.address, "/healthz", &client).await;
    assert_eq!(
        answer.status, 200,
        "a closed channel frees its slot: {answer:?}"
    );
}

#[tokio::test]
async fn the_cap_on_all_connections_refuses_politely_until_one_closes() {
    let app = TestApp::spawn_with(|config| config.http.max_connections = Some(2)).await;
    let first = RawConnection::open(app.address).await;
    let _second = RawConnection::open(app.address).await;
    let refused = RawConnection::get(app.address, "/healthz", &[]).await;
    refused.expect_problem(503, "overloaded");
    assert_eq!(refused.header("retry-after"), Some("1"), "{refused:?}");

    first.close().await;
    healthy(&app).await;
}

#[tokio::test]
async fn usher_serve_raises_its_open_file_limit_to_the_hard_limit_and_says_so() {
    let (_, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).expect("the limits");
    assert!(
        hard > 512,
        "this test needs a hard open-file limit above 512"
    );
    let data = tempfile::tempdir().expect("data directory");
    let server = ServerProcess::start_with_open_file_limit(data.path(), 512).await;
    let log = server.log();
    let raised = log
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| line["fields"]["message"] == "raised the open-file limit")
        .unwrap_or_else(|| panic!("no word of the open-file limit: {log}"));
    assert_eq!(raised["fields"]["from"], 512, "{raised}");
    assert_eq!(raised["fields"]["to"], hard, "{raised}");
}
