//! Changing the account password.

use usher_client::{DeviceType, SignOutReason};

use usher_testkit::*;

const NEW_PASSWORD: &str = "tangerine submarine orchestra";

#[tokio::test]
async fn a_password_change_signs_out_every_device_by_default() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let laptop = ada.sign_in("Laptop", DeviceType::Browser).await;
    let tv = ada.sign_in("TV", DeviceType::Tv).await;
    let mut laptop_live = laptop.live().await;
    let mut tv_live = tv.live().await;

    laptop
        .client
        .change_password(PASSWORD, NEW_PASSWORD, None)
        .await
        .expect("password changed");

    laptop_live
        .expect_signed_out(SignOutReason::PasswordChanged)
        .await;
    tv_live
        .expect_signed_out(SignOutReason::PasswordChanged)
        .await;
    laptop
        .assert_signed_out(SignOutReason::PasswordChanged)
        .await;
    tv.assert_signed_out(SignOutReason::PasswordChanged).await;
    ada.assert_password_refused(PASSWORD).await;
    ada.assert_password_works(NEW_PASSWORD).await;
}

#[tokio::test]
async fn a_password_change_can_keep_devices_signed_in() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let laptop = ada.sign_in("Laptop", DeviceType::Browser).await;
    let tv = ada.sign_in("TV", DeviceType::Tv).await;

    laptop
        .client
        .change_password(PASSWORD, NEW_PASSWORD, Some(false))
        .await
        .expect("password changed");

    for device in [&laptop, &tv] {
        device.assert_signed_in().await;
    }
    assert_eq!(laptop.device_list().await, session_ids(&[&laptop, &tv]));
    ada.assert_password_refused(PASSWORD).await;
    ada.assert_password_works(NEW_PASSWORD).await;
}

#[tokio::test]
async fn a_password_change_needs_the_current_password_and_a_strong_new_one() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let laptop = ada.sign_in("Laptop", DeviceType::Browser).await;

    laptop
        .client
        .change_password("not my password at all", NEW_PASSWORD, None)
        .await
        .expect_problem(403, "wrong_password");
    for weak in ["short", "Password123", "qqqqqqqqqqqq"] {
        laptop
            .client
            .change_password(PASSWORD, weak, None)
            .await
            .expect_problem(422, "weak_password");
    }

    // Nothing changed: the device is signed in and the old password works.
    laptop.assert_signed_in().await;
    ada.assert_password_works(PASSWORD).await;
}

/// What the outside review got accepted, and a close relative of each.
const WEAK: [&str; 5] = [
    "qwerty12345",
    "Password1!",
    "Password123!",
    "\0\0\0\0\0\0\0\0\0\0\0\0",
    "Living Room TV\n",
];

/// The policy every refusal states (`domain::password::POLICY`).
const POLICY: &str = "A password needs at least 10 characters (at most 256 bytes), must not be a common or easily guessed password, and must not contain control characters.";

#[track_caller]
fn assert_refused_with_the_policy(refusal: usher_client::Result<impl std::fmt::Debug>) {
    let error = refusal.expect_problem(422, "weak_password");
    let detail = error
        .problem()
        .and_then(|p| p.detail.clone())
        .unwrap_or_default();
    assert!(detail.ends_with(POLICY), "{detail}");
}

#[tokio::test]
async fn common_guessable_and_control_character_passwords_are_refused_with_the_policy() {
    let app = TestApp::spawn().await;
    let client = app.client();
    for weak in WEAK {
        assert_refused_with_the_policy(
            client.create_account("grace@example.com", weak, None).await,
        );
    }
    let ada = app.account("ada").await;
    let laptop = ada.sign_in("Laptop", DeviceType::Browser).await;
    for weak in WEAK {
        assert_refused_with_the_policy(laptop.client.change_password(PASSWORD, weak, None).await);
    }
    // The reason comes first: what made this one weak.
    let nul = client
        .create_account("grace@example.com", &"\0".repeat(12), None)
        .await
        .expect_problem(422, "weak_password");
    let detail = nul
        .problem()
        .and_then(|p| p.detail.clone())
        .unwrap_or_default();
    assert!(
        detail.starts_with("This password contains a control or invisible character"),
        "{detail}"
    );

    laptop.assert_signed_in().await;
    ada.assert_password_works(PASSWORD).await;
    client
        .create_account("grace@example.com", NEW_PASSWORD, None)
        .await
        .expect("a strong password is welcome");
}
