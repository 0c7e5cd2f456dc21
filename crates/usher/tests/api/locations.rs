//! Where devices are: locations from a real MaxMind-format file, and client
//! addresses from forwarding headers only when a trusted proxy sends them.
//!
//! The test client connects from 127.0.0.1, so a test that needs a trusted
//! proxy trusts 127.0.0.1. `tests/fixtures/geo/city.mmdb` (GeoLite2-City
//! layout, see `scripts/make-geo-fixtures.py`) places 81.193.0.0/16 in
//! Lisbon, 2a02:8100::/32 in Berlin and 185.15.56.0/22 in the Netherlands.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use usher::config::ForwardedHeader;
use usher::{App, Config};
use usher_client::{Device, Location, Method, SessionTokens};

use crate::server_process::{fails_to_start, ServerProcess};
use usher_testkit::*;

fn city_database() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/geo/city.mmdb")
}

/// A server with the fixture database that believes `proxies`.
async fn behind(proxies: &[&str], header: ForwardedHeader) -> TestApp {
    TestApp::spawn_with(|config| {
        config.locations.database = Some(city_database());
        config.locations.trusted_proxies = proxies.iter().map(|p| p.to_string()).collect();
        config.locations.forwarded_header = header;
    })
    .await
}

/// Signs a TV in with one extra request header, as a proxy would forward it.
async fn sign_in_with(
    app: &TestApp,
    account: &TestAccount,
    name: &str,
    header: (&str, &str),
) -> TestDevice {
    account.on(&app.client()).tv_forwarded(name, header).await
}

/// `device`'s row in `viewer`'s device list.
async fn row(viewer: &TestDevice, device: &TestDevice) -> Device {
    let list = viewer.client.devices().await.expect("the device list");
    list.into_iter()
        .find(|d| d.session_id == device.session_id())
        .expect("the device is listed")
}

fn place(city: Option<&str>, region: Option<&str>, country: &str, code: &str) -> Location {
    let parts = [city, region, Some(country)];
    Location {
        city: city.map(Into::into),
        region: region.map(Into::into),
        country: Some(country.into()),
        country_code: Some(code.into()),
        local: false,
        label: Some(parts.into_iter().flatten().collect::<Vec<_>>().join(", ")),
        extra: Default::default(),
    }
}

fn local_network() -> Location {
    Location {
        local: true,
        label: Some("local network".into()),
        ..Location::default()
    }
}

fn lisbon() -> Location {
    place(Some("Lisbon"), Some("Lisbon"), "Portugal", "PT")
}

#[tokio::test]
async fn a_device_behind_a_trusted_proxy_shows_where_it_is() {
    let app = behind(&["127.0.0.1"], ForwardedHeader::XForwardedFor).await;
    let ada = app.account("ada").await;
    let phone = ada.sign_in("Phone", usher_client::DeviceType::Phone).await;
    // The leftmost entry is the client's own claim; the proxy appended the rest.
    let tv = sign_in_with(&app, &ada, "TV", ("X-Forwarded-For", "6.6.6.6, 81.193.4.5")).await;
    let laptop = sign_in_with(&app, &ada, "Laptop", ("X-Forwarded-For", "185.15.57.3")).await;

    let tv_row = row(&phone, &tv).await;
    assert_eq!(tv_row.ip.as_deref(), Some("81.193.4.5"));
    assert_eq!(tv_row.location, Some(lisbon()));
    assert_eq!(
        tv_row.location.expect("located").to_string(),
        "Lisbon, Lisbon, Portugal"
    );
    let laptop_row = row(&phone, &laptop).await;
    assert_eq!(
        laptop_row.location,
        Some(place(None, None, "Netherlands", "NL"))
    );
    // The phone came straight from 127.0.0.1: no header, the peer is the client.
    let phone_row = row(&phone, &phone).await;
    assert_eq!(phone_row.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(phone_row.location, Some(local_network()));
}

#[tokio::test]
async fn every_authenticated_call_and_refresh_takes_the_forwarded_address() {
    let app = behind(&["127.0.0.1"], ForwardedHeader::XForwardedFor).await;
    let ada = app.account("ada").await;
    let phone = ada.sign_in("Phone", usher_client::DeviceType::Phone).await;
    let tv = sign_in_with(&app, &ada, "TV", ("X-Forwarded-For", "81.193.4.5")).await;

    // The TV travels: a minute later its next call comes through the proxy from Berlin.
    app.advance(Duration::from_secs(60));
    let answer = tv
        .client
        .raw(Method::GET, "/v1/sessions/current")
        .header("X-Forwarded-For", "2a02:8100::77")
        .send()
        .await
        .expect("answered");
    assert_eq!(answer.status, 200, "{}", answer.text());
    let berlin = place(Some("Berlin"), Some("Land Berlin"), "Germany", "DE");
    let tv_row = row(&phone, &tv).await;
    assert_eq!(tv_row.ip.as_deref(), Some("2a02:8100::77"));
    assert_eq!(tv_row.location, Some(berlin));

    // Back in Lisbon, it refreshes its tokens.
    app.advance(Duration::from_secs(60));
    let refreshed = tv
        .client
        .raw(Method::POST, "/v1/sessions/refresh")
        .no_auth()
        .header("X-Forwarded-For", "81.193.200.1")
        .json(&json!({"refresh_token": tv.tokens.refresh_token}))
        .expect("a JSON body")
        .send()
        .await
        .expect("answered");
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    let tv_row = row(&phone, &tv).await;
    assert_eq!(tv_row.ip.as_deref(), Some("81.193.200.1"));
    assert_eq!(tv_row.location, Some(lisbon()));
}

#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
    // A proxy is configured, but the test client (127.0.0.1) is not it.
    let app = behind(&["10.0.0.1"], ForwardedHeader::XForwardedFor).await;
    let ada = app.account("ada").await;
    let tv = sign_in_with(&app, &ada, "TV", ("X-Forwarded-For", "81.193.4.5")).await;
    let tv_row = row(&tv, &tv).await;
    assert_eq!(tv_row.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(tv_row.location, Some(local_network()));
}

#[tokio::test]
async fn rfc_7239_forwarded_nodes_are_read_when_configured() {
    let app = behind(&["127.0.0.1"], ForwardedHeader::Forwarded).await;
    let ada = app.account("ada").await;
    let phone = ada.sign_in("Phone", usher_client::DeviceType::Phone).await;
    let header = "for=6.6.6.6, for=\"[2a02:8100::1]:443\";proto=https;by=_lb";
    let tv = sign_in_with(&app, &ada, "TV", ("Forwarded", header)).await;
    let documentation = sign_in_with(
        &app,
        &ada,
        "Laptop",
        ("Forwarded", "for=\"[2001:db8::1]:443\""),
    )
    .await;
    // This server reads `Forwarded` only: a client's own X-Forwarded-For is not believed.
    let spoofer = sign_in_with(&app, &ada, "Spoofer", ("X-Forwarded-For", "81.193.4.5")).await;

    let tv_row = row(&phone, &tv).await;
    assert_eq!(tv_row.ip.as_deref(), Some("2a02:8100::1"));
    let berlin = place(Some("Berlin"), Some("Land Berlin"), "Germany", "DE");
    assert_eq!(tv_row.location, Some(berlin));
    // An address the database does not know has no location.
    let documentation_row = row(&phone, &documentation).await;
    assert_eq!(documentation_row.ip.as_deref(), Some("2001:db8::1"));
    assert_eq!(documentation_row.location, None);
    assert_eq!(row(&phone, &spoofer).await.ip.as_deref(), Some("127.0.0.1"));
}

#[tokio::test]
async fn invalid_addresses_in_forwarding_headers_are_ignored() {
    let app = behind(&["127.0.0.1"], ForwardedHeader::XForwardedFor).await;
    let ada = app.account("ada").await;
    for bad in [
        "not-an-ip",
        "81.193.4.5, 999.0.0.1",
        "unknown",
        "81.193.4.5:port",
    ] {
        let tv = sign_in_with(&app, &ada, "TV", ("X-Forwarded-For", bad)).await;
        let tv_row = row(&tv, &tv).await;
        assert_eq!(tv_row.ip.as_deref(), Some("127.0.0.1"), "{bad}");
        assert_eq!(tv_row.location, Some(local_network()), "{bad}");
    }
    let forwarded = behind(&["127.0.0.1"], ForwardedHeader::Forwarded).await;
    let bea = forwarded.account("bea").await;
    for bad in [
        "for=unknown",
        "for=_hidden",
        "for=\"[2a02:8100::1\"",
        "proto=https",
    ] {
        let tv = sign_in_with(&forwarded, &bea, "TV", ("Forwarded", bad)).await;
        assert_eq!(
            row(&tv, &tv).await.ip.as_deref(),
            Some("127.0.0.1"),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn without_a_database_only_the_local_network_is_known() {
    let app = TestApp::spawn_with(|config| {
        config.locations.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let ada = app.account("ada").await;
    let phone = ada.sign_in("Phone", usher_client::DeviceType::Phone).await;
    let tv = sign_in_with(&app, &ada, "TV", ("X-Forwarded-For", "81.193.4.5")).await;
    let tv_row = row(&phone, &tv).await;
    assert_eq!(tv_row.ip.as_deref(), Some("81.193.4.5"));
    assert_eq!(tv_row.location, None);
    assert_eq!(row(&phone, &phone).await.location, Some(local_network()));
}

#[tokio::test]
async fn the_devices_page_shows_where_a_browser_signed_in() {
    let app = behind(&["127.0.0.1"], ForwardedHeader::XForwardedFor).await;
    let ada = app.account("ada").await;
    let browser = ada
        .page_session_with(&[("X-Forwarded-For", "81.193.4.5")])
        .await;
    let page = browser
        .get("/account/devices")
        .await
        .text()
        .await
        .expect("a page");
    assert!(
        page.contains(r#"<span class="device-location">Lisbon, Lisbon, Portugal</span>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<span class="device-ip">81.193.4.5</span>"#),
        "{page}"
    );
}

#[tokio::test]
async fn a_missing_or_corrupt_database_stops_start_up_naming_it() {
    let dir = tempfile::tempdir().expect("a directory");
    let missing = dir.path().join("GeoLite2-City.mmdb");
    let corrupt = dir.path().join("corrupt.mmdb");
    std::fs::write(&corrupt, b"<html>Not Found</html>").expect("written");
    for path in [&missing, &corrupt] {
        let config = Config {
            listen: ([127, 0, 0, 1], 0).into(),
            data_dir: dir.path().to_owned(),
            database_url: Some(database_url(dir.path()).await),
            ..Config::default()
        };
        let mut config = config;
        config.locations.database = Some(path.clone());
        let error = match App::build(config).await {
            Ok(_) => panic!("{} was accepted", path.display()),
            Err(e) => format!("{e:#}"),
        };
        assert!(error.contains(&path.display().to_string()), "{error}");

        let data = tempfile::tempdir().expect("data directory");
        let path = path.to_str().expect("a UTF-8 path");
        let stderr = fails_to_start(data.path(), &[("USHER_LOCATIONS__DATABASE", path)]).await;
        assert!(stderr.contains(path), "{stderr}");
    }
}

#[tokio::test]
async fn a_trusted_proxy_that_is_not_an_address_stops_start_up() {
    let data = tempfile::tempdir().expect("data directory");
    let env = [(
        "USHER_LOCATIONS__TRUSTED_PROXIES",
        r#"["10.0.0.0/8", "lb.internal"]"#,
    )];
    let stderr = fails_to_start(data.path(), &env).await;
    assert!(
        stderr.contains("trusted_proxies") && stderr.contains("lb.internal"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_binary_takes_location_settings_from_the_environment() {
    let data = tempfile::tempdir().expect("data directory");
    let database = city_database();
    let env = [
        (
            "USHER_LOCATIONS__DATABASE",
            database.to_str().expect("a UTF-8 path"),
        ),
        ("USHER_LOCATIONS__TRUSTED_PROXIES", r#"["127.0.0.0/8"]"#),
        ("USHER_LOCATIONS__FORWARDED_HEADER", "forwarded"),
    ];
    let server = ServerProcess::start_with(data.path(), &env, &[]).await;
    let ada = TestAccount::create(&server.client(), "ada").await;
    let body = json!({
        "email": ada.email,
        "password": ada.password,
        "device": {"name": "TV", "type": "tv"},
    });
    let answer = server
        .client()
        .raw(Method::POST, "/v1/sessions")
        .header("Forwarded", "for=81.193.4.5;proto=https")
        .json(&body)
        .expect("a JSON body")
        .send()
        .await
        .expect("answered");
    assert_eq!(answer.status, 201, "{}", answer.text());
    let tokens: SessionTokens = serde_json::from_slice(&answer.body).expect("tokens");
    let phone = ada.sign_in("Phone", usher_client::DeviceType::Phone).await;
    let list = phone.client.devices().await.expect("the device list");
    let tv = list
        .iter()
        .find(|d| d.session_id == tokens.session_id)
        .expect("the TV is listed");
    assert_eq!(tv.location, Some(lisbon()), "{}", server.log());
}
