//! Failing closed: a node that cannot show it has seen every revocation up
//! to `sessions.max_staleness_secs` ago refuses session checks rather than
//! answer from a memory that may be behind, and recovers by itself; a node
//! that still reaches the database, or a bus on which every node is heard,
//! keeps serving.

use std::time::Duration;

use usher::clock::ManualClock;
use usher_client::{Client, SignOutReason, CLOSE_TRY_AGAIN_LATER};
use usher_testkit::cluster::{is_ready, system_nats_url, Cluster, Link};
use usher_testkit::TestDevice;

/// The default bound, and a moment past it.
pub(crate) const MAX_STALENESS: Duration = Duration::from_secs(5);
pub(crate) const PAST_THE_BOUND: Duration = Duration::from_millis(5_001);

/// Asserts that `node` refuses `device` with `stale_node` and `Retry-After`.
async fn assert_stale(device: &TestDevice, node: &Client) {
    let err = device
        .on(node)
        .client
        .current_session()
        .await
        .expect_err("a stale node checks no session");
    assert_eq!(err.status(), Some(503), "{err}");
    assert_eq!(err.code(), Some("stale_node"), "{err}");
    assert!(
        err.problem().and_then(|p| p.retry_after).is_some(),
        "Retry-After: {err}"
    );
}

/// Node A on the database and NATS directly; node C through a link the
/// test may cut.
pub(crate) async fn node_a_and_node_c_behind_a_link(clock: &ManualClock) -> (Cluster, Link) {
    let mut cluster = Cluster::start_on_clock(1, &system_nats_url(), clock).await;
    let link = Link::to(&cluster).await;
    cluster.add_node_behind(&link).await;
    (cluster, link)
}

#[tokio::test]
async fn a_node_cut_off_from_database_and_bus_refuses_past_the_bound_and_recovers_when_healed() {
    let clock = ManualClock::default();
    let mut cluster = Cluster::start_on_clock(2, &system_nats_url(), &clock).await;
    let link = Link::to(&cluster).await;
    cluster.add_node_behind(&link).await;
    let c = cluster.node(2).clone();
    let fay = cluster.account("fay", None).await;
    let (tv, phone) = cluster.tv_on_a_phone_on_b(&fay).await;
    tv.on(&c).assert_signed_in().await;
    phone.on(&c).assert_signed_in().await;
    assert!(is_ready(&c).await);
    let mut phone_on_c = phone.on(&c).live().await;

    // Packets to PostgreSQL and NATS are dropped: nothing closes, nothing
    // arrives. The TV is signed out through node B meanwhile.
    link.black_hole();
    phone.sign_out(&tv).await;
    clock.advance(PAST_THE_BOUND);

    // C never heard of the sign-out and cannot show it has not missed one:
    // it refuses the TV, and every other session too, and drains itself.
    assert_stale(&tv, &c).await;
    assert_stale(&phone, &c).await;
    // Its devices would hear of no sign-out there: it sends them elsewhere.
    phone_on_c.expect_closed(CLOSE_TRY_AGAIN_LATER).await;
    assert!(!is_ready(&c).await, "/readyz is red while stale");
    let readyz = c
        .raw(usher_client::Method::GET, "/readyz")
        .no_auth()
        .send()
        .await
        .expect("readyz answers");
    assert_eq!(readyz.status, 503);
    assert_eq!(readyz.json().unwrap()["fresh"], false);
    // The nodes that still reach both keep serving.
    cluster.nodes[0].await_proof_since(cluster.now()).await;
    tv.assert_refused_by(cluster.node(0), SignOutReason::Remote)
        .await;
    phone.on(cluster.node(0)).assert_signed_in().await;
    assert!(is_ready(cluster.node(0)).await);

    // Healed, C catches up by itself: no restart.
    link.heal();
    cluster.nodes[2].await_proof_since(cluster.now()).await;
    tv.assert_refused_by(&c, SignOutReason::Remote).await;
    phone.on(&c).assert_signed_in().await;
    assert!(is_ready(&c).await, "/readyz is green again");
}

#[tokio::test]
async fn a_node_cut_off_from_the_bus_alone_keeps_serving_from_the_revocation_log() {
    let clock = ManualClock::default();
    let (cluster, link) = node_a_and_node_c_behind_a_link(&clock).await;
    let c = cluster.node(1).clone();
    let fay = cluster.account("fay", None).await;
    let tv = fay.tv().await;
    let phone = fay.phone().await;
    let mut on_c = tv.on(&c).live().await;

    link.nats.black_hole();
    clock.advance(MAX_STALENESS * 3);
    cluster.nodes[1].await_proof_since(cluster.now()).await;
    phone.on(&c).assert_signed_in().await;
    phone.sign_out(&tv).await;
    // Not through the bus: C reads it from the log within a second.
    on_c.expect_signed_out(SignOutReason::Remote).await;
    tv.assert_refused_by(&c, SignOutReason::Remote).await;
    link.nats.heal();
}

#[tokio::test]
async fn a_node_cut_off_from_the_database_alone_keeps_serving_while_every_node_is_heard() {
    let clock = ManualClock::default();
    let (mut cluster, link) = node_a_and_node_c_behind_a_link(&clock).await;
    let c = cluster.node(1).clone();
    let fay = cluster.account("fay", None).await;
    let phone = fay.phone().await;
    phone.on(&c).assert_signed_in().await;
    cluster.nodes[1].await_settled(2, &clock).await;

    // C loses the database only: every node is still heard on the bus.
    link.database.black_hole();
    clock.advance(PAST_THE_BOUND);
    cluster.nodes[1].await_proof_since(cluster.now()).await;
    phone.on(&c).assert_signed_in().await;

    // A stops and says so on the bus: C does not wait to hear from it again.
    cluster.nodes.remove(0).stop().await;
    clock.advance(PAST_THE_BOUND);
    cluster.nodes[0].await_proof_since(cluster.now()).await;
    phone.on(&c).assert_signed_in().await;
    link.database.heal();
}
