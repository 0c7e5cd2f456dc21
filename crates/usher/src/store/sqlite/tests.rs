use super::*;
use crate::domain::{AccountId, Email, PlanName};

fn account() -> AccountRecord {
    AccountRecord {
        id: AccountId::new(),
        email: Email::parse("ada@example.com").unwrap(),
        password_hash: "x".into(),
        plan: PlanName("standard".into()),
        created_at: 1,
    }
}

#[test]
fn the_url_names_the_file_and_its_durability() {
    let (path, sync) = sqlite_target("sqlite://data/usher.db?synchronous=full").unwrap();
    assert_eq!(path, "data/usher.db");
    assert!(matches!(sync, Synchronous::Full));
    let (path, sync) = sqlite_target("sqlite:usher.db").unwrap();
    assert_eq!(path, "usher.db");
    assert!(matches!(sync, Synchronous::Normal));
    assert!(sqlite_target("sqlite://").is_err());
    assert!(sqlite_target("sqlite://u.db?cache=shared").is_err());
}

/// The data directory is created, the schema migrated, and a write is
/// visible to the next read (on another connection).
#[tokio::test]
async fn a_new_file_opens_in_a_new_directory_and_reads_its_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new/dir/usher.db");
    let store = SqliteStore::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    store.ping().await.unwrap();
    let a = account();
    store.create_account(&a).await.unwrap();
    let found = store.account_by_email(&a.email).await.unwrap().unwrap();
    assert_eq!(found.id, a.id);
    assert_eq!(store.profiles(a.id).await.unwrap().profiles.len(), 1);
}

#[tokio::test]
async fn a_taken_email_is_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("usher.db").display());
    let store = SqliteStore::open(&url).await.unwrap();
    store.create_account(&account()).await.unwrap();
    let again = store.create_account(&account()).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
}

#[test]
fn a_busy_database_is_unavailable() {
    let busy =
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY), None);
    assert!(matches!(StoreError::from(busy), StoreError::Unavailable(_)));
    let cannot_open = rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
        None,
    );
    assert!(matches!(
        StoreError::from(cannot_open),
        StoreError::Unavailable(_)
    ));
}

/// A file the previous version made (four migrations applied by sqlx)
/// opens through the store, is migrated, and its rows read as before.
#[tokio::test]
async fn a_database_made_by_the_previous_version_opens() {
    use super::migrate::tests::{old_database, OLD_ACCOUNT, OLD_SESSION};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usher.db").display().to_string();
    drop(old_database(&path, 4));
    let store = SqliteStore::open(&format!("sqlite://{path}"))
        .await
        .unwrap();
    let account = store.account(OLD_ACCOUNT.parse().unwrap()).await.unwrap();
    assert_eq!(account.unwrap().email.as_str(), "ada@example.com");
    let session = store.session(OLD_SESSION.parse().unwrap()).await.unwrap();
    let profiles = store.profiles(OLD_ACCOUNT.parse().unwrap()).await.unwrap();
    assert_eq!(profiles.profiles.len(), 1);
    assert_eq!(
        session.unwrap().profile.map(|p| p.id),
        Some(profiles.profiles[0].id)
    );
}
