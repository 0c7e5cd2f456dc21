//! With NATS down, revocations still reach every node (through the store's
//! revocation log, read every second); when NATS is back, the bus carries
//! them again.

use usher_client::{LiveEvent, SignOutReason, StreamStopReason};

use crate::harness::*;

#[tokio::test]
async fn a_revocation_while_nats_is_down_still_reaches_every_node() {
    let mut nats = PrivateNats::start().await;
    let cluster = Cluster::start_on(3, &nats.url()).await;
    let email = account(cluster.node(0), "fay", None).await;
    let tv = Device::sign_in(cluster.node(0), &email, "TV").await;
    let phone = Device::sign_in(cluster.node(1), &email, "Phone").await;
    let mut on_a = tv.live_on(cluster.node(0)).await;
    let mut on_c = tv.live_on(cluster.node(2)).await;
    let lease = tv
        .on(cluster.node(0))
        .start_stream("Vertigo", None)
        .await
        .expect("the TV plays");

    nats.kill().await;
    phone
        .on(cluster.node(1))
        .sign_out_device(&tv.session_id)
        .await
        .expect("the sign-out is acknowledged with the bus down");

    // From the revocation log alone, each node tells the device in the
    // same order the bus would: its stream ended, then it was signed out.
    for live in [&mut on_a, &mut on_c] {
        match next_event(live).await {
            LiveEvent::StreamStopped { stream_id, reason } => {
                assert_eq!(stream_id, lease.stream_id);
                assert_eq!(reason, StreamStopReason::SignedOut);
            }
            other => panic!("expected stream_stopped first, got {other}"),
        }
        expect_signed_out(live, SignOutReason::Remote).await;
    }
    for i in 0..3 {
        assert_refused(&tv, cluster.node(i), SignOutReason::Remote).await;
    }

    nats.restart().await;
    for i in 0..3 {
        let node = cluster.node(i).clone();
        wait_until("the node reconnecting to NATS", || {
            let node = node.clone();
            async move {
                let ready = node
                    .raw(usher_client::Method::GET, "/readyz")
                    .no_auth()
                    .send()
                    .await;
                ready.is_ok_and(|r| r.status == 200)
            }
        })
        .await;
    }
    let laptop = Device::sign_in(cluster.node(2), &email, "Laptop").await;
    let mut laptop_on_a = laptop.live_on(cluster.node(0)).await;
    phone
        .on(cluster.node(1))
        .sign_out_device(&laptop.session_id)
        .await
        .expect("signed out");
    expect_signed_out(&mut laptop_on_a, SignOutReason::Remote).await;
}
