//! A revocation through any node reaches the device on any other node.

use usher_client::SignOutReason;

use crate::harness::*;

#[tokio::test]
async fn a_device_on_node_a_signed_out_through_node_b_is_refused_by_node_c() {
    let cluster = Cluster::start(3).await;
    let email = account(cluster.node(0), "ada", None).await;
    let tv = Device::sign_in(cluster.node(0), &email, "Living Room TV").await;
    let phone = Device::sign_in(cluster.node(1), &email, "Phone").await;
    // Node C has seen the TV as signed in, so it has it cached.
    tv.on(cluster.node(2))
        .current_session()
        .await
        .expect("C knows the TV");
    let mut on_a = tv.live_on(cluster.node(0)).await;
    let mut on_c = tv.live_on(cluster.node(2)).await;

    phone
        .on(cluster.node(1))
        .sign_out_device(&tv.session_id)
        .await
        .expect("signed out through B");

    expect_signed_out(&mut on_a, SignOutReason::Remote).await;
    // C marks its cache before it tells its connections, so once the TV's
    // socket on C has heard, C refuses the TV's token.
    expect_signed_out(&mut on_c, SignOutReason::Remote).await;
    assert_refused(&tv, cluster.node(2), SignOutReason::Remote).await;
    assert_refused(&tv, cluster.node(0), SignOutReason::Remote).await;
    phone
        .on(cluster.node(2))
        .current_session()
        .await
        .expect("the phone is unaffected");
}

#[tokio::test]
async fn sign_out_all_through_one_node_reaches_devices_on_every_node() {
    let cluster = Cluster::start(3).await;
    let email = account(cluster.node(0), "bea", None).await;
    let keeper = Device::sign_in(cluster.node(0), &email, "Laptop").await;
    let mut others = Vec::new();
    for i in 0..3 {
        let device = Device::sign_in(cluster.node(i), &email, &format!("TV {i}")).await;
        let live = device.live_on(cluster.node(i)).await;
        others.push((i, device, live));
    }

    let signed_out = keeper
        .on(cluster.node(1))
        .sign_out_all(false)
        .await
        .expect("sign-out-all");
    assert_eq!(signed_out.signed_out, 3);

    for (i, device, live) in &mut others {
        expect_signed_out(live, SignOutReason::AllDevices).await;
        assert_refused(device, cluster.node(*i), SignOutReason::AllDevices).await;
    }
    keeper
        .on(cluster.node(2))
        .current_session()
        .await
        .expect("the caller stays signed in");
}

#[tokio::test]
async fn a_password_change_through_one_node_signs_out_devices_on_every_node() {
    let cluster = Cluster::start(3).await;
    let email = account(cluster.node(0), "cy", None).await;
    let mut devices = Vec::new();
    for i in 0..3 {
        let device = Device::sign_in(cluster.node(i), &email, &format!("Device {i}")).await;
        let live = device.live_on(cluster.node((i + 1) % 3)).await;
        devices.push((i, device, live));
    }

    devices[0]
        .1
        .on(cluster.node(2))
        .change_password(PASSWORD, "tangerine submarine orchestra", None)
        .await
        .expect("password changed");

    for (i, device, live) in &mut devices {
        expect_signed_out(live, SignOutReason::PasswordChanged).await;
        assert_refused(device, cluster.node(*i), SignOutReason::PasswordChanged).await;
    }
    let err = cluster
        .node(1)
        .sign_in(
            &email,
            PASSWORD,
            &usher_client::DeviceInfo::new("TV", usher_client::DeviceType::Tv),
        )
        .await
        .expect_err("the old password no longer works on any node");
    assert_eq!(err.code(), Some("invalid_credentials"));
}

#[tokio::test]
async fn a_node_shutting_down_closes_its_live_connections_and_devices_move_on() {
    let mut cluster = Cluster::start(2).await;
    let email = account(cluster.node(0), "dee", None).await;
    let tv = Device::sign_in(cluster.node(0), &email, "TV").await;
    let mut live = tv.live_on(cluster.node(0)).await;

    cluster.nodes.remove(0).stop().await;

    match next_event(&mut live).await {
        usher_client::LiveEvent::Closed { code, .. } => {
            assert_eq!(code, usher_client::CLOSE_GOING_AWAY)
        }
        other => panic!("expected the going-away close, got {other:?}"),
    }
    // The device reconnects to the node that is left, still signed in.
    let mut again = tv.live_on(cluster.node(0)).await;
    let phone = Device::sign_in(cluster.node(0), &email, "Phone").await;
    phone
        .on(cluster.node(0))
        .sign_out_device(&tv.session_id)
        .await
        .expect("signed out");
    expect_signed_out(&mut again, SignOutReason::Remote).await;
}
