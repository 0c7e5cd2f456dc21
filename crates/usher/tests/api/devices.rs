//! Signing in, the device list, renaming, and what another account may not do.

use usher_client::{Device, DeviceInfo, DeviceType, SignOutReason};

use usher_testkit::*;

fn find<'a>(devices: &'a [Device], device: &TestDevice) -> &'a Device {
    devices
        .iter()
        .find(|d| d.session_id == device.session_id())
        .unwrap_or_else(|| panic!("{} is not in {devices:?}", device.session_id()))
}

#[tokio::test]
async fn the_device_list_shows_each_device_and_which_one_is_this() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let tv = ada
        .sign_in_device(
            &DeviceInfo::new("Living Room TV", DeviceType::Tv)
                .model("Bravia XR")
                .app_version("4.2.0"),
        )
        .await;
    let phone = ada
        .sign_in_device(&DeviceInfo::new("Ada's phone", DeviceType::Phone))
        .await;
    assert!(tv.session_id().starts_with("ses_"));
    assert_ne!(tv.session_id(), phone.session_id());

    let seen_by_tv = tv.client.devices().await.expect("device list");
    assert_eq!(seen_by_tv.len(), 2);
    let listed_tv = find(&seen_by_tv, &tv);
    assert_eq!(listed_tv.name, "Living Room TV");
    assert_eq!(listed_tv.device_type, DeviceType::Tv);
    assert_eq!(listed_tv.model.as_deref(), Some("Bravia XR"));
    assert_eq!(listed_tv.app_version.as_deref(), Some("4.2.0"));
    let listed_phone = find(&seen_by_tv, &phone);
    assert_eq!(listed_phone.name, "Ada's phone");
    assert_eq!(listed_phone.device_type, DeviceType::Phone);
    assert_eq!(listed_phone.model, None);
    for device in &seen_by_tv {
        assert_eq!(device.ip.as_deref(), Some("127.0.0.1"), "{device:?}");
        assert!(device.signed_in_at <= device.last_active_at, "{device:?}");
        assert!(device.streaming.is_none(), "{device:?}");
    }
    assert!(listed_tv.current && !listed_phone.current);

    // "This device" follows the caller.
    let seen_by_phone = phone.client.devices().await.expect("device list");
    assert!(find(&seen_by_phone, &phone).current);
    assert!(!find(&seen_by_phone, &tv).current);
}

#[tokio::test]
async fn who_am_i_describes_the_calling_device() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let tv = ada.sign_in("Living Room TV", DeviceType::Tv).await;
    let current = tv.client.current_session().await.expect("who am I");
    assert_eq!(current.session_id, tv.session_id());
    assert_eq!(current.account_id, ada.id);
    assert_eq!(current.device.name, "Living Room TV");
    assert_eq!(current.device.device_type, DeviceType::Tv);
    assert_eq!(
        current.device.model.as_deref(),
        Some("Living Room TV model")
    );
}

#[tokio::test]
async fn wrong_credentials_are_refused_alike() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let wrong_password = ada
        .try_sign_in("not the password at all")
        .await
        .expect_problem(401, "invalid_credentials");
    let unknown_email = app
        .client()
        .sign_in(
            "nobody@example.com",
            PASSWORD,
            &DeviceInfo::new("Phone", DeviceType::Phone),
        )
        .await
        .expect_problem(401, "invalid_credentials");
    // The answer must not tell an attacker which accounts exist.
    assert_eq!(
        wrong_password.problem().map(|p| &p.detail),
        unknown_email.problem().map(|p| &p.detail)
    );
    app.client()
        .sign_in(
            "not an email",
            PASSWORD,
            &DeviceInfo::new("Phone", DeviceType::Phone),
        )
        .await
        .expect_problem(401, "invalid_credentials");
    ada.sign_in("TV", DeviceType::Tv).await;
}

#[tokio::test]
async fn renaming_a_device_shows_everywhere() {
    let app = TestApp::spawn().await;
    let Household { tv, phone, .. } = app.household().await;

    let renamed = phone
        .client
        .rename_device(tv.session_id(), "  Hotel TV ")
        .await
        .expect("renamed");
    assert_eq!(renamed.session_id, tv.session_id());
    assert_eq!(renamed.name, "Hotel TV");
    assert!(!renamed.current);

    let listed = phone.client.devices().await.expect("device list");
    assert_eq!(find(&listed, &tv).name, "Hotel TV");
    assert_eq!(find(&listed, &phone).name, "Ada's phone");
    let current = tv.client.current_session().await.expect("who am I");
    assert_eq!(current.device.name, "Hotel TV");
    assert_eq!(current.device.device_type, DeviceType::Tv);
}

#[tokio::test]
async fn a_device_name_must_be_sensible() {
    let app = TestApp::spawn().await;
    let tv = app.signed_in("ada").await;
    let too_long = "x".repeat(65);
    for name in ["", "   ", too_long.as_str(), "line\nbreak"] {
        tv.client
            .rename_device(tv.session_id(), name)
            .await
            .expect_problem(422, "invalid_device_name");
    }
    let longest = "é".repeat(64);
    let renamed = tv.client.rename_device(tv.session_id(), &longest).await;
    assert_eq!(renamed.expect("64 characters are fine").name, longest);
}

/// The limit is the document's `maxLength`: it counts the characters as
/// sent, the whitespace the server trims included.
#[tokio::test]
async fn a_device_name_is_measured_as_sent_before_it_is_trimmed() {
    let app = TestApp::spawn().await;
    let tv = app.signed_in("ada").await;
    let padded = format!(" {} ", "x".repeat(63));
    tv.client
        .rename_device(tv.session_id(), &padded)
        .await
        .expect_problem(422, "invalid_device_name");
    let fits = format!(" {} ", "x".repeat(62));
    let renamed = tv.client.rename_device(tv.session_id(), &fits).await;
    assert_eq!(renamed.expect("64 characters as sent").name, "x".repeat(62));
}

#[tokio::test]
async fn signing_out_this_device_by_id_counts_as_signing_itself_out() {
    let app = TestApp::spawn().await;
    let tv = app.signed_in("ada").await;
    let mut live = tv.live().await;
    tv.sign_out(&tv).await;
    live.expect_signed_out(SignOutReason::SelfSignOut).await;
    tv.assert_signed_out(SignOutReason::SelfSignOut).await;
}

#[tokio::test]
async fn another_account_cannot_see_rename_or_sign_out_your_devices() {
    let app = TestApp::spawn().await;
    let ada = app.account("ada").await;
    let ada_tv = ada.sign_in("Ada's TV", DeviceType::Tv).await;
    let ada_phone = ada.sign_in("Ada's phone", DeviceType::Phone).await;
    let mallory = app.signed_in("mallory").await;

    assert_eq!(mallory.device_list().await, session_ids(&[&mallory]));
    mallory
        .client
        .rename_device(ada_tv.session_id(), "pwned")
        .await
        .expect_problem(404, "not_found");
    mallory
        .client
        .sign_out_device(ada_tv.session_id())
        .await
        .expect_problem(404, "not_found");
    // Signing out "all devices" reaches only Mallory's own.
    let count = mallory.client.sign_out_all(true).await.expect("signed out");
    assert_eq!(count.signed_out, 1);

    let listed = ada_phone.client.devices().await.expect("device list");
    assert_eq!(listed.len(), 2);
    assert_eq!(find(&listed, &ada_tv).name, "Ada's TV");
    ada_tv.assert_signed_in().await;
}

#[tokio::test]
async fn an_unknown_or_signed_out_device_is_not_found() {
    let app = TestApp::spawn().await;
    let Household { tv, phone, .. } = app.household().await;
    phone.sign_out(&tv).await;
    phone
        .client
        .sign_out_device(tv.session_id())
        .await
        .expect_problem(404, "not_found");
    phone
        .client
        .rename_device(tv.session_id(), "Gone")
        .await
        .expect_problem(404, "not_found");
    let never_existed = "ses_0190a5b0c6e07cc3a1e0b2b6a5d1f0e9";
    phone
        .client
        .sign_out_device(never_existed)
        .await
        .expect_problem(404, "not_found");
}
