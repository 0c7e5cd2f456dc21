//! Device sessions, refresh tokens and the revocation log in SQLite.

use async_trait::async_trait;
use sqlx::Row;

use super::rows::*;
use super::{direct, SqlStore};
use crate::domain::*;
use crate::store::decide::device_cap_reached;
use crate::store::*;

/// Activity updates per write transaction.
const ACTIVITY_CHUNK: usize = 200;

/// A session's last activity, never moved back.
const TOUCH: &str = "UPDATE sessions SET last_active_at = \
     CASE WHEN last_active_at < $1 THEN $1 ELSE last_active_at END, \
     last_ip = COALESCE($2, last_ip) WHERE id = $3";

#[async_trait]
impl SessionStore for SqlStore {
    async fn create_session(
        &self,
        s: &NewSession,
        plans: &Plans,
    ) -> StoreResult<CreateSessionOutcome> {
        let mut tx = self.begin().await?;
        // Locked so that concurrent sign-ins cannot both pass the device cap.
        let plan: String = sqlx::query_scalar(&format!(
            "SELECT plan FROM accounts WHERE id = $1{}",
            self.dialect.for_update()
        ))
        .bind(s.account_id.to_string())
        .fetch_one(&mut *tx)
        .await
        .map_err(classify)?;
        if plans.limits(&plan).max_devices.is_some() {
            let devices = sqlx::query(&format!(
                "SELECT {SESSION_COLUMNS} FROM sessions WHERE account_id = $1 AND revoked_at IS NULL \
                 ORDER BY created_at, id"
            ))
            .bind(s.account_id.to_string())
            .fetch_all(&mut *tx)
            .await
            .map_err(classify)?;
            if let Some(limit) = device_cap_reached(plans, &plan, devices.len()) {
                let devices = devices
                    .iter()
                    .map(session_from_row)
                    .collect::<StoreResult<_>>()?;
                return Ok(CreateSessionOutcome::DeviceLimitReached { limit, devices });
            }
        }
        // A device starts on the default profile when it is unlocked, else
        // on none: it must pick one (with the PIN) before it can play.
        sqlx::query(
            "INSERT INTO sessions (id, account_id, device_name, device_type, device_model, \
             app_version, created_at, last_active_at, last_ip, web_secret_hash, profile_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, (SELECT p.id FROM profiles p \
             WHERE p.account_id = $2 AND p.is_default = 1 AND p.pin_hash IS NULL))",
        )
        .bind(s.id.to_string())
        .bind(s.account_id.to_string())
        .bind(s.device.name.as_str())
        .bind(s.device.kind.as_str())
        .bind(s.device.model.as_deref())
        .bind(s.device.app_version.as_deref())
        .bind(s.now)
        .bind(s.ip.map(|ip| ip.to_string()))
        .bind(match &s.credential {
            Credential::BrowserSecret { hash } => Some(hash.as_str()),
            Credential::RefreshToken { .. } => None,
        })
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
        if let Credential::RefreshToken { hash } = &s.credential {
            sqlx::query(
                "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)",
            )
            .bind(hash)
            .bind(s.id.to_string())
            .bind(s.now)
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        }
        tx.commit().await.map_err(classify)?;
        Ok(CreateSessionOutcome::Created)
    }

    async fn session(&self, id: SessionId) -> StoreResult<Option<SessionRecord>> {
        sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1"
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
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE account_id = $1 AND revoked_at IS NULL \
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
            "SELECT COUNT(*) FROM sessions WHERE account_id = $1 AND revoked_at IS NULL",
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
        let _lock = self.write_lock().await?;
        sqlx::query(&format!(
            "UPDATE sessions SET device_name = $1 \
             WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL RETURNING {SESSION_COLUMNS}"
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
        if let Some(d) = &self.direct {
            return d
                .write(move |conn| revoke_in_process(conn, account, id, reason, now))
                .await;
        }
        let mut tx = self.begin_revoking().await?;
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
        if let Some(d) = &self.direct {
            return d
                .write(move |conn| revoke_all_in_process(conn, account, keep, reason, now))
                .await;
        }
        let mut tx = self.begin_revoking().await?;
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
        // Two racing refreshes of the same token are serialised (the single
        // writer on SQLite, the token's row lock on PostgreSQL), and the loser
        // sees the token as rotated (reuse), exactly as a thief's replay would.
        // Only the token row is locked before the reuse path takes the
        // revocation-log lock, so lock order stays acyclic.
        let mut tx = self.begin().await?;
        let found = sqlx::query(&format!(
            "SELECT session_id, rotated_at FROM refresh_tokens WHERE token_hash = $1{}",
            self.dialect.for_update()
        ))
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
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1"
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
            self.lock_revocation_log(&mut tx).await?;
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
        sqlx::query("UPDATE refresh_tokens SET rotated_at = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(presented_hash)
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(new_hash)
        .bind(&sid)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
        sqlx::query("UPDATE sessions SET last_active_at = CASE WHEN last_active_at < $1 THEN $1 ELSE last_active_at END WHERE id = $2")
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
        // Small transactions committed one by one: a revocation waiting for
        // the (single SQLite) writer waits for one chunk, not the whole batch.
        for chunk in batch.chunks(ACTIVITY_CHUNK) {
            if let Some(d) = &self.direct {
                let chunk = chunk.to_vec();
                d.write(move |conn| {
                    for u in &chunk {
                        direct::execute(
                            conn,
                            TOUCH,
                            &[
                                &u.last_active_at,
                                &u.ip.map(|ip| ip.to_string()),
                                &u.session_id.to_string(),
                            ],
                        )?;
                    }
                    Ok(())
                })
                .await?;
                continue;
            }
            let mut tx = self.begin().await?;
            for u in chunk {
                sqlx::query(TOUCH)
                    .bind(u.last_active_at)
                    .bind(u.ip.map(|ip| ip.to_string()))
                    .bind(u.session_id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(classify)?;
            }
            tx.commit().await.map_err(classify)?;
        }
        Ok(())
    }

    async fn revoke_idle(&self, cutoff: Millis, now: Millis) -> StoreResult<Vec<RevokedSession>> {
        let mut tx = self.begin_revoking().await?;
        let idle = sqlx::query(
            "SELECT id, account_id FROM sessions WHERE revoked_at IS NULL AND last_active_at < $1 LIMIT 1000",
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
        sqlx::query("SELECT * FROM revocations WHERE seq > $1 ORDER BY seq LIMIT $2")
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
