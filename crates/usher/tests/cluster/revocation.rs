//! A revocation through any node reaches the device on any other node.

use usher_client::{DeviceType, LiveEvent, SignOutReason, CLOSE_GOING_AWAY};
use usher_testkit::cluster::Cluster;
use usher_testkit::PASSWORD;

#[tokio::test]
async fn a_device_on_node_a_signed_out_through_node_b_is_refused_by_node_c() {
    let cluster = Cluster::start(3).await;
    let ada = cluster.account("ada", None).await;
    let (tv, phone) = cluster.tv_on_a_phone_on_b(&ada).await;
    // Node C has seen the TV as signed in, so it has it cached.
    tv.on(cluster.node(2)).assert_signed_in().await;
    let mut on_a = tv.live().await;
    let mut on_c = tv.on(cluster.node(2)).live().await;

    phone.sign_out(&tv).await;

    on_a.expect_signed_out(SignOutReason::Remote).await;
    // C marks its cache before it tells its connections, so once the TV's
    // socket on C has heard, C refuses the TV's token.
    on_c.expect_signed_out(SignOutReason::Remote).await;
    tv.assert_refused_by(cluster.node(2), SignOutReason::Remote)
        .await;
    tv.assert_refused_by(cluster.node(0), SignOutReason::Remote)
        .await;
    phone.on(cluster.node(2)).assert_signed_in().await;
}

#[tokio::test]
async fn sign_out_all_through_one_node_reaches_devices_on_every_node() {
    let cluster = Cluster::start(3).await;
    let bea = cluster.account("bea", None).await;
    let keeper = bea.sign_in("Laptop", DeviceType::Tv).await;
    let mut others = Vec::new();
    for i in 0..3 {
        let device = bea
            .on(cluster.node(i))
            .sign_in(&format!("TV {i}"), DeviceType::Tv)
            .await;
        let live = device.live().await;
        others.push((i, device, live));
    }

    let signed_out = keeper
        .on(cluster.node(1))
        .client
        .sign_out_all(false)
        .await
        .expect("sign-out-all");
    assert_eq!(signed_out.signed_out, 3);

    for (i, device, live) in &mut others {
        live.expect_signed_out(SignOutReason::AllDevices).await;
        device
            .assert_refused_by(cluster.node(*i), SignOutReason::AllDevices)
            .await;
    }
    keeper.on(cluster.node(2)).assert_signed_in().await;
}

#[tokio::test]
async fn a_password_change_through_one_node_signs_out_devices_on_every_node() {
    let cluster = Cluster::start(3).await;
    let cy = cluster.account("cy", None).await;
    let mut devices = Vec::new();
    for i in 0..3 {
        let device = cy
            .on(cluster.node(i))
            .sign_in(&format!("Device {i}"), DeviceType::Tv)
            .await;
        let live = device.on(cluster.node((i + 1) % 3)).live().await;
        devices.push((i, device, live));
    }

    devices[0]
        .1
        .on(cluster.node(2))
        .client
        .change_password(PASSWORD, "tangerine submarine orchestra", None)
        .await
        .expect("password changed");

    for (i, device, live) in &mut devices {
        live.expect_signed_out(SignOutReason::PasswordChanged).await;
        device
            .assert_refused_by(cluster.node(*i), SignOutReason::PasswordChanged)
            .await;
    }
    let err = cy
        .on(cluster.node(1))
        .try_sign_in(PASSWORD)
        .await
        .expect_err("the old password no longer works on any node");
    assert_eq!(err.code(), Some("invalid_credentials"));
}

#[tokio::test]
async fn a_node_shutting_down_closes_its_live_connections_and_devices_move_on() {
    let mut cluster = Cluster::start(2).await;
    let dee = cluster.account("dee", None).await;
    let tv = dee.sign_in("TV", DeviceType::Tv).await;
    let mut live = tv.live().await;

    cluster.nodes.remove(0).stop().await;

    match live.next_about_this_device().await {
        LiveEvent::Closed { code, .. } => assert_eq!(code, CLOSE_GOING_AWAY),
        other => panic!("expected the going-away close, got {other:?}"),
    }
    // The device reconnects to the node that is left, still signed in.
    let tv = tv.on(cluster.node(0));
    let mut again = tv.live().await;
    let phone = dee
        .on(cluster.node(0))
        .sign_in("Phone", DeviceType::Tv)
        .await;
    phone.sign_out(&tv).await;
    again.expect_signed_out(SignOutReason::Remote).await;
}
