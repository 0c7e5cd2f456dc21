//! Sign-in alerts: raised once for a new kind of device (or country), shown
//! until dismissed, one-click sign-out of the device, and webhooks delivered
//! at least once with a valid signature, through failures and restarts.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Mutex};
use usher::alerts::webhook::sign;
use usher::config::Secret;
use usher::Config;
use usher_client::{ActivityQuery, DeviceType, SignOutReason};

use usher_testkit::*;

const SECRET: &str = "a webhook secret of some length";

/// One request the receiver got.
#[derive(Debug)]
struct Received {
    headers: HeaderMap,
    body: String,
}

/// A local HTTP endpoint standing in for the platform's alert webhook. It
/// answers the first `failures` requests with 503, then 204.
struct Receiver {
    address: SocketAddr,
    requests: mpsc::UnboundedReceiver<Received>,
    _server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start(failures: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        Self::on(listener, failures).await
    }

    async fn on(listener: TcpListener, failures: usize) -> Self {
        let address = listener.local_addr().expect("bound");
        let (tx, requests) = mpsc::unbounded_channel();
        let failures = Arc::new(Mutex::new(failures));
        let app = axum::Router::new().route(
            "/hooks/usher",
            post(move |headers: HeaderMap, body: String| {
                let tx = tx.clone();
                let failures = Arc::clone(&failures);
                async move {
                    let _ = tx.send(Received { headers, body });
                    let mut left = failures.lock().await;
                    if *left > 0 {
                        *left -= 1;
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::NO_CONTENT
                    }
                }
            }),
        );
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            address,
            requests,
            _server: server,
        }
    }

    fn url(address: SocketAddr) -> String {
        format!("http://{address}/hooks/usher")
    }

    async fn next(&mut self) -> Received {
        tokio::time::timeout(PATIENCE, self.requests.recv())
            .await
            .expect("the webhook is called in time")
            .expect("the receiver is running")
    }

    /// The next request, moving the server's clock on each time the server
    /// waits on it, so retries scheduled by the (manual) clock fall due. A
    /// request already received wins over another move; [`PATIENCE`] bounds
    /// the whole, and no time is asserted.
    async fn next_retry(&mut self, app: &TestApp) -> Received {
        let waiting = async {
            loop {
                tokio::select! {
                    biased;
                    received = self.requests.recv() => {
                        return received.expect("the receiver is running");
                    }
                    () = app.advance_when_waiting() => {}
                }
            }
        };
        tokio::time::timeout(PATIENCE, waiting)
            .await
            .expect("the webhook is retried in time")
    }
}

fn webhook_to(address: SocketAddr) -> impl FnOnce(&mut Config) {
    move |c: &mut Config| {
        c.alerts.webhook_url = Some(Receiver::url(address));
        c.alerts.webhook_secret = Some(Secret(SECRET.into()));
        c.alerts.webhook_retry_base_ms = 20;
    }
}

/// Checks the signature the way a receiver would, and returns the alert.
fn verified(request: &Received) -> serde_json::Value {
    let header = request
        .headers
        .get("usher-signature")
        .and_then(|v| v.to_str().ok())
        .expect("the request is signed");
    let t: i64 = header
        .split(',')
        .find_map(|part| part.strip_prefix("t="))
        .and_then(|t| t.parse().ok())
        .expect("the signature names its time");
    assert_eq!(
        header,
        sign(SECRET.as_bytes(), t, &request.body),
        "valid signature"
    );
    assert_eq!(
        request
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let alert: serde_json::Value = serde_json::from_str(&request.body).expect("a JSON body");
    assert_eq!(
        request
            .headers
            .get("usher-alert-id")
            .and_then(|v| v.to_str().ok()),
        alert["alert_id"].as_str(),
        "the id header matches the body"
    );
    alert
}

#[tokio::test]
async fn a_new_kind_of_device_raises_one_alert_until_dismissed() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let tv = ada.sign_in("TV", DeviceType::Tv).await;
    assert!(
        tv.client.alerts().await.expect("alerts").is_empty(),
        "the first device raises nothing"
    );

    let phone = ada.sign_in("Phone", DeviceType::Phone).await;
    let _second_phone = ada.sign_in("Other phone", DeviceType::Phone).await;
    let _second_tv = ada.sign_in("Den TV", DeviceType::Tv).await;

    let alerts = tv.client.alerts().await.expect("alerts");
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let alert = &alerts[0];
    assert_eq!(alert.reasons, ["new_device_type"]);
    assert_eq!(alert.device["name"], "Phone");
    assert_eq!(alert.device["type"], "phone");
    assert_eq!(alert.device["session_id"], phone.session_id());
    assert!(alert.device_signed_in);

    let history = tv
        .client
        .activity(&ActivityQuery {
            kinds: &["alert"],
            ..Default::default()
        })
        .await
        .expect("history");
    assert_eq!(history.events.len(), 1);
    assert_eq!(history.events[0].event_id, alert.alert_id);

    tv.client
        .dismiss_alert(&alert.alert_id)
        .await
        .expect("dismissed");
    assert!(tv.client.alerts().await.expect("alerts").is_empty());
    tv.client
        .dismiss_alert(&alert.alert_id)
        .await
        .expect_problem(404, "not_found");
}

#[tokio::test]
async fn one_click_signs_the_alerted_device_out() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let tv = ada.sign_in("TV", DeviceType::Tv).await;
    let intruder = ada.sign_in("Unknown tablet", DeviceType::Tablet).await;
    let mut intruder_live = intruder.live().await;
    let alert = tv.client.alerts().await.expect("alerts").remove(0);

    let signed_out = tv
        .client
        .sign_out_alerted_device(&alert.alert_id)
        .await
        .expect("signed out");

    assert!(signed_out);
    intruder_live.expect_signed_out(SignOutReason::Remote).await;
    intruder.assert_signed_out(SignOutReason::Remote).await;
    assert!(tv.client.alerts().await.expect("alerts").is_empty());
}

#[tokio::test]
async fn another_accounts_alert_is_not_found() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let _tv = ada.sign_in("TV", DeviceType::Tv).await;
    let ada_phone = ada.sign_in("Phone", DeviceType::Phone).await;
    let alert = ada_phone.client.alerts().await.expect("alerts").remove(0);
    let bob = app.signed_in("bob").await;

    bob.client
        .dismiss_alert(&alert.alert_id)
        .await
        .expect_problem(404, "not_found");
    bob.client
        .sign_out_alerted_device(&alert.alert_id)
        .await
        .expect_problem(404, "not_found");
    bob.client
        .dismiss_alert("evt_not-an-id")
        .await
        .expect_problem(404, "not_found");
    assert_eq!(ada_phone.client.alerts().await.expect("alerts").len(), 1);
    ada_phone.assert_signed_in().await;
}

#[tokio::test]
async fn the_webhook_gets_a_signed_alert_and_is_retried_until_it_answers() {
    let mut receiver = Receiver::start(2).await;
    let app = TestApp::spawn_with(webhook_to(receiver.address)).await;
    let ada = app.account("ada").await;
    let _tv = ada.sign_in("TV", DeviceType::Tv).await;
    let phone = ada.sign_in("Phone", DeviceType::Phone).await;

    let first = receiver.next().await;
    let alert = verified(&first);
    assert_eq!(alert["type"], "sign_in_alert");
    assert_eq!(alert["account_id"], ada.id.as_str());
    assert_eq!(alert["reasons"], serde_json::json!(["new_device_type"]));
    assert_eq!(alert["device"]["session_id"], phone.session_id());
    assert_eq!(alert["device"]["name"], "Phone");
    assert_eq!(alert["ip"], "127.0.0.1");

    // Two 503s, then delivered: the same alert each time.
    for _ in 0..2 {
        let retry = receiver.next_retry(&app).await;
        assert_eq!(verified(&retry), alert);
    }
    // Delivered: the next sign-in's alert is the next request.
    let _console = ada.sign_in("Console", DeviceType::Console).await;
    let next = verified(&receiver.next().await);
    assert_eq!(next["device"]["name"], "Console");
    assert_ne!(next["alert_id"], alert["alert_id"]);
}

#[tokio::test]
async fn an_alert_raised_while_the_webhook_is_down_is_delivered_after_a_restart() {
    // Reserve a port, and keep nothing listening on it for now.
    let reserved = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let address = reserved.local_addr().expect("bound");
    drop(reserved);
    let app = TestApp::spawn_with(webhook_to(address)).await;
    let ada = app.account("ada").await;
    let _tv = ada.sign_in("TV", DeviceType::Tv).await;
    let phone = ada.sign_in("Phone", DeviceType::Phone).await;

    // The sign-in is acknowledged, so its alert is in the outbox; the first
    // attempt finds nobody listening. Restart, then bring the receiver up.
    let app = app.restart_with(|_| {}).await;
    let listener = TcpListener::bind(address).await.expect("the reserved port");
    let mut receiver = Receiver::on(listener, 0).await;

    let alert = verified(&receiver.next_retry(&app).await);
    assert_eq!(alert["device"]["session_id"], phone.session_id());
    assert_eq!(alert["reasons"], serde_json::json!(["new_device_type"]));
}

/// A sign-in through a trusted proxy (the test client's 127.0.0.1) from
/// `address`, located by the committed GeoLite2-City-layout fixture.
async fn tv_from(app: &TestApp, account: &TestAccount, name: &str, address: &str) -> TestDevice {
    account
        .on(&app.client())
        .tv_forwarded(name, ("x-forwarded-for", address))
        .await
}

#[tokio::test]
async fn a_sign_in_from_a_new_country_raises_an_alert_and_a_webhook_once() {
    let mut receiver = Receiver::start(0).await;
    let app = TestApp::spawn_with(|c| {
        c.locations.database = Some(
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/geo/city.mmdb"),
        );
        c.locations.trusted_proxies = vec!["127.0.0.1".into()];
        webhook_to(receiver.address)(c);
    })
    .await;
    let ada = app.account("ada").await;
    let home = tv_from(&app, &ada, "Living Room TV", "81.193.12.34").await;
    let _same_country = tv_from(&app, &ada, "Bedroom TV", "81.193.200.1").await;
    assert!(
        home.client.alerts().await.expect("alerts").is_empty(),
        "Portugal is home"
    );

    let abroad = tv_from(&app, &ada, "Hotel TV", "2a02:8100::1").await;
    let _again = tv_from(&app, &ada, "Other hotel TV", "2a02:8100::2").await;

    let alerts = home.client.alerts().await.expect("alerts");
    assert_eq!(alerts.len(), 1, "once per new country: {alerts:#?}");
    assert_eq!(alerts[0].reasons, ["new_country"]);
    assert_eq!(alerts[0].device["session_id"], abroad.session_id());
    let location = alerts[0].location.as_ref().expect("located");
    assert_eq!(location["country_code"], "DE");
    assert_eq!(location["city"], "Berlin");

    let delivered = verified(&receiver.next().await);
    assert_eq!(delivered["alert_id"], alerts[0].alert_id.as_str());
    assert_eq!(delivered["reasons"], serde_json::json!(["new_country"]));
    assert_eq!(delivered["ip"], "2a02:8100::1");
    assert_eq!(delivered["location"]["country"], "Germany");

    let history = home
        .client
        .activity(&ActivityQuery {
            kinds: &["sign_in"],
            ..Default::default()
        })
        .await
        .expect("history");
    let hotel = history
        .events
        .iter()
        .find(|e| e.device.as_ref().is_some_and(|d| d.name == "Hotel TV"))
        .expect("the sign-in is recorded");
    assert_eq!(hotel.ip.as_deref(), Some("2a02:8100::1"));
    assert_eq!(hotel.location.as_ref().unwrap()["label"], location["label"]);
}

#[tokio::test]
async fn a_burst_of_wrong_passwords_on_a_signed_in_device_raises_one_alert_and_webhook() {
    let mut receiver = Receiver::start(0).await;
    let app = TestApp::spawn_with(webhook_to(receiver.address)).await;
    let ada = app.account("ada").await;
    let tv = ada.sign_in("TV", DeviceType::Tv).await;
    let stolen_tablet = ada.sign_in("Tablet", DeviceType::Tablet).await;
    let signed_in_alert = verified(&receiver.next().await);
    assert_eq!(
        signed_in_alert["reasons"],
        serde_json::json!(["new_device_type"])
    );

    for _ in 0..8 {
        stolen_tablet
            .client
            .change_password("a guess", "tangerine submarine orchestra", None)
            .await
            .expect_problem(403, "wrong_password");
    }

    let alert = verified(&receiver.next().await);
    assert_eq!(alert["type"], "wrong_password_alert");
    assert_eq!(alert["reasons"], serde_json::json!(["wrong_passwords"]));
    assert_eq!(alert["device"]["session_id"], stolen_tablet.session_id());
    assert_eq!(alert["device"]["name"], "Tablet");
    let open = tv.client.alerts().await.expect("alerts");
    let wrong_passwords: Vec<_> = open
        .iter()
        .filter(|a| a.reasons == ["wrong_passwords"])
        .collect();
    assert_eq!(wrong_passwords.len(), 1, "one per burst: {open:#?}");
    assert_eq!(wrong_passwords[0].alert_id, alert["alert_id"]);

    // One click signs the tablet out, as for a sign-in alert.
    assert!(tv
        .client
        .sign_out_alerted_device(&wrong_passwords[0].alert_id)
        .await
        .expect("signed out"));
    stolen_tablet.assert_signed_out(SignOutReason::Remote).await;
}
