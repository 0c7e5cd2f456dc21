use super::*;

/// The account and device [`old_database`] holds.
pub(in crate::store::sqlite) const OLD_ACCOUNT: &str = "acc_0123456789abcdef0123456789abcdef";
pub(in crate::store::sqlite) const OLD_SESSION: &str = "ses_0123456789abcdef0123456789abcdef";

/// A file as the previous version (sqlx's migrator) left it after the
/// first `applied` migrations, with an account and a signed-in device.
pub(in crate::store::sqlite) fn old_database(path: &str, applied: usize) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL").unwrap();
    conn.execute_batch(CREATE_TABLE).unwrap();
    for m in &MIGRATIONS[..applied] {
        conn.execute_batch(m.sql).unwrap();
        conn.execute(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (?1, ?2, TRUE, ?3, -1)",
            (m.version, m.description, m.checksum()),
        )
        .unwrap();
    }
    conn.execute(
        "INSERT INTO accounts (id, email, password_hash, plan, created_at) \
         VALUES (?1, 'ada@example.com', 'x', 'standard', 1)",
        [OLD_ACCOUNT],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO sessions (id, account_id, device_name, device_type, created_at, last_active_at) \
         VALUES (?1, ?2, 'TV', 'tv', 1, 1)",
        [OLD_SESSION, OLD_ACCOUNT],
    )
    .unwrap();
    conn
}

fn versions(conn: &Connection) -> Vec<(i64, String, bool)> {
    let mut stmt = conn
        .prepare("SELECT version, description, success FROM _sqlx_migrations ORDER BY version")
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap();
    rows.map(Result::unwrap).collect()
}

#[test]
fn migrations_are_the_files_in_order() {
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .unwrap()
        .count();
    assert_eq!(files, MIGRATIONS.len(), "a migration file is not embedded");
    // In order; numbers may be skipped (each change is given its own).
    assert!(MIGRATIONS.windows(2).all(|w| w[0].version < w[1].version));
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"));
    for m in MIGRATIONS {
        let file = format!("{:04}_{}.sql", m.version, m.description.replace(' ', "_"));
        assert!(
            dir.join(&file).exists(),
            "migration {} is not {file}",
            m.version
        );
    }
    assert_eq!(MIGRATIONS[0].version, 1);
}

/// A database made by the previous version (four migrations applied by
/// sqlx) opens: only the missing versions run, recorded as sqlx recorded
/// them, and the old rows are migrated.
#[test]
fn a_database_migrated_by_sqlx_is_brought_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usher.db").display().to_string();
    let mut conn = old_database(&path, 4);
    run(&mut conn).unwrap();
    let applied = versions(&conn);
    let expected: Vec<_> = MIGRATIONS
        .iter()
        .map(|m| (m.version, m.description.to_owned(), true))
        .collect();
    assert_eq!(applied, expected);
    // The old rows went through 0005: the account has its default profile
    // and the signed-in device is on it.
    let (profile, on): (String, Option<String>) = conn
        .query_row(
            "SELECT p.id, s.profile_id FROM profiles p, sessions s \
             WHERE p.account_id = ?1 AND p.is_default = 1 AND s.id = ?2",
            [OLD_ACCOUNT, OLD_SESSION],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(Some(profile), on);
    // A second start applies nothing.
    run(&mut conn).unwrap();
    assert_eq!(versions(&conn), expected);
}

/// Before 0009 the newest key signed: each older one stopped when the
/// next was added, and is retired from then.
#[test]
fn older_signing_keys_are_retired_from_when_the_next_one_came() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usher.db").display().to_string();
    let before = MIGRATIONS.iter().position(|m| m.version == 9).unwrap();
    let mut conn = old_database(&path, before);
    for (kid, at) in [("k1", 10), ("k2", 20), ("k3", 30)] {
        conn.execute(
            "INSERT INTO signing_keys (kid, private_der, created_at) VALUES (?1, x'00', ?2)",
            (kid, at),
        )
        .unwrap();
    }
    run(&mut conn).unwrap();
    let mut stmt = conn
        .prepare("SELECT kid, retired_at FROM signing_keys ORDER BY created_at")
        .unwrap();
    let keys: Vec<(String, Option<i64>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let expected = [("k1", Some(20)), ("k2", Some(30)), ("k3", None)];
    let expected: Vec<_> = expected.map(|(k, at)| (k.to_owned(), at)).into();
    assert_eq!(keys, expected);
}

#[test]
fn an_applied_migration_that_was_changed_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usher.db").display().to_string();
    let mut conn = old_database(&path, 2);
    conn.execute(
        "UPDATE _sqlx_migrations SET checksum = x'00' WHERE version = 2",
        [],
    )
    .unwrap();
    let error = run(&mut conn).unwrap_err().to_string();
    assert!(
        error.contains("migration 2") && error.contains("modified"),
        "{error}"
    );
    // Nothing was applied past the refusal.
    assert_eq!(versions(&conn).len(), 2);
}

#[test]
fn an_applied_migration_this_binary_does_not_know_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usher.db").display().to_string();
    let mut conn = old_database(&path, MIGRATIONS.len());
    conn.execute(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99, 'from the future', TRUE, x'00', 1)",
        [],
    )
    .unwrap();
    let error = run(&mut conn).unwrap_err().to_string();
    assert!(
        error.contains("migration 99") && error.contains("missing"),
        "{error}"
    );
}

#[test]
fn a_partially_applied_migration_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usher.db").display().to_string();
    let mut conn = old_database(&path, 3);
    conn.execute(
        "UPDATE _sqlx_migrations SET success = FALSE WHERE version = 3",
        [],
    )
    .unwrap();
    let error = run(&mut conn).unwrap_err().to_string();
    assert!(error.contains("partially applied"), "{error}");
}
