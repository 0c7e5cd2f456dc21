//! Public sign-up: no plan of one's choosing, a budget per address that
//! "email taken" answers spend too, and a switch to turn it off.

use std::time::Duration;

use serde_json::json;
use usher::Config;
use usher_client::{Method, RawResponse};

use crate::server_process::{operator_with_input, ServerProcess};
use usher_testkit::*;

const BURST: u32 = 3;

/// A sign-up sent raw, from `forwarded_for` (through a trusted proxy) when given.
async fn sign_up(
    app: &TestApp,
    body: serde_json::Value,
    forwarded_for: Option<&str>,
) -> RawResponse {
    let mut request = app.client().raw(Method::POST, "/v1/accounts").no_auth();
    if let Some(address) = forwarded_for {
        request = request.header("X-Forwarded-For", address);
    }
    request
        .json(&body)
        .expect("a JSON body")
        .send()
        .await
        .expect("an answer")
}

fn account(name: &str) -> serde_json::Value {
    json!({"email": format!("{name}@example.com"), "password": PASSWORD})
}

/// A server whose sign-ups are limited to [`BURST`] per address, recovering
/// one an hour, that believes the loopback proxy's `X-Forwarded-For`.
async fn limited() -> TestApp {
    TestApp::spawn_with(|config: &mut Config| {
        config.accounts.sign_up_burst = BURST;
        config.accounts.sign_up_period_secs = 3_600;
        config.locations.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await
}

#[tokio::test]
async fn a_sign_up_cannot_choose_its_plan() {
    let app = TestApp::spawn().await;
    for plan in ["premium", "basic", "platinum"] {
        let body = json!({"email": "eve@example.com", "password": PASSWORD, "plan": plan});
        let refused = sign_up(&app, body, None).await;
        let problem = refused.expect_problem(403, "plan_not_allowed");
        assert!(
            problem
                .detail
                .is_some_and(|d| d.contains("leave `plan` out")),
            "the refusal says what to do"
        );
    }
    // Nothing was created: the address is free, and it gets the default plan.
    let eve = app.account("eve").await;
    let tv = eve.tv().await;
    let plan = tv.client.account().await.expect("the overview").plan;
    assert_eq!((plan.name.as_str(), plan.max_streams), ("basic", 1));
}

#[tokio::test]
async fn sign_ups_from_one_address_are_limited_whether_or_not_the_email_is_taken() {
    let app = limited().await;
    let ada = app.account("ada").await;
    // The burst: an email taken spends the budget as a new account does.
    assert_eq!(sign_up(&app, account("bob"), None).await.status, 201);
    sign_up(&app, account("ada"), None)
        .await
        .expect_problem(409, "email_taken");

    // Over budget, a taken email and a free one get the same answer.
    let wait = sign_up(&app, account("ada"), None)
        .await
        .expect_retry_after();
    assert_eq!(
        sign_up(&app, account("cy"), None)
            .await
            .expect_retry_after(),
        wait
    );
    // So does a weak password: nothing is read before the budget is spent.
    let weak = json!({"email": "dee@example.com", "password": "Password1!"});
    sign_up(&app, weak, None).await.expect_retry_after();
    // Signing in is another budget.
    ada.assert_password_works(PASSWORD).await;

    app.advance(Duration::from_secs(wait));
    assert_eq!(sign_up(&app, account("cy"), None).await.status, 201);
    sign_up(&app, account("dee"), None)
        .await
        .expect_retry_after();
}

#[tokio::test]
async fn an_ipv6_network_is_limited_as_one_address() {
    let app = limited().await;
    for host in 1..=BURST {
        let name = format!("v6-{host}");
        let from = format!("2001:db8:7:1::{host}");
        assert_eq!(sign_up(&app, account(&name), Some(&from)).await.status, 201);
    }
    // Another address of the same /64 is the same subscriber.
    sign_up(&app, account("v6-other"), Some("2001:db8:7:1:ffff::9"))
        .await
        .expect_retry_after();
    // The next /64, and an IPv4 client, have budgets of their own.
    let next_network = sign_up(&app, account("v6-next"), Some("2001:db8:7:2::1")).await;
    assert_eq!(next_network.status, 201);
    let ipv4 = sign_up(&app, account("v4"), Some("198.51.100.7")).await;
    assert_eq!(ipv4.status, 201);
}

#[tokio::test]
async fn public_sign_up_can_be_switched_off_while_the_operator_still_creates_accounts() {
    let data = tempfile::tempdir().expect("data directory");
    let server = ServerProcess::start_with(
        data.path(),
        &[("USHER_ACCOUNTS__PUBLIC_SIGN_UP", "false")],
        &[],
    )
    .await;
    let client = server.client();
    client
        .create_account("eve@example.com", PASSWORD, None)
        .await
        .expect_problem(403, "sign_up_disabled");

    // The operator creates accounts, on any plan, and the password policy applies.
    let create = [
        "account",
        "create",
        "--email",
        "ann@example.com",
        "--plan",
        "premium",
    ];
    let refused = operator_with_input(data.path(), &create, "Password123!\n").await;
    assert!(
        !refused.success,
        "a weak password is refused: {}",
        refused.stdout
    );
    assert!(
        refused.stderr.contains("too easy to guess"),
        "{}",
        refused.stderr
    );
    let created = operator_with_input(data.path(), &create, &format!("{PASSWORD}\n")).await;
    assert!(created.success, "{}", created.stderr);
    let ann = TestAccount::created_elsewhere(&client, "ann", created.stdout.trim());
    let tv = ann.tv().await;
    let plan = tv.client.account().await.expect("the overview").plan;
    assert_eq!(plan.name, "premium");
}
