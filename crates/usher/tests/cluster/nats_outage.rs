//! With NATS down, revocations still reach every node (through the store's
//! revocation log, read every second); when NATS is back, the bus carries
//! them again. Nodes that read the log keep serving valid sessions however
//! long the outage lasts: the log proves they miss no sign-out.

use std::time::Duration;

use usher::clock::ManualClock;
use usher_client::{DeviceType, SignOutReason, StreamStopReason};
use usher_testkit::cluster::{is_ready, readiness, Cluster, PrivateNats};

#[tokio::test]
async fn a_revocation_while_nats_is_down_still_reaches_every_node() {
    let mut nats = PrivateNats::start().await;
    let clock = ManualClock::default();
    let cluster = Cluster::start_on_clock(3, &nats.url(), &clock).await;
    let fay = cluster.account("fay", None).await;
    let (tv, phone) = cluster.tv_on_a_phone_on_b(&fay).await;
    let mut on_a = tv.live().await;
    let mut on_c = tv.on(cluster.node(2)).live().await;
    let lease = tv.play("Vertigo").await;

    nats.kill().await;
    phone.sign_out(&tv).await;

    // From the revocation log alone, each node tells the device in the
    // same order the bus would: its stream ended, then it was signed out.
    for live in [&mut on_a, &mut on_c] {
        live.expect_stream_stopped(&lease.stream_id, StreamStopReason::SignedOut)
            .await;
        live.expect_signed_out(SignOutReason::Remote).await;
    }
    for i in 0..3 {
        tv.assert_refused_by(cluster.node(i), SignOutReason::Remote)
            .await;
    }
    // Well past the staleness bound, every node still proves itself from
    // the log, answers valid sessions and stays in the load balancer.
    clock.advance(Duration::from_secs(30));
    for (i, node) in cluster.nodes.iter().enumerate() {
        node.await_proof_since(cluster.now()).await;
        phone.on(cluster.node(i)).assert_signed_in().await;
        let (status, body) = readiness(cluster.node(i)).await;
        assert_eq!(
            (status, &body["bus"]),
            (200, &false.into()),
            "node {i}: {body}"
        );
    }

    nats.restart().await;
    nats.await_subscribers(3).await;
    for i in 0..3 {
        assert!(is_ready(cluster.node(i)).await, "node {i} is ready again");
    }
    let laptop = fay
        .on(cluster.node(2))
        .sign_in("Laptop", DeviceType::Tv)
        .await;
    let mut laptop_on_a = laptop.on(cluster.node(0)).live().await;
    phone.sign_out(&laptop).await;
    laptop_on_a.expect_signed_out(SignOutReason::Remote).await;
}
