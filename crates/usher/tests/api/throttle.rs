//! Brute-force protection on sign-in: a stranger's wrong passwords lock out
//! the stranger, never the owner; successes never count; devices that
//! signed in before carry a proof that lets them in when strangers have
//! spent an account's (or the node's) budget.
//!
//! The server trusts the test client's 127.0.0.1 as a proxy, so each
//! sign-in says which address it comes from (`X-Forwarded-For`).

use std::time::Duration;

use usher::Config;
use usher_client::{DeviceInfo, DeviceType, Method, RawResponse};

use usher_testkit::*;

/// The owner's household.
const HOME: &str = "81.193.4.5";
/// Someone who does not know the password.
const STRANGER: &str = "185.15.57.3";

/// A server with the shipped limits (not the test harness's), adjusted by
/// `configure`, behind a trusted proxy.
async fn server(configure: impl FnOnce(&mut Config)) -> TestApp {
    TestApp::spawn_with(|config: &mut Config| {
        config.throttle = Config::default().throttle;
        config.locations.trusted_proxies = vec!["127.0.0.1".into()];
        configure(config);
    })
    .await
}

/// A wrong password for `account` from `address`, checked and refused.
async fn guess(account: &TestAccount, address: &str, device_proof: Option<&str>) {
    account
        .sign_in_from(address, "a guess", device_proof)
        .await
        .expect_problem(401, "invalid_credentials");
}

/// Asserts the right password for `account` from `address` waits: `429`
/// with `Retry-After`.
async fn assert_waits(account: &TestAccount, address: &str, device_proof: Option<&str>) {
    account
        .sign_in_from(address, PASSWORD, device_proof)
        .await
        .expect_retry_after();
}

/// The proof a successful sign-in hands out.
#[track_caller]
fn proof_of(answer: &RawResponse) -> String {
    signed_in(answer)
        .device_proof
        .expect("a sign-in hands out a device proof")
}

#[tokio::test]
async fn a_strangers_wrong_passwords_lock_out_the_stranger_not_the_owner() {
    let app = server(|_| {}).await;
    let ada = app.account("ada").await;

    // Sixty guesses from one address: checked until its allowance runs out,
    // then refused unchecked.
    let mut first_refused = None;
    for n in 0..60 {
        let answer = ada
            .sign_in_from(STRANGER, &format!("guess {n}"), None)
            .await;
        if first_refused.is_none() && answer.status == 401 {
            continue;
        }
        answer.expect_retry_after();
        first_refused.get_or_insert(n);
    }
    assert_eq!(first_refused, Some(10), "ten guesses are checked");
    // The right password, from there, waits too.
    assert_waits(&ada, STRANGER, None).await;

    // The household's twelve devices sign in from home.
    for _ in 0..12 {
        signed_in(&ada.sign_in_from(HOME, PASSWORD, None).await);
    }
}

#[tokio::test]
async fn a_dozen_quick_sign_ins_of_one_account_all_succeed() {
    let app = server(|_| {}).await;
    let ada = app.account("ada").await;
    for _ in 0..12 {
        ada.assert_password_works(PASSWORD).await;
    }
}

#[tokio::test]
async fn every_attempt_counts_against_its_address_and_an_ipv6_64_is_one_address() {
    let app = server(|config| config.throttle.address_burst = 5).await;
    let client = app.client();
    let guess = |n: u32, address: String| {
        let client = client.clone();
        async move {
            let email = format!("victim{n}@example.com");
            sign_in_from(&client, &email, "a guess", &address, None).await
        }
    };

    // Five addresses of one /64 spraying five accounts spend its allowance.
    for n in 1..=5 {
        let answer = guess(n, format!("2a02:8100:0:7::{n:x}")).await;
        answer.expect_problem(401, "invalid_credentials");
    }
    guess(6, "2a02:8100:0:7:ffff::1".into())
        .await
        .expect_retry_after();
    guess(7, "2a02:8100:0:8::1".into())
        .await
        .expect_problem(401, "invalid_credentials");
}

#[tokio::test]
async fn beyond_the_accounts_budget_only_devices_that_signed_in_before_may_try() {
    let app = server(|config| {
        config.throttle.client_failure_burst = 2;
        config.throttle.account_failure_burst = 4;
    })
    .await;
    let ada = app.account("ada").await;
    let bea = app.account("bea").await;
    let tv = proof_of(&ada.sign_in_from(HOME, PASSWORD, None).await);
    let beas_phone = proof_of(&bea.sign_in_from(HOME, PASSWORD, None).await);

    // Two addresses, neither over its own allowance, spend the account's.
    for address in ["203.0.113.1", "203.0.113.2"] {
        for _ in 0..2 {
            guess(&ada, address, None).await;
        }
    }

    // A new device waits, from anywhere, and so does a proof for another
    // account or one usher never handed out.
    assert_waits(&ada, "198.51.100.7", None).await;
    assert_waits(&ada, HOME, Some(&beas_phone)).await;
    let forged = format!("udp_{}", "A".repeat(43));
    assert_waits(&ada, HOME, Some(&forged)).await;

    // The TV that signed in before signs in again, and keeps its proof.
    let again = signed_in(&ada.sign_in_from(HOME, PASSWORD, Some(&tv)).await);
    assert_eq!(again.device_proof.as_deref(), Some(tv.as_str()));
}

#[tokio::test]
async fn a_device_that_signed_in_before_is_not_locked_out_by_others_at_its_address() {
    let app = server(|_| {}).await;
    let ada = app.account("ada").await;
    let tv = proof_of(&ada.sign_in_from(HOME, PASSWORD, None).await);

    // A guest on the household's network guesses until it is locked out.
    for _ in 0..10 {
        guess(&ada, HOME, None).await;
    }
    assert_waits(&ada, HOME, None).await;

    signed_in(&ada.sign_in_from(HOME, PASSWORD, Some(&tv)).await);
}

/// A guest on the household's network (or a carrier NAT) who spends the
/// whole address limit holds back no device that signed in before there.
#[tokio::test]
async fn a_stranger_who_spends_the_address_limit_holds_back_no_device_with_a_proof() {
    let app = server(|config| {
        config.throttle.address_burst = 5;
        config.throttle.client_failure_burst = 100;
    })
    .await;
    let ada = app.account("ada").await;
    let tv = proof_of(&ada.sign_in_from(HOME, PASSWORD, None).await);
    for _ in 0..4 {
        guess(&ada, HOME, None).await;
    }
    assert_waits(&ada, HOME, None).await;

    signed_in(&ada.sign_in_from(HOME, PASSWORD, Some(&tv)).await);
}

#[tokio::test]
async fn a_device_proof_is_locked_out_by_its_own_wrong_passwords() {
    let app = server(|config| config.throttle.client_failure_burst = 2).await;
    let ada = app.account("ada").await;
    let tv = proof_of(&ada.sign_in_from(HOME, PASSWORD, None).await);

    for _ in 0..2 {
        guess(&ada, HOME, Some(&tv)).await;
    }
    assert_waits(&ada, HOME, Some(&tv)).await;
    // Its address without the proof is another client.
    signed_in(&ada.sign_in_from(HOME, PASSWORD, None).await);
}

#[tokio::test]
async fn a_device_proof_expires_after_device_proof_days() {
    let app = server(|config| {
        config.throttle.client_failure_burst = 1;
        config.throttle.account_failure_burst = 1;
        config.throttle.account_failure_period_secs = 86_400;
        config.throttle.device_proof_days = 1;
    })
    .await;
    let ada = app.account("ada").await;
    let tv = proof_of(&ada.sign_in_from(HOME, PASSWORD, None).await);

    // One guess spends the account's budget: a new device waits.
    guess(&ada, "203.0.113.1", None).await;
    assert_waits(&ada, "198.51.100.7", None).await;
    signed_in(&ada.sign_in_from(HOME, PASSWORD, Some(&tv)).await);

    // A day later the budget has recovered and the proof has expired.
    app.advance(Duration::from_secs(86_400));
    guess(&ada, "203.0.113.2", None).await;
    assert_waits(&ada, "198.51.100.7", None).await;
    assert_waits(&ada, HOME, Some(&tv)).await;
}

#[tokio::test]
async fn beyond_the_nodes_budget_only_devices_that_signed_in_before_may_try() {
    let app = server(|config| {
        config.throttle.global_failure_burst = 3;
        config.throttle.global_failure_period_ms = 3_600_000;
    })
    .await;
    let ada = app.account("ada").await;
    let bea = app.account("bea").await;
    let tv = proof_of(&ada.sign_in_from(HOME, PASSWORD, None).await);

    // A credential-stuffing run: many accounts, many addresses.
    for n in 1..=3 {
        let email = format!("victim{n}@example.com");
        let address = format!("203.0.113.{n}");
        sign_in_from(&app.client(), &email, "a guess", &address, None)
            .await
            .expect_problem(401, "invalid_credentials");
    }

    assert_waits(&bea, "198.51.100.7", None).await;
    signed_in(&ada.sign_in_from(HOME, PASSWORD, Some(&tv)).await);
}

/// Asserts the next sign-in of `email` with `password` from the test
/// client's own address is throttled; its `Retry-After` seconds.
async fn assert_throttled(app: &TestApp, email: &str, password: &str) -> u64 {
    let body = serde_json::json!({
        "email": email,
        "password": password,
        "device": DeviceInfo::new("Phone", DeviceType::Phone),
    });
    app.client()
        .raw(Method::POST, "/v1/sessions")
        .json(&body)
        .expect("serialisable")
        .send()
        .await
        .expect("an answer")
        .expect_retry_after()
}

#[tokio::test]
async fn a_throttled_sign_in_succeeds_again_once_its_retry_after_has_passed() {
    let app = TestApp::spawn_with(|config: &mut Config| {
        config.throttle.client_failure_burst = 3;
        config.throttle.client_failure_period_secs = 60;
    })
    .await;
    let ada = app.account("ada").await;
    let grace = app.account("grace").await;
    for _ in 0..3 {
        ada.assert_password_refused("a wrong guess, again").await;
    }
    let retry_after = assert_throttled(&app, &ada.email, PASSWORD).await;
    assert_eq!(retry_after, 60);
    // Another account is not affected.
    grace.assert_password_works(PASSWORD).await;

    // A second short of it, the account still waits, for the second left.
    app.advance(Duration::from_secs(retry_after - 1));
    assert_eq!(assert_throttled(&app, &ada.email, PASSWORD).await, 1);

    app.advance(Duration::from_secs(1));
    ada.assert_password_works(PASSWORD).await;
}
