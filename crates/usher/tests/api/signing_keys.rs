//! Token-signing keys (finding 7 of the security review): tokens must have
//! the times of tokens usher issues, a retired key is trusted only until its
//! tokens have expired, and a revoked key at once no more, its sessions
//! signed out.

use std::collections::BTreeSet;
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::Value;
use usher::auth::keyring::KeyState;
use usher::clock::Clock;
use usher::sessions::keys::{RetireOutcome, RevokeOutcome};
use usher::store::{SigningKeyRecord, StoredPrivateKey};
use usher_client::{DeviceType, Method, SignOutReason};

use crate::server_process::{operator, operator_fails, ServerProcess};
use crate::tokens::{assert_refused, decode, devices_with, sign};
use usher_testkit::*;

/// 2100-01-01T00:00:00Z.
const YEAR_2100: i64 = 4_102_444_800;
/// The default access-token lifetime, in seconds.
const TTL_SECS: i64 = 15 * 60;

pub(crate) fn kid_of(token: &str) -> String {
    decode(token).0["kid"].as_str().expect("a kid").to_owned()
}

/// The stored key `kid`, as a copy of the database gives it to a thief.
async fn stolen_key(app: &TestApp, kid: &str) -> SigningKeyRecord {
    app.stored_signing_keys()
        .await
        .into_iter()
        .find(|k| k.kid == kid)
        .expect("the key is stored")
}

/// `claims` with these times, signed with a stolen key.
fn forge(key: &SigningKeyRecord, claims: &Value, iat: i64, exp: i64) -> String {
    let StoredPrivateKey::Plain(der) = &key.private_key else {
        panic!("the key is stored in plain text (no key-encryption key)");
    };
    let mut claims = claims.clone();
    claims["iat"] = iat.into();
    claims["exp"] = exp.into();
    claims["jti"] = format!("forged-{iat}-{exp}").into();
    sign(
        Algorithm::EdDSA,
        &key.kid,
        &claims,
        &EncodingKey::from_ed_der(der),
    )
}

async fn state_of(app: &TestApp, kid: &str) -> KeyState {
    let keys = app.signing_keys().await;
    keys.into_iter()
        .find(|k| k.kid == kid)
        .expect("listed")
        .state
}

fn kids<const N: usize>(kids: [&String; N]) -> BTreeSet<String> {
    kids.into_iter().cloned().collect()
}

async fn assert_accepted(app: &TestApp, token: &str) {
    let answer = devices_with(app, Some(&format!("Bearer {token}"))).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
}

/// The reviewer's token: signed with a key from the database, `exp` in
/// 2100. Refused, whether the key is current or rotated out; a rotated-out
/// key cannot sign a token of the right lifetime after it stopped either.
#[tokio::test]
async fn a_token_that_outlives_the_access_token_lifetime_is_refused() {
    let app = TestApp::spawn().await;
    let tv = app.signed_in("ada").await;
    let claims = decode(&tv.tokens.access_token).1;
    let key = stolen_key(&app, &kid_of(&tv.tokens.access_token)).await;
    let now = app.now().timestamp();
    // The stolen key signs what usher accepts when the times are usher's…
    assert_accepted(&app, &forge(&key, &claims, now, now + TTL_SECS)).await;
    // …but not a token that lives until 2100.
    let forever = forge(&key, &claims, now, YEAR_2100);
    assert_refused(&app, &forever, "invalid_token").await;

    app.rotate_keys().await;
    app.advance(Duration::from_secs(5 * 60));
    let now = app.now().timestamp();
    assert_refused(&app, &forge(&key, &claims, now, YEAR_2100), "invalid_token").await;
    let after_it_stopped = forge(&key, &claims, now, now + TTL_SECS);
    assert_refused(&app, &after_it_stopped, "invalid_token").await;
    // What it signed before it stopped still works until it expires.
    tv.assert_signed_in().await;
}

/// `usher keys rotate` retires the key it replaces: listed as retiring,
/// then retired once every token it signed has expired.
#[tokio::test]
async fn rotating_retires_the_previous_key() {
    let app = TestApp::spawn().await;
    let first = app.current_key().await;
    let rotated_at = app.clock.now();
    let second = app.rotate_keys().await;

    let retire_at = rotated_at + (TTL_SECS * 1000) + 2 * 60_000;
    let retiring = KeyState::Retiring {
        signs_until: rotated_at,
        retire_at,
    };
    assert_eq!(state_of(&app, &first).await, retiring);
    assert_eq!(state_of(&app, &second).await, KeyState::Current);
    app.clock.advance_to(retire_at);
    assert_eq!(state_of(&app, &first).await.name(), "retired");
    assert_eq!(app.published_keys().await, kids([&second]));
}

/// A retired key verifies the tokens it signed until they expire and stays
/// published until then; afterwards it is dropped from the JWKS, and a
/// device back with one of its tokens is told it expired (so it refreshes).
#[tokio::test]
async fn a_retired_key_verifies_its_tokens_until_they_expire_then_leaves_the_jwks() {
    let app = TestApp::spawn().await;
    let tv = app.signed_in("ada").await;
    let old = kid_of(&tv.tokens.access_token);
    assert_eq!(app.published_keys().await, kids([&old]));

    let RetireOutcome::Retired {
        replaced_by: new,
        retire_at,
    } = app.retire_key(&old).await
    else {
        panic!("the current key retires");
    };
    tv.assert_signed_in().await;
    let bob = app.signed_in("bob").await;
    assert_eq!(kid_of(&bob.tokens.access_token), new);
    assert_eq!(app.published_keys().await, kids([&old, &new]));

    app.advance(Duration::from_secs(TTL_SECS as u64 + 1));
    assert_refused(&app, &tv.tokens.access_token, "token_expired").await;
    let fresh = tv
        .client
        .refresh(&tv.tokens.refresh_token)
        .await
        .expect("the session goes on");
    assert_eq!(kid_of(&fresh.access_token), new);

    app.clock.advance_to(retire_at - 1);
    assert_eq!(app.published_keys().await, kids([&old, &new]));
    app.clock.advance_to(retire_at);
    assert_eq!(app.published_keys().await, kids([&new]));
    assert_refused(&app, &tv.tokens.access_token, "token_expired").await;
    assert!(matches!(
        app.retire_key(&old).await,
        RetireOutcome::NotCurrent(KeyState::Retired { .. })
    ));
    assert_eq!(
        app.retire_key("0123456789abcdef").await,
        RetireOutcome::Unknown
    );
}

/// A compromised key: refused at once (even for a token its thief signs
/// for a session it never signed for), dropped from the JWKS, and every
/// session it was issued a token for signed out with `key_revoked`, told
/// live. Sessions signed for only by the next key stay.
#[tokio::test]
async fn a_revoked_key_is_refused_at_once_and_its_sessions_are_signed_out() {
    let app = TestApp::spawn().await;
    let home = app.household().await;
    let mut tv_live = home.tv.live().await;
    let compromised = kid_of(&home.tv.tokens.access_token);
    let stolen = stolen_key(&app, &compromised).await;

    let rotated_at = app.now().timestamp();
    let current = app.rotate_keys().await;
    app.advance(Duration::from_secs(5 * 60));
    let bob = app.signed_in("bob").await;
    assert_eq!(kid_of(&bob.tokens.access_token), current);
    // What the thief can do: sign for Bob's session, with the right times.
    let bobs_claims = decode(&bob.tokens.access_token).1;
    let for_bob = forge(&stolen, &bobs_claims, rotated_at, rotated_at + TTL_SECS);
    assert_accepted(&app, &for_bob).await;

    let outcome = app.revoke_key(&compromised).await;
    assert_eq!(
        outcome,
        RevokeOutcome::Revoked {
            replaced_by: None,
            signed_out: 2
        }
    );

    tv_live.expect_signed_out(SignOutReason::KeyRevoked).await;
    assert_refused(&app, &for_bob, "invalid_token").await;
    for device in [&home.tv, &home.phone] {
        assert_refused(&app, &device.tokens.access_token, "invalid_token").await;
        device
            .client
            .refresh(&device.tokens.refresh_token)
            .await
            .expect_revoked(&SignOutReason::KeyRevoked);
    }
    bob.assert_signed_in().await;
    assert_eq!(app.published_keys().await, kids([&current]));

    let laptop = home.ada.sign_in("Laptop", DeviceType::Desktop).await;
    assert_eq!(laptop.device_list().await, session_ids(&[&laptop]));
    let history = laptop.history_of("signed_out").await;
    assert_eq!(history.len(), 2);
    for event in &history {
        assert_eq!(event.detail["reason"], "key_revoked");
        assert_eq!(event.detail["cause"], "operator");
    }

    assert_eq!(
        app.revoke_key(&compromised).await,
        RevokeOutcome::AlreadyRevoked
    );
    let erased = stolen_key(&app, &compromised).await.private_key;
    assert!(
        erased == StoredPrivateKey::Erased,
        "its private key is erased"
    );
}

/// Revoking the key that signs now makes a new one current first.
#[tokio::test]
async fn revoking_the_current_key_makes_a_new_one_current() {
    let app = TestApp::spawn().await;
    let tv = app.signed_in("ada").await;
    let compromised = kid_of(&tv.tokens.access_token);

    let RevokeOutcome::Revoked {
        replaced_by: Some(new),
        signed_out: 1,
    } = app.revoke_key(&compromised).await
    else {
        panic!("the current key is revoked and replaced");
    };
    tv.client
        .refresh(&tv.tokens.refresh_token)
        .await
        .expect_revoked(&SignOutReason::KeyRevoked);
    let again = app
        .account("grace")
        .await
        .sign_in("Phone", DeviceType::Phone)
        .await;
    assert_eq!(kid_of(&again.tokens.access_token), new);
    again.assert_signed_in().await;
    assert_eq!(app.published_keys().await, kids([&new]));
    assert_eq!(
        app.revoke_key("0123456789abcdef").await,
        RevokeOutcome::Unknown
    );
}

/// `usher keys …` while the server runs. The commands are another
/// process: the server learns of a revocation from the store (within about
/// a second) and tells the device.
#[tokio::test]
async fn the_operator_rotates_retires_and_revokes_keys_while_the_server_runs() {
    let data = tempfile::tempdir().expect("data directory");
    let server = ServerProcess::start(data.path()).await;
    let ada = TestAccount::create(&server.client(), "ada").await;
    let tv = ada.sign_in("Living Room TV", DeviceType::Tv).await;
    let mut tv_live = tv.live().await;
    let first = kid_of(&tv.tokens.access_token);
    let keys = || operator(data.path(), &["keys", "list"]);

    assert_eq!(state_in(&keys().await, &first), "current");
    let rotated = operator(data.path(), &["keys", "rotate"]).await;
    let second = rotated
        .trim()
        .strip_prefix("new current signing key ")
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("the new key is named: {rotated}"))
        .to_owned();
    let listed = keys().await;
    assert_eq!(state_in(&listed, &first), "retiring");
    assert_eq!(state_in(&listed, &second), "current");
    let refused = operator_fails(data.path(), &["keys", "retire", &first]).await;
    assert!(refused.contains("is retiring"), "{refused}");

    let revoked = operator(data.path(), &["keys", "revoke", &first]).await;
    assert!(revoked.contains("signed out 1 session(s)"), "{revoked}");
    tv_live.expect_signed_out(SignOutReason::KeyRevoked).await;
    tv.client
        .current_session()
        .await
        .expect_problem(401, "invalid_token");
    tv.client
        .refresh(&tv.tokens.refresh_token)
        .await
        .expect_revoked(&SignOutReason::KeyRevoked);
    let jwks = answer_to(
        &server.client(),
        Method::GET,
        "/.well-known/jwks.json",
        None,
    )
    .await
    .text();
    assert!(!jwks.contains(&first) && jwks.contains(&second), "{jwks}");
    assert_eq!(state_in(&keys().await, &first), "revoked");
}

/// The STATE column of `usher keys list` for `kid`.
fn state_in(listed: &str, kid: &str) -> String {
    let line = listed
        .lines()
        .find(|line| line.starts_with(kid))
        .unwrap_or_else(|| panic!("{kid} is listed: {listed}"));
    line.split_whitespace().nth(2).expect("a state").to_owned()
}
