//! Prometheus metrics on their own listener (`metrics_listen`): what an
//! operator scraping a real `usher serve` sees move when a device is signed
//! out remotely. The process's recorder is process-wide, so these tests run
//! the binary rather than an in-process server.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use usher_client::{DeviceType, SignOutReason};
use usher_testkit::*;

use crate::server_process::ServerProcess;

/// One scrape: each series (name and labels, as rendered) and its value.
type Scrape = BTreeMap<String, f64>;

async fn start_with_metrics(data: &std::path::Path) -> (ServerProcess, String) {
    let server =
        ServerProcess::start_with(data, &[("USHER_METRICS_LISTEN", "127.0.0.1:0")], &[]).await;
    let url = server
        .metrics_url()
        .expect("the server says where its metrics are")
        .to_owned();
    (server, url)
}

async fn scrape(url: &str) -> (Scrape, String) {
    let answer = reqwest::get(url)
        .await
        .expect("the metrics listener answers");
    assert_eq!(answer.status(), 200);
    let content_type = answer.headers()["content-type"]
        .to_str()
        .expect("ASCII")
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = answer.text().await.expect("a text body");
    let series = text
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("`series value`");
            let value = value.parse().unwrap_or_else(|_| panic!("a number: {line}"));
            (series.to_owned(), value)
        })
        .collect();
    (series, text)
}

/// How much `series` grew from `before` to `after` (absent counts as 0).
fn moved(before: &Scrape, after: &Scrape, series: &str) -> f64 {
    let value = |s: &Scrape| s.get(series).copied().unwrap_or(0.0);
    value(after) - value(before)
}

/// The series whose value changed, as `series before → after` lines.
fn changes(before: &Scrape, after: &Scrape) -> Vec<String> {
    after
        .iter()
        .filter(|(series, value)| before.get(*series) != Some(*value))
        .map(|(series, value)| {
            let was = before
                .get(series)
                .map_or("absent".to_owned(), f64::to_string);
            format!("{series} {was} → {value}")
        })
        .collect()
}

/// The TCP ports process `pid` listens on: those of its sockets (the
/// `socket:[inode]` links in `/proc/<pid>/fd`) that the kernel's TCP tables
/// (`/proc/<pid>/net/tcp` and `tcp6`) show in state LISTEN.
fn listening_ports(pid: u32) -> BTreeSet<u16> {
    let sockets: HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("the server's file descriptors")
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_str()?;
            Some(
                target
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_owned(),
            )
        })
        .collect();
    let mut ports = BTreeSet::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}"))
            .expect("the kernel's TCP table");
        for line in text.lines().skip(1) {
            // sl local_address rem_address st … uid timeout inode
            let fields: Vec<&str> = line.split_whitespace().collect();
            const LISTEN: &str = "0A";
            if fields.len() > 9 && fields[3] == LISTEN && sockets.contains(fields[9]) {
                let (_, port) = fields[1].rsplit_once(':').expect("address:port");
                ports.insert(u16::from_str_radix(port, 16).expect("a hexadecimal port"));
            }
        }
    }
    ports
}

/// The port of `url`.
fn port(url: &str) -> u16 {
    reqwest::Url::parse(url)
        .expect("a URL")
        .port()
        .expect("an explicit port")
}

#[tokio::test]
async fn a_remote_sign_out_moves_the_series_an_operator_watches() {
    let data = tempfile::tempdir().expect("data directory");
    let (server, metrics) = start_with_metrics(data.path()).await;
    let ada = TestAccount::create(&server.client(), "ada").await;
    let tv = ada.sign_in("Living Room TV", DeviceType::Tv).await;
    let phone = ada.sign_in("Phone", DeviceType::Phone).await;
    let mut tv_live = tv.live().await;

    let (before, _) = scrape(&metrics).await;
    assert_eq!(before["usher_live_connections"], 1.0, "the TV is connected");
    assert_eq!(before["usher_node_stale"], 0.0);
    phone
        .client
        .sign_out_device(tv.session_id())
        .await
        .expect("the phone signs the TV out");
    tv_live.expect_signed_out(SignOutReason::Remote).await;
    tv.client
        .current_session()
        .await
        .expect_revoked(&SignOutReason::Remote);
    let (after, _) = scrape(&metrics).await;

    println!("series that moved across the remote sign-out:");
    for line in changes(&before, &after) {
        println!("  {line}");
    }
    let grew = |series: &str| moved(&before, &after, series);
    assert_eq!(
        grew(r#"usher_sessions_revoked_total{reason="remote"}"#),
        1.0
    );
    assert_eq!(
        grew(r#"usher_live_events_sent_total{kind="signed_out"}"#),
        1.0
    );
    assert_eq!(grew(r#"usher_revocations_applied_total{path="bus"}"#), 1.0);
    assert_eq!(
        grew(r#"usher_revocation_propagation_seconds_count{path="bus"}"#),
        1.0,
        "the TV's propagation is in the histogram"
    );
    assert_eq!(
        grew(r#"usher_revocation_propagation_seconds_bucket{path="bus",le="+Inf"}"#),
        1.0
    );
    assert_eq!(
        grew(r#"usher_session_checks_total{outcome="ok"}"#),
        1.0,
        "the phone's sign-out call"
    );
    assert_eq!(
        grew(r#"usher_session_checks_total{outcome="revoked"}"#),
        1.0,
        "the TV's refused call"
    );
    for unmoved in [
        r#"usher_revocations_applied_total{path="log"}"#,
        r#"usher_session_checks_total{outcome="stale_node"}"#,
        r#"usher_live_events_dropped_total{kind="signed_out"}"#,
        r#"usher_database_errors_total{kind="unavailable"}"#,
    ] {
        assert_eq!(grew(unmoved), 0.0, "{unmoved}");
    }
}

#[tokio::test]
async fn metrics_describe_every_series_and_count_sign_ins_by_outcome() {
    let data = tempfile::tempdir().expect("data directory");
    let (server, metrics) = start_with_metrics(data.path()).await;
    let ada = TestAccount::create(&server.client(), "ada").await;
    ada.sign_in("Phone", DeviceType::Phone).await;
    ada.assert_password_refused("not the password at all").await;

    let (series, text) = scrape(&metrics).await;
    assert_eq!(
        series[r#"usher_sign_in_attempts_total{outcome="success"}"#],
        1.0
    );
    assert!(series[r#"usher_sign_in_attempts_total{outcome="failure"}"#] >= 1.0);
    let build = format!(
        r#"usher_build_info{{version="{}"}}"#,
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(series[&build], 1.0);
    // Every series says what it is.
    let names: std::collections::BTreeSet<&str> = series
        .keys()
        .map(|s| s.split(['{', ' ']).next().expect("a name"))
        .map(|n| {
            ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| n.strip_suffix(suffix))
                .unwrap_or(n)
        })
        .collect();
    for name in names {
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "{name} has no help"
        );
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "{name} has no type"
        );
    }
    // Labels are closed vocabularies: no email, id or token shows.
    assert!(!text.contains(&ada.email));
    assert!(!text.contains("ses_"));
}

#[tokio::test]
async fn the_metrics_listener_serves_only_metrics_and_the_public_one_none() {
    let data = tempfile::tempdir().expect("data directory");
    let (server, metrics) = start_with_metrics(data.path()).await;
    let http = reqwest::Client::new();

    let elsewhere = metrics.replace("/metrics", "/v1/sessions/current");
    let answer = http.get(&elsewhere).send().await.expect("an answer");
    assert_eq!(answer.status(), 404);
    assert_eq!(answer.headers()["content-type"], "application/problem+json");
    let answer = http.post(&metrics).send().await.expect("an answer");
    assert_eq!(answer.status(), 405);

    let public = format!("{}/metrics", server.base_url());
    let answer = http.get(&public).send().await.expect("an answer");
    assert_eq!(answer.status(), 404, "never on the public listener");

    assert_eq!(
        listening_ports(server.pid()),
        BTreeSet::from([port(server.base_url()), port(&metrics)]),
        "the public listener and the metrics listener"
    );
}

#[tokio::test]
async fn metrics_are_off_by_default() {
    let data = tempfile::tempdir().expect("data directory");
    let server = ServerProcess::start(data.path()).await;
    assert_eq!(server.metrics_url(), None, "no metrics listener named");
    assert_eq!(
        listening_ports(server.pid()),
        BTreeSet::from([port(server.base_url())]),
        "no port but the public one"
    );
}
