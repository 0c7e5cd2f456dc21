//! The embedded store: one SQLite file in WAL mode.
//!
//! Writes go through a single connection (SQLite has one writer anyway; one
//! connection avoids `SQLITE_BUSY` retries and makes every write transaction
//! serial, which later gives stream admission its exactness). Reads use a
//! small pool of their own so they never queue behind writes.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};

use super::*;
use crate::domain::DeviceType;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    path: String,
}

fn classify(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
            StoreError::Unavailable(e.into())
        }
        _ => StoreError::Other(e.into()),
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Other(anyhow::anyhow!("corrupt row: {what}"))
}

const SESSION_COLUMNS: &str =
    "id, account_id, device_name, device_type, device_model, app_version, \
     created_at, last_active_at, last_ip, revoked_at, revoked_reason";

fn session_from_row(row: &SqliteRow) -> StoreResult<SessionRecord> {
    let text = |col: &str| -> StoreResult<String> { row.try_get(col).map_err(classify) };
    let kind = DeviceType::from_str(&text("device_type")?).map_err(|_| corrupt("device_type"))?;
    let device = DeviceInfo::parse(
        &text("device_name")?,
        kind,
        row.try_get::<Option<String>, _>("device_model")
            .map_err(classify)?
            .as_deref(),
        row.try_get::<Option<String>, _>("app_version")
            .map_err(classify)?
            .as_deref(),
    )
    .map_err(|_| corrupt("device"))?;
    let revoked_at: Option<i64> = row.try_get("revoked_at").map_err(classify)?;
    let revoked = match revoked_at {
        None => None,
        Some(at) => {
            let reason: String = text("revoked_reason")?;
            Some(Revocation {
                reason: reason.parse().map_err(|_| corrupt("revoked_reason"))?,
                at,
            })
        }
    };
    Ok(SessionRecord {
        id: text("id")?.parse().map_err(|_| corrupt("session id"))?,
        account_id: text("account_id")?
            .parse()
            .map_err(|_| corrupt("account id"))?,
        device,
        created_at: row.try_get("created_at").map_err(classify)?,
        last_active_at: row.try_get("last_active_at").map_err(classify)?,
        last_ip: row
            .try_get::<Option<String>, _>("last_ip")
            .map_err(classify)?
            .and_then(|ip| ip.parse().ok()),
        revoked,
    })
}

fn account_from_row(row: &SqliteRow) -> StoreResult<AccountRecord> {
    let email: String = row.try_get("email").map_err(classify)?;
    let id: String = row.try_get("id").map_err(classify)?;
    Ok(AccountRecord {
        id: id.parse().map_err(|_| corrupt("account id"))?,
        email: Email::parse(&email).map_err(|_| corrupt("email"))?,
        password_hash: row.try_get("password_hash").map_err(classify)?,
        plan: PlanName(row.try_get("plan").map_err(classify)?),
        created_at: row.try_get("created_at").map_err(classify)?,
    })
}

fn revoked_from_row(row: &SqliteRow) -> StoreResult<RevokedSession> {
    let sid: String = row.try_get("session_id").map_err(classify)?;
    let aid: String = row.try_get("account_id").map_err(classify)?;
    let reason: String = row.try_get("reason").map_err(classify)?;
    Ok(RevokedSession {
        seq: row.try_get("seq").map_err(classify)?,
        session_id: sid.parse().map_err(|_| corrupt("session id"))?,
        account_id: aid.parse().map_err(|_| corrupt("account id"))?,
        reason: reason.parse().map_err(|_| corrupt("reason"))?,
        at: row.try_get("at").map_err(classify)?,
    })
}

/// Marks one session revoked and appends it to the revocation log, inside `tx`.
async fn revoke_in(
    tx: &mut Transaction<'_, Sqlite>,
    account: AccountId,
    id: SessionId,
    reason: SignOutReason,
    now: Millis,
) -> StoreResult<Option<RevokedSession>> {
    let updated = sqlx::query(
        "UPDATE sessions SET revoked_at = ?1, revoked_reason = ?2 \
         WHERE id = ?3 AND account_id = ?4 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(reason.as_str())
    .bind(id.to_string())
    .bind(account.to_string())
    .execute(&mut **tx)
    .await
    .map_err(classify)?;
    if updated.rows_affected() == 0 {
        return Ok(None);
    }
    let row = sqlx::query(
        "INSERT INTO revocations (session_id, account_id, reason, at) VALUES (?1, ?2, ?3, ?4) \
         RETURNING seq, session_id, account_id, reason, at",
    )
    .bind(id.to_string())
    .bind(account.to_string())
    .bind(reason.as_str())
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .map_err(classify)?;
    revoked_from_row(&row).map(Some)
}

/// Revokes every active session of `account` except `keep`, inside `tx`.
async fn revoke_all_in(
    tx: &mut Transaction<'_, Sqlite>,
    account: AccountId,
    keep: Option<SessionId>,
    reason: SignOutReason,
    now: Millis,
) -> StoreResult<Vec<RevokedSession>> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM sessions WHERE account_id = ?1 AND revoked_at IS NULL AND id != ?2",
    )
    .bind(account.to_string())
    .bind(keep.map(|k| k.to_string()).unwrap_or_default())
    .fetch_all(&mut **tx)
    .await
    .map_err(classify)?;
    let mut revoked = Vec::with_capacity(ids.len());
    for id in ids {
        let id = id.parse().map_err(|_| corrupt("session id"))?;
        revoked.extend(revoke_in(tx, account, id, reason, now).await?);
    }
    Ok(revoked)
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and runs migrations.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // In WAL mode NORMAL keeps every committed transaction across a
            // process crash (kill -9); only an OS crash or power loss can lose
            // the last ones. Set `?synchronous=full` in the URL to cover those too.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        if let Some(dir) = options.get_filename().parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)?;
            }
        }
        let path = options.get_filename().display().to_string();
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self {
            writer,
            reader,
            path,
        })
    }

    async fn begin(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.writer.begin().await.map_err(classify)
    }
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_account(&self, a: &AccountRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO accounts (id, email, password_hash, plan, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(a.id.to_string())
        .bind(a.email.as_str())
        .bind(&a.password_hash)
        .bind(a.plan.as_str())
        .bind(a.created_at)
        .execute(&self.writer)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn account(&self, id: AccountId) -> StoreResult<Option<AccountRecord>> {
        sqlx::query("SELECT * FROM accounts WHERE id = ?1")
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await
            .map_err(classify)?
            .map(|r| account_from_row(&r))
            .transpose()
    }

    async fn account_by_email(&self, email: &Email) -> StoreResult<Option<AccountRecord>> {
        sqlx::query("SELECT * FROM accounts WHERE email = ?1")
            .bind(email.as_str())
            .fetch_optional(&self.reader)
            .await
            .map_err(classify)?
            .map(|r| account_from_row(&r))
            .transpose()
    }

    async fn set_plan(&self, id: AccountId, plan: &PlanName) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE accounts SET plan = ?1 WHERE id = ?2")
            .bind(plan.as_str())
            .bind(id.to_string())
            .execute(&self.writer)
            .await
            .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }

    async fn change_password(
        &self,
        id: AccountId,
        new_hash: &str,
        revoke: bool,
        now: Millis,
    ) -> StoreResult<Vec<RevokedSession>> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE accounts SET password_hash = ?1 WHERE id = ?2")
            .bind(new_hash)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        let revoked = if revoke {
            revoke_all_in(&mut tx, id, None, SignOutReason::PasswordChanged, now).await?
        } else {
            Vec::new()
        };
        tx.commit().await.map_err(classify)?;
        Ok(revoked)
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(&self, s: &NewSession) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO sessions (id, account_id, device_name, device_type, device_model, \
             app_version, created_at, last_active_at, last_ip) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)",
        )
        .bind(s.id.to_string())
        .bind(s.account_id.to_string())
        .bind(s.device.name.as_str())
        .bind(s.device.kind.as_str())
        .bind(s.device.model.as_deref())
        .bind(s.device.app_version.as_deref())
        .bind(s.now)
        .bind(s.ip.map(|ip| ip.to_string()))
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (?1, ?2, ?3)",
        )
        .bind(&s.refresh_hash)
        .bind(s.id.to_string())
        .bind(s.now)
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
        tx.commit().await.map_err(classify)
    }

    async fn session(&self, id: SessionId) -> StoreResult<Option<SessionRecord>> {
        sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.reader)
        .await
        .map_err(classify)?
        .map(|r| session_from_row(&r))
        .transpose()
    }

    async fn active_sessions(&self, account: AccountId) -> StoreResult<Vec<SessionRecord>> {
        sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE account_id = ?1 AND revoked_at IS NULL \
             ORDER BY created_at, id"
        ))
        .bind(account.to_string())
        .fetch_all(&self.reader)
        .await
        .map_err(classify)?
        .iter()
        .map(session_from_row)
        .collect()
    }

    async fn count_active_sessions(&self, account: AccountId) -> StoreResult<u32> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sessions WHERE account_id = ?1 AND revoked_at IS NULL",
        )
        .bind(account.to_string())
        .fetch_one(&self.reader)
        .await
        .map_err(classify)?;
        Ok(n as u32)
    }

    async fn rename_session(
        &self,
        account: AccountId,
        id: SessionId,
        name: &DeviceName,
    ) -> StoreResult<Option<SessionRecord>> {
        sqlx::query(&format!(
            "UPDATE sessions SET device_name = ?1 \
             WHERE id = ?2 AND account_id = ?3 AND revoked_at IS NULL RETURNING {SESSION_COLUMNS}"
        ))
        .bind(name.as_str())
        .bind(id.to_string())
        .bind(account.to_string())
        .fetch_optional(&self.writer)
        .await
        .map_err(classify)?
        .map(|r| session_from_row(&r))
        .transpose()
    }

    async fn revoke_session(
        &self,
        account: AccountId,
        id: SessionId,
        reason: SignOutReason,
        now: Millis,
    ) -> StoreResult<Option<RevokedSession>> {
        let mut tx = self.begin().await?;
        let revoked = revoke_in(&mut tx, account, id, reason, now).await?;
        tx.commit().await.map_err(classify)?;
        Ok(revoked)
    }

    async fn revoke_account_sessions(
        &self,
        account: AccountId,
        keep: Option<SessionId>,
        reason: SignOutReason,
        now: Millis,
    ) -> StoreResult<Vec<RevokedSession>> {
        let mut tx = self.begin().await?;
        let revoked = revoke_all_in(&mut tx, account, keep, reason, now).await?;
        tx.commit().await.map_err(classify)?;
        Ok(revoked)
    }

    async fn rotate_refresh(
        &self,
        presented_hash: &str,
        new_hash: &str,
        now: Millis,
    ) -> StoreResult<RefreshOutcome> {
        // One transaction on the single writer connection: two racing
        // refreshes of the same token are serialised, and the loser sees the
        // token as rotated (reuse), exactly as a thief's replay would.
        let mut tx = self.begin().await?;
        let found =
            sqlx::query("SELECT session_id, rotated_at FROM refresh_tokens WHERE token_hash = ?1")
                .bind(presented_hash)
                .fetch_optional(&mut *tx)
                .await
                .map_err(classify)?;
        let Some(found) = found else {
            return Ok(RefreshOutcome::Unknown);
        };
        let sid: String = found.try_get("session_id").map_err(classify)?;
        let rotated_at: Option<i64> = found.try_get("rotated_at").map_err(classify)?;
        let row = sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1"
        ))
        .bind(&sid)
        .fetch_one(&mut *tx)
        .await
        .map_err(classify)?;
        let session = session_from_row(&row)?;
        if session.revoked.is_some() {
            return Ok(RefreshOutcome::Revoked(session));
        }
        if rotated_at.is_some() {
            let revoked = revoke_in(
                &mut tx,
                session.account_id,
                session.id,
                SignOutReason::TokenReused,
                now,
            )
            .await?
            .ok_or_else(|| corrupt("session vanished during reuse revocation"))?;
            tx.commit().await.map_err(classify)?;
            return Ok(RefreshOutcome::Reused(revoked));
        }
        sqlx::query("UPDATE refresh_tokens SET rotated_at = ?1 WHERE token_hash = ?2")
            .bind(now)
            .bind(presented_hash)
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (?1, ?2, ?3)",
        )
        .bind(new_hash)
        .bind(&sid)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
        sqlx::query("UPDATE sessions SET last_active_at = MAX(last_active_at, ?1) WHERE id = ?2")
            .bind(now)
            .bind(&sid)
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        tx.commit().await.map_err(classify)?;
        Ok(RefreshOutcome::Rotated(session))
    }

    async fn record_activity(&self, batch: &[ActivityUpdate]) -> StoreResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        for u in batch {
            sqlx::query(
                "UPDATE sessions SET last_active_at = MAX(last_active_at, ?1), \
                 last_ip = COALESCE(?2, last_ip) WHERE id = ?3",
            )
            .bind(u.last_active_at)
            .bind(u.ip.map(|ip| ip.to_string()))
            .bind(u.session_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        }
        tx.commit().await.map_err(classify)
    }

    async fn revoke_idle(&self, cutoff: Millis, now: Millis) -> StoreResult<Vec<RevokedSession>> {
        let mut tx = self.begin().await?;
        let idle = sqlx::query(
            "SELECT id, account_id FROM sessions WHERE revoked_at IS NULL AND last_active_at < ?1 LIMIT 1000",
        )
        .bind(cutoff)
        .fetch_all(&mut *tx)
        .await
        .map_err(classify)?;
        let mut revoked = Vec::with_capacity(idle.len());
        for row in idle {
            let id: String = row.try_get("id").map_err(classify)?;
            let account: String = row.try_get("account_id").map_err(classify)?;
            let (id, account) = (
                id.parse().map_err(|_| corrupt("session id"))?,
                account.parse().map_err(|_| corrupt("account id"))?,
            );
            revoked.extend(revoke_in(&mut tx, account, id, SignOutReason::IdleExpired, now).await?);
        }
        tx.commit().await.map_err(classify)?;
        Ok(revoked)
    }

    async fn revocations_since(&self, after: i64, limit: u32) -> StoreResult<Vec<RevokedSession>> {
        sqlx::query("SELECT * FROM revocations WHERE seq > ?1 ORDER BY seq LIMIT ?2")
            .bind(after)
            .bind(limit as i64)
            .fetch_all(&self.reader)
            .await
            .map_err(classify)?
            .iter()
            .map(revoked_from_row)
            .collect()
    }

    async fn last_revocation_seq(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM revocations")
            .fetch_one(&self.reader)
            .await
            .map_err(classify)
    }
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        let rows = sqlx::query(
            "SELECT kid, private_der, created_at FROM signing_keys ORDER BY created_at, kid",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(classify)?;
        rows.iter()
            .map(|r| {
                Ok(SigningKeyRecord {
                    kid: r.try_get("kid").map_err(classify)?,
                    private_der: r.try_get("private_der").map_err(classify)?,
                    created_at: r.try_get("created_at").map_err(classify)?,
                })
            })
            .collect()
    }

    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
        sqlx::query("INSERT INTO signing_keys (kid, private_der, created_at) VALUES (?1, ?2, ?3)")
            .bind(&key.kid)
            .bind(&key.private_der)
            .bind(key.created_at)
            .execute(&self.writer)
            .await
            .map_err(classify)?;
        Ok(())
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(classify)?;
        Ok(())
    }

    fn describe(&self) -> String {
        format!("SQLite file {}", self.path)
    }
}
