//! Embedded migrations, recorded the way sqlx recorded them.
//!
//! Databases made by earlier versions were migrated by sqlx, which keeps the
//! applied versions in `_sqlx_migrations` with a SHA-384 checksum of each
//! file's SQL. This runner keeps that table (old files open, new files look
//! the same): it applies only the missing versions, each in one transaction
//! with its row, and refuses to start when an applied migration was changed,
//! is missing here, or failed halfway, as sqlx did.

use std::time::Instant;

use anyhow::{bail, Context};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use sha2::{Digest, Sha384};

/// One migration file: `{version}_{description}.sql`.
pub(super) struct Migration {
    pub version: i64,
    /// The file name's description, underscores as spaces (as sqlx wrote it).
    pub description: &'static str,
    pub sql: &'static str,
}

macro_rules! migration {
    ($version:literal, $description:literal, $file:literal) => {
        Migration {
            version: $version,
            description: $description,
            sql: include_str!(concat!("../../../migrations/sqlite/", $file)),
        }
    };
}

/// Every migration, in order (`crates/usher/migrations/sqlite/`).
pub(super) const MIGRATIONS: &[Migration] = &[
    migration!(1, "core", "0001_core.sql"),
    migration!(2, "streams", "0002_streams.sql"),
    migration!(3, "browser sessions", "0003_browser_sessions.sql"),
    migration!(4, "activity", "0004_activity.sql"),
    migration!(5, "profiles", "0005_profiles.sql"),
    migration!(6, "revocation streams", "0006_revocation_streams.sql"),
    migration!(7, "device proofs", "0007_device_proofs.sql"),
    migration!(9, "signing key lifecycle", "0009_signing_key_lifecycle.sql"),
    migration!(10, "web keys", "0010_web_keys.sql"),
];

impl Migration {
    /// What sqlx stored as the checksum: SHA-384 of the file's text.
    pub(super) fn checksum(&self) -> Vec<u8> {
        Sha384::digest(self.sql.as_bytes()).to_vec()
    }
}

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN NOT NULL,
    checksum BLOB NOT NULL,
    execution_time BIGINT NOT NULL
)";

/// Brings the schema up to date. Each missing migration runs in its own
/// `IMMEDIATE` transaction, which re-reads whether it is applied: two
/// processes starting on one file apply it once.
pub(super) fn run(conn: &mut Connection) -> anyhow::Result<()> {
    conn.execute_batch(CREATE_TABLE)?;
    check_applied(conn)?;
    for migration in MIGRATIONS {
        let started = Instant::now();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let applied: Option<i64> = tx
            .query_row(
                "SELECT version FROM _sqlx_migrations WHERE version = ?1",
                [migration.version],
                |row| row.get(0),
            )
            .optional()?;
        if applied.is_some() {
            continue;
        }
        tx.execute_batch(migration.sql).with_context(|| {
            format!(
                "migration {} ({}) failed",
                migration.version, migration.description
            )
        })?;
        tx.execute(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (?1, ?2, TRUE, ?3, ?4)",
            (
                migration.version,
                migration.description,
                migration.checksum(),
                i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX),
            ),
        )?;
        tx.commit()?;
        tracing::info!(
            version = migration.version,
            description = migration.description,
            "applied migration"
        );
    }
    Ok(())
}

/// Refuses a database whose applied migrations are not this binary's.
fn check_applied(conn: &Connection) -> anyhow::Result<()> {
    let mut stmt =
        conn.prepare("SELECT version, success, checksum FROM _sqlx_migrations ORDER BY version")?;
    let applied = stmt
        .query_map([], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, bool>(1)?,
                row.get::<_, Vec<u8>>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    for (version, success, checksum) in applied {
        if !success {
            bail!(
                "migration {version} is partially applied; fix and remove it from _sqlx_migrations"
            );
        }
        let Some(known) = MIGRATIONS.iter().find(|m| m.version == version) else {
            bail!("migration {version} was previously applied but is missing in the resolved migrations");
        };
        if known.checksum() != checksum {
            bail!("migration {version} was previously applied but has been modified");
        }
    }
    Ok(())
}

#[cfg(test)]
pub(super) mod tests;
