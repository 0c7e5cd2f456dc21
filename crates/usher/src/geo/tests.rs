//! Lookups in real MaxMind-format files: one network per record layout
//! (`tests/fixtures/geo/layouts.mmdb`, written by `scripts/make-geo-fixtures.py`).

use super::*;

const LAYOUTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/geo/layouts.mmdb"
);

fn config(database: Option<PathBuf>) -> LocationConfig {
    LocationConfig {
        database,
        trusted_proxies: Vec::new(),
        forwarded_header: ForwardedHeader::default(),
    }
}

fn geo() -> Geo {
    Geo::open(&config(Some(LAYOUTS.into()))).expect("the fixture opens")
}

fn at(ip: &str) -> Option<Location> {
    geo().locate(ip.parse().expect("an address"))
}

fn place(city: Option<&str>, region: Option<&str>, country: &str, code: &str) -> Location {
    Location {
        city: city.map(Into::into),
        region: region.map(Into::into),
        country: Some(country.into()),
        country_code: Some(code.into()),
        local: false,
    }
}

#[test]
fn geolite2_city_records() {
    let lisbon = at("81.193.4.5").expect("located");
    assert_eq!(
        lisbon,
        place(Some("Lisbon"), Some("Lisbon"), "Portugal", "PT")
    );
    assert_eq!(lisbon.label(), "Lisbon, Lisbon, Portugal");
    // The same address as a dual-stack listener reports it.
    assert_eq!(at("::ffff:81.193.4.5"), Some(lisbon));
}

#[test]
fn geolite2_country_records() {
    assert_eq!(at("2.16.0.1"), Some(place(None, None, "France", "FR")));
}

#[test]
fn db_ip_lite_records() {
    let madrid = place(Some("Madrid"), Some("Madrid"), "Spain", "ES");
    assert_eq!(at("5.0.200.1"), Some(madrid));
}

#[test]
fn ip_location_db_flat_records_get_country_names_from_their_codes() {
    let olivais = place(Some("Olivais"), Some("Lisbon"), "Portugal", "PT");
    assert_eq!(at("31.0.0.1"), Some(olivais));
    assert_eq!(
        at("41.0.0.1"),
        Some(place(None, None, "South Africa", "ZA"))
    );
    let mountain_view = place(
        Some("Mountain View"),
        Some("California"),
        "United States",
        "US",
    );
    assert_eq!(at("2001:4860::8888"), Some(mountain_view));
}

#[test]
fn registered_country_stands_in_for_a_missing_country() {
    assert_eq!(at("62.0.0.1"), Some(place(None, None, "Italy", "IT")));
}

#[test]
fn fields_of_unexpected_types_are_skipped() {
    assert_eq!(at("77.0.0.1"), Some(place(None, None, "Sweden", "SE")));
    assert_eq!(at("88.0.0.1"), Some(place(None, None, "Japan", "JP")));
}

#[test]
fn empty_and_missing_records_are_unknown() {
    assert_eq!(at("95.0.0.1"), None);
    assert_eq!(at("8.8.8.8"), None);
    assert_eq!(at("2a00:1450::1"), None);
}

#[test]
fn local_network_addresses_need_no_database() {
    let geo = Geo::default();
    for ip in [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.20",
        "169.254.1.1",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fd12:3456::1",
        "fe80::1",
        "::ffff:192.168.1.20",
    ] {
        let found = geo.locate(ip.parse().expect("an address"));
        assert_eq!(found, Some(Location::local()), "{ip}");
    }
    assert_eq!(Location::local().label(), "local network");
    for ip in ["81.193.4.5", "100.128.0.1", "2a02:8100::1"] {
        assert_eq!(geo.locate(ip.parse().expect("an address")), None, "{ip}");
    }
}

#[test]
fn labels_leave_unknown_parts_out() {
    let code_only = Location {
        country_code: Some("PT".into()),
        ..Location::default()
    };
    assert_eq!(code_only.label(), "PT");
    let json =
        serde_json::to_value(place(Some("Lisbon"), None, "Portugal", "PT")).expect("serializes");
    assert_eq!(
        json,
        serde_json::json!({
            "city": "Lisbon", "region": null, "country": "Portugal",
            "country_code": "PT", "local": false, "label": "Lisbon, Portugal"
        })
    );
}

#[test]
fn missing_and_corrupt_files_are_named() {
    let dir = tempfile::tempdir().expect("a directory");
    let missing = dir.path().join("nowhere.mmdb");
    let corrupt = dir.path().join("corrupt.mmdb");
    std::fs::write(&corrupt, b"this is not a MaxMind database").expect("written");
    // A real file cut short: its tree and records point past the end.
    let truncated = dir.path().join("truncated.mmdb");
    let bytes = std::fs::read(LAYOUTS).expect("the fixture");
    let mut cut = bytes[..bytes.len() / 3].to_vec();
    cut.extend_from_slice(&bytes[bytes.len() - 600..]);
    std::fs::write(&truncated, cut).expect("written");
    for path in [missing, corrupt, truncated] {
        let error = Geo::open(&config(Some(path.clone()))).expect_err("refused");
        let message = error.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
    }
}
