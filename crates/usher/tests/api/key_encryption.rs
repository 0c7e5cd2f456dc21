//! Signing keys encrypted at rest under a key-encryption key (KEK) from
//! `USHER_KEY_ENCRYPTION_KEY` or `keys.encryption_key_file` (finding 7 of
//! the security review): a copy of the database alone cannot mint tokens.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use usher::config::Secret;
use usher::store::{SigningKeyRecord, StoredPrivateKey};

use crate::server_process::{fails_to_start, ServerProcess};
use usher_testkit::*;

const KEK_VARIABLE: &str = "USHER_KEY_ENCRYPTION_KEY";

/// A KEK as `openssl rand -base64 32` makes one.
fn new_kek() -> String {
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    STANDARD.encode(key)
}

fn sealed(keys: &[SigningKeyRecord]) -> bool {
    !keys.is_empty()
        && keys
            .iter()
            .all(|k| matches!(k.private_key, StoredPrivateKey::Sealed { .. }))
}

#[tokio::test]
async fn with_a_key_encryption_key_signing_keys_are_stored_encrypted() {
    let kek = new_kek();
    let app = TestApp::spawn_with(|c| c.key_encryption_key = Some(Secret(kek.clone()))).await;
    let tv = app.signed_in("ada").await;
    app.rotate_keys().await;
    let stored = app.stored_signing_keys().await;
    assert_eq!(stored.len(), 2);
    assert!(sealed(&stored), "every key written is encrypted");

    // Restarted with the same KEK, the keys open: the TV's token (from the
    // retiring key) still works, and new sign-ins get tokens.
    let app = app.restart_with(|_| {}).await;
    tv.on(&app.client()).assert_signed_in().await;
    app.signed_in("bob").await.assert_signed_in().await;
}

#[tokio::test]
async fn plain_keys_are_encrypted_at_start_up_once_a_kek_is_configured() {
    let app = TestApp::spawn().await;
    let tv = app.signed_in("ada").await;
    let stored = app.stored_signing_keys().await;
    assert!(stored
        .iter()
        .all(|k| matches!(k.private_key, StoredPrivateKey::Plain(_))));

    let kek = new_kek();
    let app = app
        .restart_with(|c| c.key_encryption_key = Some(Secret(kek)))
        .await;
    assert!(sealed(&app.stored_signing_keys().await));
    tv.on(&app.client()).assert_signed_in().await;
}

#[tokio::test]
async fn the_key_encryption_key_may_be_kept_in_a_file() {
    let dir = tempfile::tempdir().expect("a directory");
    let file = dir.path().join("usher.kek");
    let kek = new_kek();
    std::fs::write(&file, format!("{kek}\n")).expect("the KEK is written");
    let app = TestApp::spawn_with(|c| c.keys.encryption_key_file = Some(file.clone())).await;
    let tv = app.signed_in("ada").await;
    assert!(sealed(&app.stored_signing_keys().await));

    // The same KEK given in the variable opens them.
    let app = app
        .restart_with(|c| {
            c.keys.encryption_key_file = None;
            c.key_encryption_key = Some(Secret(kek));
        })
        .await;
    tv.on(&app.client()).assert_signed_in().await;
}

/// Start-up refuses, naming the problem (and never the KEK), when the keys
/// are encrypted and the KEK is wrong or missing, or the KEK is malformed
/// or given twice; with the right one it starts.
#[tokio::test]
async fn a_wrong_or_missing_kek_stops_start_up_and_says_why() {
    let data = tempfile::tempdir().expect("data directory");
    let kek = new_kek();
    let server = ServerProcess::start_with(data.path(), &[(KEK_VARIABLE, &kek)], &[]).await;
    server.kill().await;

    let other = new_kek();
    let wrong = fails_to_start(data.path(), &[(KEK_VARIABLE, &other)]).await;
    assert!(
        wrong.contains("cannot be decrypted with the configured key-encryption key"),
        "{wrong}"
    );
    let missing = fails_to_start(data.path(), &[]).await;
    assert!(
        missing.contains("is encrypted, but no key-encryption key is configured"),
        "{missing}"
    );
    let malformed = fails_to_start(data.path(), &[(KEK_VARIABLE, "hunter2")]).await;
    assert!(
        malformed.contains("USHER_KEY_ENCRYPTION_KEY is not usable: it is not base64"),
        "{malformed}"
    );
    let file = data.path().join("usher.kek");
    std::fs::write(&file, &kek).expect("the KEK is written");
    let file = file.to_str().expect("a UTF-8 path");
    let both = [
        (KEK_VARIABLE, kek.as_str()),
        ("USHER_KEYS__ENCRYPTION_KEY_FILE", file),
    ];
    let twice = fails_to_start(data.path(), &both).await;
    assert!(twice.contains("use one"), "{twice}");
    for said in [&wrong, &missing, &malformed, &twice] {
        assert!(!said.contains("panicked"), "{said}");
        assert!(!said.contains(&kek) && !said.contains(&other) && !said.contains("hunter2"));
    }

    let server = ServerProcess::start_with(data.path(), &[(KEK_VARIABLE, &kek)], &[]).await;
    TestAccount::create(&server.client(), "ada")
        .await
        .sign_in("TV", usher_client::DeviceType::Tv)
        .await
        .assert_signed_in()
        .await;
}
