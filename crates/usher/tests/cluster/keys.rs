//! A token-signing key revoked through one node is trusted by no node that
//! can show it is fresh: one cut off from the bus learns it from the store
//! (keys are re-read with every read of the revocation log), one cut off
//! from the store learns it from the bus.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use usher::clock::ManualClock;
use usher::sessions::keys::RevokeOutcome;
use usher_client::SignOutReason;
use usher_testkit::cluster::{Cluster, Link};
use usher_testkit::{ExpectProblem, Live, TestDevice};

use crate::partition::{node_a_and_node_c_behind_a_link, MAX_STALENESS, PAST_THE_BOUND};

fn kid_of(token: &str) -> String {
    let header = token.split('.').next().expect("a header");
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("base64url")).expect("JSON");
    header["kid"].as_str().expect("a kid").to_owned()
}

/// Revokes, through node A, the key that signed `device`'s token.
async fn revoke_on_a(cluster: &Cluster, device: &TestDevice) {
    let kid = kid_of(&device.tokens.access_token);
    let outcome = cluster.nodes[0]
        .services
        .sessions
        .revoke_signing_key(&kid)
        .await
        .expect("revoked");
    assert!(
        matches!(outcome, RevokeOutcome::Revoked { .. }),
        "{outcome:?}"
    );
}

/// The token is refused as one no trusted key signed (not merely as one of
/// a signed-out session: C no longer trusts the key).
async fn assert_key_refused(device: &TestDevice, node: &usher_client::Client) {
    device
        .on(node)
        .client
        .current_session()
        .await
        .expect_problem(401, "invalid_token");
}

/// Node A, and node C behind a link; Fay's TV signed in through A and
/// connected to C, which has checked its token.
async fn a_tv_on_c(clock: &ManualClock) -> (Cluster, Link, TestDevice, Live) {
    let (cluster, link) = node_a_and_node_c_behind_a_link(clock).await;
    let fay = cluster.account("fay", None).await;
    let tv = fay.tv().await;
    tv.on(cluster.node(1)).assert_signed_in().await;
    let on_c = tv.on(cluster.node(1)).live().await;
    (cluster, link, tv, on_c)
}

#[tokio::test]
async fn a_node_cut_off_from_the_bus_learns_of_a_revoked_key_from_the_store() {
    let clock = ManualClock::default();
    let (cluster, link, tv, mut on_c) = a_tv_on_c(&clock).await;
    let c = cluster.node(1).clone();

    link.nats.black_hole();
    clock.advance(MAX_STALENESS * 3);
    cluster.nodes[1].await_proof_since(cluster.now()).await;
    revoke_on_a(&cluster, &tv).await;
    on_c.expect_signed_out(SignOutReason::KeyRevoked).await;
    assert_key_refused(&tv, &c).await;
    link.nats.heal();
}

#[tokio::test]
async fn a_node_cut_off_from_the_store_learns_of_a_revoked_key_from_the_bus() {
    let clock = ManualClock::default();
    let (cluster, link, tv, mut on_c) = a_tv_on_c(&clock).await;
    let c = cluster.node(1).clone();
    cluster.nodes[1].await_settled(2, &clock).await;

    link.database.black_hole();
    clock.advance(PAST_THE_BOUND);
    cluster.nodes[1].await_proof_since(cluster.now()).await;
    revoke_on_a(&cluster, &tv).await;
    on_c.expect_signed_out(SignOutReason::KeyRevoked).await;
    assert_key_refused(&tv, &c).await;
    link.database.heal();
}
