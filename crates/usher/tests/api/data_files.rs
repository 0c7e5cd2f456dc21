//! The database is private to usher's user (finding 7 of the security
//! review): its directory 0700, the file and its WAL companions 0600, made
//! so when new and tightened (and logged) at start-up when found wider.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::server_process::ServerProcess;
use usher_testkit::*;

const FILES: [&str; 3] = ["usher.db", "usher.db-wal", "usher.db-shm"];

fn mode(path: &Path) -> u32 {
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    meta.permissions().mode() & 0o7777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn assert_private(data: &Path) {
    assert_eq!(mode(data), 0o700, "the data directory");
    for file in FILES {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
}

/// The SQLite file, whichever store the rest of the suite runs on.
#[tokio::test]
async fn a_fresh_data_directory_and_its_database_are_private() {
    let root = tempfile::tempdir().expect("a directory");
    let data = root.path().join("data");
    let app = TestApp::spawn_with(|config| {
        config.database_url = None;
        config.data_dir = data.clone();
    })
    .await;
    app.signed_in("ada").await.assert_signed_in().await;
    assert_private(&data);
}

/// A directory and files left world-readable (as the previous version
/// made them: 0755 and 0644) are tightened when the server starts.
#[tokio::test]
async fn wider_permissions_are_tightened_at_start_up_and_logged() {
    let data = tempfile::tempdir().expect("data directory");
    let sqlite = format!("sqlite://{}", data.path().join("usher.db").display());
    std::fs::write(data.path().join("database-url"), sqlite).expect("the URL is kept");
    let server = ServerProcess::start(data.path()).await;
    let ada = TestAccount::create(&server.client(), "ada").await;
    let tv = ada
        .sign_in("Living Room TV", usher_client::DeviceType::Tv)
        .await;
    server.kill().await;
    chmod(data.path(), 0o755);
    for file in FILES {
        chmod(&data.path().join(file), 0o644);
    }

    let server = ServerProcess::start(data.path()).await;
    assert_private(data.path());
    let log = server.log();
    assert!(
        log.contains("tightened the permissions of the database"),
        "{log}"
    );
    tv.on(&server.client()).assert_signed_in().await;
}
