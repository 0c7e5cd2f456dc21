//! PostgreSQL restarted under a running cluster: while it is down, requests
//! that need it get `503` with `Retry-After` and session checks keep working
//! from memory; when it is back, nodes recover by themselves and nothing that
//! was acknowledged is lost.
//!
//! A binary of its own: it stops the shared PostgreSQL server, so no other
//! test may run beside it (cargo runs test binaries one after another).

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use std::time::Duration;
use usher_client::{DeviceType, SignOutReason};

use usher::clock::ManualClock;
use usher_testkit::cluster::{await_database, readiness, system_nats_url, Cluster};

/// Runs the test command's PostgreSQL control command with `action`.
async fn postgres(action: &str) {
    let ctl = std::env::var("USHER_TEST_PG_CTL").unwrap_or_else(|_| {
        panic!("USHER_TEST_PG_CTL is not set: run the tests with ./scripts/test.sh")
    });
    let mut words = ctl.split_whitespace();
    let program = words.next().expect("a command");
    let status = tokio::process::Command::new(program)
        .args(words)
        .arg(action)
        .status()
        .await
        .unwrap_or_else(|e| panic!("cannot run {ctl} {action}: {e}"));
    assert!(status.success(), "{ctl} {action} failed: {status}");
}

#[tokio::test]
async fn nodes_ride_out_a_postgresql_restart_without_losing_acknowledged_writes() {
    let clock = ManualClock::default();
    let mut cluster = Cluster::start_on_clock(2, &system_nats_url(), &clock).await;
    let gus = cluster.account("gus", None).await;
    let (tv, phone) = cluster.tv_on_a_phone_on_b(&gus).await;
    phone.sign_out(&tv).await;
    // Both nodes have seen the phone (a node that never has needs the
    // database to check it).
    phone.on(cluster.node(0)).assert_signed_in().await;
    for node in &cluster.nodes {
        node.await_settled(2, &clock).await;
    }

    postgres("stop").await;
    let outcome = AssertUnwindSafe(async {
        // Session checks are answered from memory.
        phone.assert_signed_in().await;
        tv.assert_refused_by(cluster.node(0), SignOutReason::Remote)
            .await;
        // What needs the database says so, and when to come back.
        let err = phone.client.devices().await.expect_err("no database");
        assert_eq!(err.status(), Some(503), "{err}");
        assert_eq!(err.code(), Some("unavailable"), "{err}");
        assert!(
            err.problem().and_then(|p| p.retry_after).is_some(),
            "Retry-After: {err}"
        );
        // Still ready: a fresh node checks sessions, so the load balancer
        // keeps it; the body says the database is down.
        let (status, body) = readiness(cluster.node(0)).await;
        assert_eq!(
            (status, &body["store"], &body["fresh"]),
            (200, &false.into(), &true.into()),
            "{body}"
        );
        // However long the outage: no node can sign anyone out, and every
        // node hears every other on the bus, so none refuses a valid session.
        clock.advance(Duration::from_secs(30));
        for node in &cluster.nodes {
            node.await_proof_since(cluster.now()).await;
        }
        phone.assert_signed_in().await;
        phone.on(cluster.node(0)).assert_signed_in().await;
    })
    .catch_unwind()
    .await;
    // Start PostgreSQL again whatever happened, then report.
    postgres("start").await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }

    await_database(&cluster, "the node reaching its database again").await;
    let listed = phone
        .client
        .devices()
        .await
        .expect("the phone's device list");
    assert_eq!(listed.len(), 1, "only the phone is signed in: {listed:?}");
    // A node that never saw the TV reads its sign-out from the database.
    cluster.add_node().await;
    tv.assert_refused_by(cluster.node(2), SignOutReason::Remote)
        .await;
    phone.on(cluster.node(2)).assert_signed_in().await;
    gus.sign_in("Laptop", DeviceType::Tv).await;
}
