//! Debian's nginx in front of three nodes, configured with the file the
//! README recommends (`deploy/nginx/usher.conf`): devices sign in, connect
//! and are signed out through it, are seen at their own addresses, and move
//! to the other nodes when theirs stops or falls behind.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use usher::clock::ManualClock;
use usher_client::{DeviceType, SignOutReason, CLOSE_GOING_AWAY, CLOSE_TRY_AGAIN_LATER};
use usher_testkit::cluster::{Cluster, Link};
use usher_testkit::nginx::{behind_nginx, Nginx, Proxied};
use usher_testkit::{Live, TestAccount, TestDevice};

use crate::partition::PAST_THE_BOUND;

/// A client address of its own for each device (nginx listens on 127.0.0.1).
fn home(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))
}

/// A device's live channel, opened through nginx, and the node it reached.
struct Connected {
    device: TestDevice,
    live: Live,
    node: SocketAddr,
}

/// `name`'s account, created through nginx from 127.0.0.2, with a phone
/// signed in through nginx from 127.0.0.10.
async fn account_with_phone(nginx: &Nginx, name: &str) -> (TestAccount, TestDevice) {
    let account = TestAccount::create(&nginx.client_from(home(2)), name).await;
    let phone = account
        .on(&nginx.client_from(home(10)))
        .sign_in("Phone", DeviceType::Phone)
        .await;
    (account, phone)
}

/// TVs signed in through nginx, TV `i` from 127.0.0.`2 + i`, then their
/// live channels opened one after another: nginx takes turns, so three in a
/// row reach the three nodes.
async fn three_tvs_connected(
    cluster: &Cluster,
    account: &TestAccount,
    nginx: &Nginx,
) -> Vec<Connected> {
    let mut tvs = Vec::new();
    for i in 0..3 {
        let tv = account
            .on(&nginx.client_from(home(2 + i)))
            .sign_in(&format!("TV {i}"), DeviceType::Tv)
            .await;
        tvs.push(tv);
    }
    let mut connected = Vec::new();
    for device in tvs {
        let (live, node) = cluster.live_and_its_node(&device).await;
        connected.push(Connected { device, live, node });
    }
    connected
}

/// Whether nginx asked `node` first, got `status` there, and answered with
/// another node's success.
fn skipped(proxied: &Proxied, node: SocketAddr, status: &str) -> bool {
    let first = proxied.attempts.first();
    proxied.status < 400
        && proxied.attempts.len() > 1
        && first.is_some_and(|(at, got)| *at == node.to_string() && got == status)
}

#[tokio::test]
async fn a_device_behind_nginx_is_seen_at_its_own_address_and_told_of_its_sign_out() {
    let cluster = Cluster::start_configured(3, behind_nginx).await;
    let nginx = Nginx::start(&cluster.addresses()).await;
    let (ada, phone) = account_with_phone(&nginx, "ada").await;
    // The TV claims an address of its own; nginx adds the one it came from.
    let tv = ada
        .tv_forwarded("TV", ("x-forwarded-for", "203.0.113.7"))
        .await;
    // Read before any live channel: a handshake also records the address it
    // came from, which would hide a sign-in that believed the forged one.
    let list = phone.client.devices().await.expect("the device list");
    let address_of = |device: &TestDevice| {
        list.iter()
            .find(|d| d.session_id == device.session_id())
            .and_then(|d| d.ip.clone())
    };
    assert_eq!(address_of(&tv).as_deref(), Some("127.0.0.2"), "{list:?}");
    assert_eq!(
        address_of(&phone).as_deref(),
        Some("127.0.0.10"),
        "{list:?}"
    );

    // The upgrade passes through nginx: the node says hello. So does a
    // browser's, with its token in the subprotocol.
    let mut live = tv.live().await;
    let as_browser = tv.client.connect_with_subprotocol_token(false).await;
    let mut as_browser = Live::opened(as_browser, tv.session_id()).await;
    assert_eq!(as_browser.protocol(), Some("usher.v1"));

    // Signed out from another device's connection through nginx, whichever
    // nodes the two reached.
    phone.sign_out(&tv).await;
    live.expect_signed_out(SignOutReason::Remote).await;
    as_browser.expect_signed_out(SignOutReason::Remote).await;
    tv.assert_signed_out(SignOutReason::Remote).await;
    phone.assert_signed_in().await;
}

#[tokio::test]
async fn devices_of_a_node_stopped_gracefully_reconnect_through_nginx_to_the_others() {
    let mut cluster = Cluster::start_configured(3, behind_nginx).await;
    let mut nginx = Nginx::start(&cluster.addresses()).await;
    let (bea, phone) = account_with_phone(&nginx, "bea").await;
    let mut tvs = three_tvs_connected(&cluster, &bea, &nginx).await;
    let stopping = tvs[0].node;

    cluster.stop_node_at(stopping).await;

    // The node's devices are told to go elsewhere, and nginx takes them to
    // the nodes that are left, though it still lists the stopped one.
    for tv in tvs.iter_mut().filter(|tv| tv.node == stopping) {
        tv.live.expect_closed(CLOSE_GOING_AWAY).await;
        let (live, node) = cluster.live_and_its_node(&tv.device).await;
        assert_ne!(node, stopping);
        (tv.live, tv.node) = (live, node);
    }
    // Each node's turn comes round: every check succeeds all the same.
    for _ in 0..3 {
        for tv in &tvs {
            tv.device.assert_signed_in().await;
        }
    }
    nginx
        .await_proxied("nginx sent to the stopped node and then elsewhere", |p| {
            skipped(p, stopping, "502")
        })
        .await;

    // A sign-out through nginx still reaches every TV, moved or not.
    for tv in &mut tvs {
        phone.sign_out(&tv.device).await;
        tv.live.expect_signed_out(SignOutReason::Remote).await;
    }
}

#[tokio::test]
async fn a_node_that_falls_behind_is_skipped_by_nginx_and_its_devices_move_on() {
    let clock = ManualClock::default();
    let mut cluster = Cluster::start_configured_on_clock(2, &clock, behind_nginx).await;
    let link = Link::to(&cluster).await;
    cluster.add_node_behind(&link).await;
    let behind = cluster.nodes[2].address;
    let direct_to_behind = cluster.node(2).clone();
    let mut nginx = Nginx::start(&cluster.addresses()).await;
    let (cy, phone) = account_with_phone(&nginx, "cy").await;
    let mut tvs = three_tvs_connected(&cluster, &cy, &nginx).await;
    let on_behind = tvs
        .iter()
        .position(|tv| tv.node == behind)
        .expect("three handshakes in a row reach the three nodes");

    // The node loses PostgreSQL and NATS: past the bound, it cannot show it
    // has seen every sign-out, so it refuses (503 `stale_node`), reports not
    // ready, and sends its devices away.
    link.black_hole();
    clock.advance(PAST_THE_BOUND);
    let err = tvs[on_behind]
        .device
        .on(&direct_to_behind)
        .client
        .current_session()
        .await
        .expect_err("a stale node checks no session");
    assert_eq!(err.code(), Some("stale_node"), "{err}");
    tvs[on_behind]
        .live
        .expect_closed(CLOSE_TRY_AGAIN_LATER)
        .await;
    for node in &cluster.nodes[..2] {
        node.await_proof_since(cluster.now()).await;
    }

    // nginx still lists it, passes its 503s over, and its device reconnects
    // to a node that can tell it of sign-outs.
    let tv = &mut tvs[on_behind];
    let (live, node) = cluster.live_and_its_node(&tv.device).await;
    assert_ne!(node, behind);
    (tv.live, tv.node) = (live, node);
    for _ in 0..3 {
        for tv in &tvs {
            tv.device.assert_signed_in().await;
        }
    }
    nginx
        .await_proxied(
            "nginx got 503 from the stale node and then asked another",
            |p| skipped(p, behind, "503"),
        )
        .await;

    let tv = &mut tvs[on_behind];
    phone.sign_out(&tv.device).await;
    tv.live.expect_signed_out(SignOutReason::Remote).await;
    link.heal();
}

#[tokio::test]
async fn when_every_node_falls_behind_nginx_passes_their_refusal_on_and_serves_once_they_catch_up()
{
    let clock = ManualClock::default();
    let mut cluster = Cluster::start_configured_on_clock(0, &clock, behind_nginx).await;
    let mut links = Vec::new();
    for _ in 0..3 {
        let link = Link::to(&cluster).await;
        cluster.add_node_behind(&link).await;
        links.push(link);
    }
    let nginx = Nginx::start(&cluster.addresses()).await;
    let (_dee, phone) = account_with_phone(&nginx, "dee").await;
    // Every node has the phone's session in memory, so none needs the
    // database to answer for it.
    for node in &cluster.nodes {
        phone.on(&node.client).assert_signed_in().await;
    }

    links.iter().for_each(Link::black_hole);
    clock.advance(PAST_THE_BOUND);
    // Every node refuses, and nginx hands the last refusal on as it came,
    // each time: it never decides by itself that no node is left (it would
    // answer 502 of its own, and go on answering it once they recover).
    for _ in 0..2 {
        let err = phone
            .client
            .current_session()
            .await
            .expect_err("no node checks sessions");
        assert_eq!(err.status(), Some(503), "{err}");
        assert_eq!(err.code(), Some("stale_node"), "usher's own refusal: {err}");
        assert!(
            err.problem().and_then(|p| p.retry_after).is_some(),
            "Retry-After: {err}"
        );
    }

    links.iter().for_each(Link::heal);
    for node in &cluster.nodes {
        node.await_proof_since(cluster.now()).await;
    }
    for _ in 0..3 {
        phone.assert_signed_in().await;
    }
}
