//! Creating accounts and reading the account overview.

use usher_client::{DeviceInfo, DeviceType, Method, SignOutReason};

use usher_testkit::*;

#[tokio::test]
async fn creating_an_account_answers_201_with_its_id() {
    let app = TestApp::spawn().await;
    let answer = app
        .client()
        .raw(Method::POST, "/v1/accounts")
        .json_text(format!(
            r#"{{"email":"ada@example.com","password":"{PASSWORD}"}}"#
        ))
        .send()
        .await
        .expect("an answer");
    assert_eq!(answer.status, 201, "{}", answer.text());
    let id = answer.json().expect("JSON body")["account_id"]
        .as_str()
        .expect("an account_id")
        .to_owned();
    assert!(id.starts_with("acc_"), "{id}");
}

#[tokio::test]
async fn an_email_is_taken_whatever_its_case() {
    let app = TestApp::spawn().await;
    app.account("ada").await;
    app.client()
        .create_account("  ADA@Example.COM ", PASSWORD, None)
        .await
        .expect_problem(409, "email_taken");
}

#[tokio::test]
async fn an_email_is_normalised_for_sign_in() {
    let app = TestApp::spawn().await;
    app.account("ada").await;
    let client = app.client();
    let phone = DeviceInfo::new("Phone", DeviceType::Phone);
    let tokens = client
        .sign_in(" Ada@EXAMPLE.com", PASSWORD, &phone)
        .await
        .expect("the email's case does not matter");
    let overview = TestDevice::new(&client, tokens).client.account().await;
    assert_eq!(overview.expect("overview").email, "ada@example.com");
}

#[tokio::test]
async fn invalid_accounts_are_refused_with_a_reason() {
    let app = TestApp::spawn().await;
    let client = app.client();
    for email in [
        "",
        "ada",
        "ada@",
        "@example.com",
        "ada@localhost",
        "a b@example.com",
    ] {
        client
            .create_account(email, PASSWORD, None)
            .await
            .expect_problem(422, "invalid_email");
    }
    for password in ["short", "password123", "zzzzzzzzzzzz", "GraceHopper1906!"] {
        client
            .create_account("gracehopper@example.com", password, None)
            .await
            .expect_problem(422, "weak_password");
    }
    // None of the refusals created the account.
    client
        .create_account("ada@example.com", PASSWORD, None)
        .await
        .expect("the address is still free");
}

#[tokio::test]
async fn the_overview_shows_plan_limits_and_signed_in_devices() {
    let app = TestApp::spawn_with(|config| {
        config
            .plans
            .get_mut("premium")
            .expect("a premium plan")
            .max_devices = Some(10);
    })
    .await;
    let Household { tv, phone, .. } = app.household_on("premium").await;

    let overview = tv.client.account().await.expect("overview");
    assert_eq!(overview.email, "ada@example.com");
    assert!(overview.account_id.starts_with("acc_"));
    assert_eq!(overview.plan.name, "premium");
    assert_eq!(overview.plan.max_streams, 4);
    assert_eq!(overview.plan.max_devices, Some(10));
    assert_eq!(overview.streams_in_use, 0);
    assert_eq!(overview.devices_signed_in, 2);

    tv.sign_out(&phone).await;
    let overview = tv.client.account().await.expect("overview");
    assert_eq!(overview.devices_signed_in, 1);
}

#[tokio::test]
async fn the_default_plan_is_basic_with_one_stream() {
    let app = TestApp::spawn().await;
    let tv = app.signed_in("ada").await;
    let plan = tv.client.account().await.expect("overview").plan;
    assert_eq!(
        (plan.name.as_str(), plan.max_streams, plan.max_devices),
        ("basic", 1, None)
    );
}

#[tokio::test]
async fn signing_in_beyond_the_plans_device_cap_is_refused() {
    let app = TestApp::spawn_with(|config| {
        config
            .plans
            .get_mut("basic")
            .expect("a basic plan")
            .max_devices = Some(2);
    })
    .await;
    let ada = app.account("ada").await;
    let tv = ada.sign_in("TV", DeviceType::Tv).await;
    ada.sign_in("Phone", DeviceType::Phone).await;
    ada.try_sign_in(PASSWORD)
        .await
        .expect_problem(403, "device_limit_reached");
    // Signing one out frees its place.
    tv.client.sign_out_current().await.expect("signed out");
    tv.assert_signed_out(SignOutReason::SelfSignOut).await;
    ada.assert_password_works(PASSWORD).await;
}
