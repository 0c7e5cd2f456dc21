//! Greedy sessions: a session, and an account, hold only so many live
//! connections (`live.max_per_session`, `live.max_per_account`); one more
//! replaces the oldest, which is told why.

use usher::Config;
use usher_client::{DeviceType, SignOutReason};

use usher_testkit::*;

/// Caps small enough to reach in a test.
fn caps(per_session: usize, per_account: usize) -> impl FnOnce(&mut Config) {
    move |config| {
        config.live.max_per_session = per_session;
        config.live.max_per_account = per_account;
    }
}

#[tokio::test]
async fn one_token_over_its_cap_closes_its_oldest_live_channel() {
    let app = TestApp::spawn_with(caps(3, 10)).await;
    let ada = app.account("ada").await;
    let tv = ada.sign_in("TV", DeviceType::Tv).await;
    let mut oldest = tv.watch_devices().await;
    let mut newer = vec![tv.watch_devices().await, tv.watch_devices().await];
    oldest.expect_nothing_yet();

    newer.push(tv.watch_devices().await);
    oldest.expect_replaced("session").await;

    // The three newest keep working, and so does the device.
    ada.sign_in("Phone", DeviceType::Phone).await;
    for live in &mut newer {
        live.expect_list_update(&tv, |list| list.len() == 2).await;
    }
    tv.assert_signed_in().await;
}

#[tokio::test]
async fn an_account_over_its_cap_closes_its_oldest_connection_whichever_session_holds_it() {
    let app = TestApp::spawn_with(caps(2, 3)).await;
    let ada = app.account("ada").await;
    let tv = ada.sign_in("TV", DeviceType::Tv).await;
    let mut tv_live = tv.live().await;
    let mut newer = Vec::new();
    for name in ["Phone", "Laptop", "Tablet"] {
        let device = ada.sign_in(name, DeviceType::Phone).await;
        newer.push((device.live().await, device));
    }
    tv_live.expect_replaced("account").await;

    // Each of the others still hears about its own device.
    let (_, phone) = &newer[0];
    phone.client.sign_out_all(true).await.expect("signed out");
    for (live, _) in &mut newer {
        live.expect_signed_out(SignOutReason::AllDevices).await;
    }
}

#[tokio::test]
async fn account_pages_over_the_cap_end_their_oldest_event_stream_with_a_reason() {
    let app = TestApp::spawn_with(caps(2, 10)).await;
    let ada = app.account("ada").await;
    let page = ada.page_session().await;
    let mut oldest = page.events().await;
    let mut newer = vec![page.events().await, page.events().await];

    assert_eq!(oldest.expect("replaced").await, "session");
    oldest.expect_end().await;

    ada.sign_in("TV", DeviceType::Tv).await;
    for stream in &mut newer {
        assert_eq!(stream.expect("devices").await, "changed");
    }
}
