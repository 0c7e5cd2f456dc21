//! A profile locked through one node sends its devices on another node back
//! to the picker, live.

use usher_client::{DeviceType, StreamStopReason};
use usher_testkit::cluster::Cluster;
use usher_testkit::expect_json;

#[tokio::test]
async fn locking_a_profile_on_node_a_reaches_its_device_on_node_b() {
    let cluster = Cluster::start(2).await;
    let ada = cluster.account("ada", Some("standard")).await;
    let on_a = ada.sign_in("Phone", DeviceType::Tv).await;
    let on_b = ada
        .on(cluster.node(1))
        .sign_in("Living Room TV", DeviceType::Tv)
        .await;

    let kids = on_a.add_profile("Kids").await;
    expect_json(&on_b.pick_profile(&kids, None).await, 200);
    // Node B has the TV, on Kids, in its cache.
    let current = on_b.client.current_session().await.expect("B knows the TV");
    assert_eq!(current.profile_id.as_deref(), Some(kids.as_str()));
    let mut live = on_b.live().await;
    let lease = on_b
        .client
        .start_stream("Bluey", None)
        .await
        .expect("Bluey starts");

    on_a.lock_profile(&kids, "1234").await;

    live.expect_stream_stopped(&lease.stream_id, StreamStopReason::ProfileLocked)
        .await;
    live.expect_profile_locked(&kids).await;
    // B forgets the cached profile before it tells the device.
    let current = on_b
        .client
        .current_session()
        .await
        .expect("still signed in");
    assert_eq!(current.profile_id, None);
    let refused = on_b
        .client
        .start_stream("Bluey", None)
        .await
        .expect_err("no profile");
    assert_eq!(refused.code(), Some("profile_required"), "{refused}");
}
