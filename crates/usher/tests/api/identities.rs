//! One mailbox, one account: emails are normalised once, at the edge (IDNA
//! A-label domains, NFKC-casefolded local parts, confusables refused), and
//! stored emails from before are re-checked at start-up.

use usher::domain::Email;
use usher_client::{Account, Client, DeviceInfo, DeviceType};

use crate::server_process::{database_url_of, operator, ServerProcess};
use usher_testkit::*;

/// The overview of the account `email` signs in to.
async fn overview_of(client: &Client, email: &str) -> Account {
    let phone = DeviceInfo::new("Phone", DeviceType::Phone);
    let tokens = client
        .sign_in(email, PASSWORD, &phone)
        .await
        .unwrap_or_else(|e| panic!("{email:?} signs in: {e}"));
    let device = TestDevice::new(client, tokens);
    device.client.account().await.expect("the overview")
}

/// The id of the account `email` signs in to.
async fn account_of(client: &Client, email: &str) -> String {
    overview_of(client, email).await.account_id
}

#[tokio::test]
async fn every_spelling_of_an_address_is_one_account() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let ann = app.account("ann").await;
    // Fullwidth letters, a fullwidth at sign, upper case: the same mailbox.
    for spelling in ["ann@ｅxample.com", "ａｎｎ@example.com", "ANN＠EXAMPLE.COM"] {
        client
            .create_account(spelling, PASSWORD, None)
            .await
            .expect_problem(409, "email_taken");
        assert_eq!(account_of(&client, spelling).await, ann.id, "{spelling:?}");
    }

    // A domain and its punycode form are one domain.
    let umlaut = client
        .create_account("ann@exämple.com", PASSWORD, None)
        .await
        .expect("another domain is another mailbox");
    client
        .create_account("ann@xn--exmple-cua.com", PASSWORD, None)
        .await
        .expect_problem(409, "email_taken");
    assert_eq!(
        account_of(&client, "ANN@XN--EXMPLE-CUA.COM").await,
        umlaut.account_id
    );
    // The account shows the address as stored: the domain's A-label.
    let overview = overview_of(&client, "ann@exämple.com").await;
    assert_eq!(
        (overview.account_id, overview.email.as_str()),
        (umlaut.account_id, "ann@xn--exmple-cua.com")
    );
}

#[tokio::test]
async fn an_address_that_mixes_scripts_is_refused_with_the_reason() {
    let app = TestApp::spawn().await;
    let client = app.client();
    app.account("ann").await;
    // A Cyrillic а (U+0430) before Latin "nn"; a Cyrillic е in the domain.
    for spoof in ["аnn@example.com", "ann@еxample.com"] {
        let refused = client
            .create_account(spoof, PASSWORD, None)
            .await
            .expect_problem(422, "invalid_email");
        let detail = refused.problem().and_then(|p| p.detail.clone());
        assert!(
            detail.is_some_and(|d| d.contains("mixes letters of different scripts")),
            "{refused}"
        );
        // Nor does it sign in to the account it imitates.
        client
            .sign_in(
                spoof,
                PASSWORD,
                &DeviceInfo::new("Phone", DeviceType::Phone),
            )
            .await
            .expect_problem(401, "invalid_credentials");
    }
    // An address in one script is welcome.
    client
        .create_account("анна@example.com", PASSWORD, None)
        .await
        .expect("a Cyrillic address");
}

#[tokio::test]
async fn stored_emails_are_rewritten_to_their_normal_form_unless_they_collide() {
    let data = tempfile::tempdir().expect("data directory");
    let server = ServerProcess::start(data.path()).await;
    let client = server.client();
    let ann = TestAccount::create(&client, "ann").await;
    let mut legacy = Vec::new();
    for name in ["bob", "fake-ann", "spoof", "cy-1", "cy-2"] {
        legacy.push(TestAccount::create(&client, &format!("legacy-{name}")).await);
    }
    let [bob, fake_ann, spoof, cy_1, cy_2] =
        <[TestAccount; 5]>::try_from(legacy).expect("five accounts");
    // As an earlier version stored them: trimmed and lower-cased only.
    let store = usher::store::open(&database_url_of(data.path()).await)
        .await
        .expect("the store opens");
    for (account, legacy) in [
        (&bob, "bob@exämple.com"),
        (&fake_ann, "ann@ｅxample.com"),
        (&spoof, "аnn@example.com"),
        (&cy_1, "cy@ｅxample.com"),
        (&cy_2, "ｃy@example.com"),
    ] {
        let rewritten = store
            .rewrite_email(
                account.id.parse().expect("an account id"),
                &Email::parse(&account.email).expect("an address"),
                &Email::from_stored(legacy.to_owned()),
            )
            .await
            .expect("the legacy row is written");
        assert!(rewritten, "{legacy}");
    }

    let first = operator(data.path(), &["migrate"]).await;
    let lines: Vec<&str> = first.lines().collect();
    let rewrote = format!(
        "rewrote bob@exämple.com to bob@xn--exmple-cua.com ({})",
        bob.id
    );
    assert!(lines.contains(&rewrote.as_str()), "{first}");
    let report = |printed: &str| {
        let collision_with_ann = format!(
            "collision: ann@example.com held by {}; also stored as ann@ｅxample.com ({})",
            ann.id, fake_ann.id
        );
        assert!(
            printed.lines().any(|l| l == collision_with_ann),
            "{printed}"
        );
        let cy = printed
            .lines()
            .find(|l| {
                l.starts_with("collision: cy@example.com held by no account; also stored as ")
            })
            .unwrap_or_else(|| panic!("the two cy accounts collide: {printed}"));
        assert!(cy.contains(&cy_1.id) && cy.contains(&cy_2.id), "{cy}");
        let refused = format!(
            "refused: аnn@example.com ({}): the email address mixes",
            spoof.id
        );
        assert!(
            printed.lines().any(|l| l.starts_with(&refused)),
            "{printed}"
        );
    };
    report(&first);

    // Idempotent: nothing more to rewrite, the same collisions left.
    let second = operator(data.path(), &["migrate"]).await;
    assert!(!second.contains("rewrote"), "{second}");
    report(&second);
    report(&operator(data.path(), &["account", "collisions"]).await);

    // Nothing merged: bob signs in under the normal form, ann is still ann.
    assert_eq!(account_of(&client, "bob@exämple.com").await, bob.id);
    assert_eq!(account_of(&client, "ann@example.com").await, ann.id);

    // A server starting on this database re-checks, and warns of each
    // collision by account id.
    server.kill().await;
    let restarted = ServerProcess::start(data.path()).await;
    assert_eq!(
        account_of(&restarted.client(), "ann@ｅxample.com").await,
        ann.id
    );
    let log = restarted.log();
    let warning = log
        .lines()
        .find(|l| l.contains("one address once normalised") && l.contains(&fake_ann.id))
        .unwrap_or_else(|| panic!("a warning names the colliding accounts:\n{log}"));
    assert!(warning.contains(&ann.id), "{warning}");
}
