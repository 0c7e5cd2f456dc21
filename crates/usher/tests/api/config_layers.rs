//! Configuration as an operator gives it to the binary: defaults, then a
//! TOML file, then `USHER_` variables (`__` between nested keys), then flags.

use usher_client::{Client, DeviceType};

use crate::server_process::ServerProcess;
use usher_testkit::*;

/// What a fresh account on the default plan sees of two settings.
async fn token_lifetime_and_streams(server: &Client) -> (u64, u32) {
    let ada = TestAccount::create(server, "ada").await;
    let tv = ada.sign_in("TV", DeviceType::Tv).await;
    let plan = tv.client.account().await.expect("overview").plan;
    (tv.tokens.expires_in, plan.max_streams)
}

#[tokio::test]
async fn environment_variables_set_nested_settings() {
    let data = tempfile::tempdir().expect("data directory");
    let env = [
        ("USHER_TOKENS__ACCESS_TTL_SECS", "120"),
        ("USHER_PLANS__BASIC__MAX_STREAMS", "3"),
    ];
    let server = ServerProcess::start_with(data.path(), &env, &[]).await;
    assert_eq!(token_lifetime_and_streams(&server.client()).await, (120, 3));
}

#[tokio::test]
async fn flags_beat_variables_which_beat_the_file() {
    let data = tempfile::tempdir().expect("data directory");
    let file = data.path().join("usher.toml");
    // An address no machine running this test has: only the flag can win.
    let file_text = r#"
        listen = "192.0.2.1:8080"
        [tokens]
        access_ttl_secs = 300
        [plans.basic]
        max_streams = 2
    "#;
    std::fs::write(&file, file_text).expect("config file written");
    let file = file.to_str().expect("a UTF-8 path");
    let env = [
        ("USHER_LISTEN", "192.0.2.1:8081"),
        ("USHER_TOKENS__ACCESS_TTL_SECS", "120"),
    ];
    let server = ServerProcess::start_with(data.path(), &env, &["--config", file]).await;
    // The token lifetime comes from the variable, the stream limit from the file.
    assert_eq!(token_lifetime_and_streams(&server.client()).await, (120, 2));
}

#[tokio::test]
async fn the_binarys_own_variables_are_not_taken_for_settings() {
    let data = tempfile::tempdir().expect("data directory");
    let file = data.path().join("usher.toml");
    std::fs::write(&file, "[tokens]\naccess_ttl_secs = 300\n").expect("config file written");
    let file = file.to_str().expect("a UTF-8 path");
    // The config file and log format (see `usher --help`) and the log filter.
    let env = [
        ("USHER_CONFIG", file),
        ("USHER_LOG_FORMAT", "json"),
        ("USHER_LOG", "info"),
    ];
    let server = ServerProcess::start_with(data.path(), &env, &[]).await;
    assert_eq!(token_lifetime_and_streams(&server.client()).await, (300, 1));
}
