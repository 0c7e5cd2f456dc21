//! An acknowledged sign-out or password change survives `kill -9`.

use usher_client::{DeviceType, SignOutReason};

use crate::server_process::ServerProcess;
use usher_testkit::*;

#[tokio::test]
async fn a_sign_out_survives_a_crash() {
    let data = tempfile::tempdir().expect("data directory");
    let server = ServerProcess::start(data.path()).await;
    let ada = TestAccount::create(&server.client(), "ada").await;
    let tv = ada.sign_in("Living Room TV", DeviceType::Tv).await;
    let phone = ada.sign_in("Phone", DeviceType::Phone).await;

    phone.sign_out(&tv).await;
    server.kill().await;

    let restarted = ServerProcess::start(data.path()).await;
    let (tv, phone) = (tv.on(&restarted.client()), phone.on(&restarted.client()));
    tv.assert_signed_out(SignOutReason::Remote).await;
    phone
        .client
        .current_session()
        .await
        .unwrap_or_else(|e| panic!("the phone still works ({e}); log:\n{}", restarted.log()));
    assert_eq!(phone.device_list().await, session_ids(&[&phone]));
}

#[tokio::test]
async fn a_password_change_survives_a_crash() {
    const NEW_PASSWORD: &str = "tangerine submarine orchestra";
    let data = tempfile::tempdir().expect("data directory");
    let server = ServerProcess::start(data.path()).await;
    let ada = TestAccount::create(&server.client(), "ada").await;
    let tv = ada.sign_in("Living Room TV", DeviceType::Tv).await;

    tv.client
        .change_password(PASSWORD, NEW_PASSWORD, None)
        .await
        .expect("password changed");
    server.kill().await;

    let restarted = ServerProcess::start(data.path()).await;
    let ada = ada.on(&restarted.client());
    ada.assert_password_refused(PASSWORD).await;
    ada.assert_password_works(NEW_PASSWORD).await;
    tv.on(&restarted.client())
        .assert_signed_out(SignOutReason::PasswordChanged)
        .await;
}

#[tokio::test]
async fn the_operator_signs_an_account_out_everywhere_while_the_server_runs() {
    let data = tempfile::tempdir().expect("data directory");
    let server = ServerProcess::start(data.path()).await;
    let ada = TestAccount::create(&server.client(), "ada").await;
    let bob = TestAccount::create(&server.client(), "bob").await;
    let tv = ada.sign_in("Living Room TV", DeviceType::Tv).await;
    let phone = ada.sign_in("Phone", DeviceType::Phone).await;
    let bobs_tv = bob.sign_in("Bob's TV", DeviceType::Tv).await;
    let mut tv_live = tv.live().await;

    let printed = crate::server_process::operator(
        data.path(),
        &["account", "sign-out-all", "--email", &ada.email],
    )
    .await;

    assert!(printed.contains("signed out 2 device(s)"), "{printed}");
    // The command is another process: the server learns of it from the
    // revocation log (within about a second) and tells the device.
    tv_live.expect_signed_out(SignOutReason::Admin).await;
    tv.assert_signed_out(SignOutReason::Admin).await;
    phone.assert_signed_out(SignOutReason::Admin).await;
    bobs_tv.assert_signed_in().await;
    let owner = ada.sign_in("Laptop", DeviceType::Desktop).await;
    let events = owner.history_of("signed_out").await;
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e.detail["cause"] == "operator"));
}
