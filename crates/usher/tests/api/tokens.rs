//! Access tokens that must not work: missing, garbage, forged, tampered, expired.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::Value;
use usher_client::{Method, RawResponse};

use usher_testkit::*;

/// `GET /v1/devices` with `authorization` as the header's value, if any.
pub(crate) async fn devices_with(app: &TestApp, authorization: Option<&str>) -> RawResponse {
    let request = app.client().raw(Method::GET, "/v1/devices");
    let request = match authorization {
        Some(value) => request.header("authorization", value),
        None => request,
    };
    request.send().await.expect("an answer")
}

pub(crate) async fn assert_refused(app: &TestApp, token: &str, code: &str) {
    let answer = devices_with(app, Some(&format!("Bearer {token}"))).await;
    answer.expect_problem(401, code);
    assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
}

/// A token's decoded header and claims.
pub(crate) fn decode(token: &str) -> (Value, Value) {
    let part = |i: usize| -> Value {
        let b64 = token.split('.').nth(i).expect("three parts");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(b64).expect("base64url")).expect("JSON")
    };
    (part(0), part(1))
}

fn encode_part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// `claims` signed with `key` under `alg`, naming key `kid`.
pub(crate) fn sign(alg: Algorithm, kid: &str, claims: &Value, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, key).expect("signed")
}

/// A call with no token, an empty one or garbage is refused 401: no token
/// at all is `missing_token`, a token that is not usher's `invalid_token`.
#[tokio::test]
async fn a_call_without_a_usable_token_is_refused() {
    let app = TestApp::spawn().await;
    let tv = app.signed_in("ada").await;
    devices_with(&app, None)
        .await
        .expect_problem(401, "missing_token");
    for empty in ["Bearer", "Bearer    ", "Basic YWRhOnNlY3JldA=="] {
        devices_with(&app, Some(empty))
            .await
            .expect_problem(401, "missing_token");
    }
    let huge = "a".repeat(16 * 1024);
    let refresh_token = tv.tokens.refresh_token.as_str();
    for token in ["not-a-token", "a.b.c", "e30.e30.", &huge, refresh_token] {
        assert_refused(&app, token, "invalid_token").await;
    }
}

#[tokio::test]
async fn a_token_with_a_tampered_payload_is_refused() {
    let app = TestApp::spawn().await;
    let ada = app.signed_in("ada").await;
    let grace = app.signed_in("grace").await;
    let token = &grace.tokens.access_token;
    let (header, mut claims) = decode(token);
    let signature = token.rsplit('.').next().expect("a signature");

    // Grace edits her token to name Ada's session and account.
    let ada_claims = decode(&ada.tokens.access_token).1;
    claims["sid"] = ada_claims["sid"].clone();
    claims["sub"] = ada_claims["sub"].clone();
    let tampered = format!(
        "{}.{}.{signature}",
        encode_part(&header),
        encode_part(&claims)
    );
    assert_refused(&app, &tampered, "invalid_token").await;

    // Or gives it a longer life.
    let mut longer = decode(token).1;
    longer["exp"] = Value::from(longer["exp"].as_i64().expect("exp") + 365 * 24 * 3600);
    let extended = format!(
        "{}.{}.{signature}",
        encode_part(&header),
        encode_part(&longer)
    );
    assert_refused(&app, &extended, "invalid_token").await;

    grace.assert_signed_in().await;
    ada.assert_signed_in().await;
}

#[tokio::test]
async fn a_token_signed_with_another_key_is_refused() {
    let app = TestApp::spawn().await;
    let ada = app.signed_in("ada").await;
    let (header, claims) = decode(&ada.tokens.access_token);
    let kid = header["kid"].as_str().expect("a kid");

    // The right claims and kid, signed with a key usher never issued.
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let der = stranger.to_pkcs8_der().expect("PKCS#8");
    let other_key = EncodingKey::from_ed_der(der.as_bytes());
    assert_refused(
        &app,
        &sign(Algorithm::EdDSA, kid, &claims, &other_key),
        "invalid_token",
    )
    .await;

    // HS256 keyed with usher's public key (the algorithm-confusion attack).
    let jwks = answer_to(&app.client(), Method::GET, "/.well-known/jwks.json", None)
        .await
        .json()
        .expect("JSON");
    let public = jwks["keys"][0]["x"].as_str().expect("a public key");
    let hmac = EncodingKey::from_secret(public.as_bytes());
    assert_refused(
        &app,
        &sign(Algorithm::HS256, kid, &claims, &hmac),
        "invalid_token",
    )
    .await;

    // No signature at all.
    let none = format!(
        "{}.{}.",
        encode_part(&serde_json::json!({"alg": "none", "typ": "JWT", "kid": kid})),
        encode_part(&claims)
    );
    assert_refused(&app, &none, "invalid_token").await;
}

#[tokio::test]
async fn a_token_from_another_usher_is_refused() {
    let app = TestApp::spawn().await;
    let elsewhere = TestApp::spawn().await;
    app.signed_in("ada").await;
    let stranger = elsewhere.signed_in("ada").await;
    assert_refused(&app, &stranger.tokens.access_token, "invalid_token").await;
}

#[tokio::test]
async fn an_expired_token_is_refused_until_refreshed() {
    let app = TestApp::spawn().await;
    let tv = app.signed_in("ada").await;
    tv.assert_signed_in().await;

    app.advance(Duration::from_secs(15 * 60 + 1));

    assert_refused(&app, &tv.tokens.access_token, "token_expired").await;
    tv.client
        .live(false)
        .await
        .expect_problem(401, "token_expired");
    let fresh = tv
        .client
        .refresh(&tv.tokens.refresh_token)
        .await
        .expect("an expired access token does not end the session");
    let refreshed = TestDevice::new(&app.client(), fresh);
    refreshed.assert_signed_in().await;
}

#[tokio::test]
async fn bad_refresh_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let tv = app.signed_in("ada").await;
    let client = app.client();
    let well_formed_unknown = format!("urt_{}", "A".repeat(43));
    for token in ["", "garbage", &tv.tokens.access_token, &well_formed_unknown] {
        client
            .refresh(token)
            .await
            .expect_problem(401, "invalid_token");
    }
    tv.client
        .refresh(&tv.tokens.refresh_token)
        .await
        .expect("the real refresh token still works");
}
