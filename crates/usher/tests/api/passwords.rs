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
