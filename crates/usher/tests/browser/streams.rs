//! The overview: streams in use, and stopping one remotely.

use usher_client::StreamStopReason;

use usher_testkit::browser::Browser;
use usher_testkit::TestApp;

fn stream_row(stream_id: &str) -> String {
    format!(r#"ul#streams li.stream[data-stream-id="{stream_id}"]"#)
}

#[tokio::test]
async fn stopping_a_stream_from_the_overview_tells_the_tv_and_frees_the_slot() {
    let app = TestApp::spawn().await;
    let account = app.account("alex").await;
    let tv = account.tv().await;
    let mut tv_live = tv.live().await;
    let limit = tv
        .client
        .account()
        .await
        .expect("the account")
        .plan
        .max_streams;
    let browser = Browser::signed_in(&app, &account).await;
    browser.click(r#"nav a[href="/account"]"#).await;
    browser.wait_for("#streams-in-use").await;
    assert!(browser
        .text("#account-email")
        .await
        .contains(&account.email));
    assert!(
        !browser.text("#plan-name").await.trim().is_empty(),
        "the plan is named"
    );
    browser
        .wait_for_text("#streams-in-use", "none in use", |t| {
            t.contains(&format!("0 of {limit}"))
        })
        .await;
    browser.wait_live().await;
    browser.mark_document().await;

    let lease = tv.play("Dune").await;

    let row = stream_row(&lease.stream_id);
    browser
        .wait_for_text(&format!("{row} .stream-title"), "Dune", |t| {
            t.contains("Dune")
        })
        .await;
    assert!(
        browser.same_document().await,
        "the overview updated in place"
    );
    assert!(
        browser
            .text(&format!("{row} .stream-device"))
            .await
            .contains("Living Room TV"),
        "the stream says which device plays it"
    );
    browser
        .wait_for_text("#streams-in-use", "one in use", |t| {
            t.contains(&format!("1 of {limit}"))
        })
        .await;

    browser.click(&format!("{row} form.stop-form button")).await;

    tv_live
        .expect_stream_stopped(&lease.stream_id, StreamStopReason::Remote)
        .await;
    browser.wait_gone(&row).await;
    browser.wait_gone("ul#streams li.stream").await;
    browser
        .wait_for_text("#streams-in-use", "none in use", |t| {
            t.contains(&format!("0 of {limit}"))
        })
        .await;
    assert!(tv.client.streams().await.expect("the streams").is_empty());
    tv.assert_signed_in().await;
    browser.close().await;
}
