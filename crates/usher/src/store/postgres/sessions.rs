//! Device sessions, refresh tokens, last-seen touches and reading the
//! revocation log (its writes are in `revocations.rs`).

use async_trait::async_trait;
use sqlx::Row;

use super::revocations::{lock_revocation_log, revoke_all, revoke_one};
use super::rows::*;
use super::PgStore;
use crate::domain::*;
use crate::store::decide::device_cap_reached;
use crate::store::*;

/// Touches per statement: a revocation waiting for a touched session's row
/// lock waits for one short statement, not the whole batch.
const TOUCH_CHUNK: usize = 200;

/// Sessions' last use, never moved back, in one statement per chunk. The
/// batch is coalesced per session, so each row is matched once.
const TOUCH: &str = "UPDATE sessions s SET last_active_at = GREATEST(s.last_active_at, u.at), \
     last_ip = COALESCE(u.ip, s.last_ip) \
     FROM UNNEST($1::text[], $2::int8[], $3::text[]) AS u(id, at, ip) WHERE s.id = u.id";

const ACTIVE_SESSIONS: &str = concat!(
    "SELECT ",
    session_columns!(),
    " FROM sessions WHERE account_id = $1 AND revoked_at IS NULL ORDER BY created_at, id"
);

#[async_trait]
impl SessionStore for PgStore {
    async fn create_session(
        &self,
        s: &NewSession,
        plans: &Plans,
    ) -> StoreResult<CreateSessionOutcome> {
        let mut tx = self.begin().await?;
        // Locked so that concurrent sign-ins cannot both pass the device cap.
        let plan: String = sqlx::query_scalar("SELECT plan FROM accounts WHERE id = $1 FOR UPDATE")
            .bind(s.account_id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| corrupt("a session for a missing account"))?;
        if plans.limits(&plan).max_devices.is_some() {
            let devices = sqlx::query(ACTIVE_SESSIONS)
                .bind(s.account_id.to_string())
                .fetch_all(&mut *tx)
                .await?;
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
        .await?;
        if let Credential::RefreshToken { hash } = &s.credential {
            sqlx::query(
                "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)",
            )
            .bind(hash)
            .bind(s.id.to_string())
            .bind(s.now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(CreateSessionOutcome::Created)
    }

    async fn session(&self, id: SessionId) -> StoreResult<Option<SessionRecord>> {
        sqlx::query(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?
        .map(|r| session_from_row(&r))
        .transpose()
    }

    async fn active_sessions(&self, account: AccountId) -> StoreResult<Vec<SessionRecord>> {
        sqlx::query(ACTIVE_SESSIONS)
            .bind(account.to_string())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(session_from_row)
            .collect()
    }

    async fn count_active_sessions(&self, account: AccountId) -> StoreResult<u32> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sessions WHERE account_id = $1 AND revoked_at IS NULL",
        )
        .bind(account.to_string())
        .fetch_one(&self.pool)
        .await?;
        Ok(n as u32)
    }

    async fn rename_session(
        &self,
        account: AccountId,
        id: SessionId,
        name: &DeviceName,
    ) -> StoreResult<Option<SessionRecord>> {
        sqlx::query(concat!(
            "UPDATE sessions SET device_name = $1 \
             WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL RETURNING ",
            session_columns!()
        ))
        .bind(name.as_str())
        .bind(id.to_string())
        .bind(account.to_string())
        .fetch_optional(&self.pool)
        .await?
        .map(|r| session_from_row(&r))
        .transpose()
    }

    async fn revoke_session(
        &self,
        sign_out: &SessionSignOut,
    ) -> StoreResult<Option<RevokedSession>> {
        let (account, id, reason, now) = (
            sign_out.account,
            sign_out.session,
            sign_out.reason,
            sign_out.now,
        );
        let mut tx = self.begin_revoking().await?;
        let revoked = revoke_one(&mut tx, account, id, reason, now).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    async fn revoke_account_sessions(
        &self,
        sign_out: &AccountSignOut,
    ) -> StoreResult<Vec<RevokedSession>> {
        let (account, keep) = (sign_out.account, sign_out.keep);
        let (reason, now) = (sign_out.reason, sign_out.now);
        let mut tx = self.begin_revoking().await?;
        let revoked = revoke_all(&mut tx, account, keep, reason, now).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    async fn rotate_refresh(
        &self,
        presented_hash: &str,
        new_hash: &str,
        now: Millis,
    ) -> StoreResult<RefreshOutcome> {
        // Two racing refreshes of the same token queue on the token's row
        // lock, and the loser sees the token as rotated (reuse), exactly as a
        // thief's replay would. Only the token row is locked before the reuse
        // path takes the revocation-log lock, so lock order stays acyclic.
        let mut tx = self.begin().await?;
        let Some(found) = sqlx::query(
            "SELECT session_id, rotated_at FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE",
        )
        .bind(presented_hash)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(RefreshOutcome::Unknown);
        };
        let sid: String = found.try_get("session_id")?;
        let rotated_at: Option<i64> = found.try_get("rotated_at")?;
        let row = sqlx::query(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE id = $1"
        ))
        .bind(&sid)
        .fetch_one(&mut *tx)
        .await?;
        let session = session_from_row(&row)?;
        if session.revoked.is_some() {
            return Ok(RefreshOutcome::Revoked(session));
        }
        if rotated_at.is_some() {
            lock_revocation_log(&mut tx).await?;
            let revoked = revoke_one(
                &mut tx,
                session.account_id,
                session.id,
                SignOutReason::TokenReused,
                now,
            )
            .await?
            .ok_or_else(|| corrupt("session vanished during reuse revocation"))?;
            tx.commit().await?;
            return Ok(RefreshOutcome::Reused(revoked));
        }
        sqlx::query("UPDATE refresh_tokens SET rotated_at = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(presented_hash)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(new_hash)
        .bind(&sid)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE sessions SET last_active_at = GREATEST(last_active_at, $1) WHERE id = $2",
        )
        .bind(now)
        .bind(&sid)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(RefreshOutcome::Rotated(session))
    }

    async fn record_last_seen(&self, batch: &[LastSeenUpdate]) -> StoreResult<()> {
        for chunk in batch.chunks(TOUCH_CHUNK) {
            let ids: Vec<String> = chunk.iter().map(|u| u.session_id.to_string()).collect();
            let times: Vec<i64> = chunk.iter().map(|u| u.last_active_at).collect();
            let ips: Vec<Option<String>> = chunk
                .iter()
                .map(|u| u.ip.map(|ip| ip.to_string()))
                .collect();
            sqlx::query(TOUCH)
                .bind(ids)
                .bind(times)
                .bind(ips)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    async fn revoke_idle(&self, cutoff: Millis, now: Millis) -> StoreResult<Vec<RevokedSession>> {
        let mut tx = self.begin_revoking().await?;
        let idle = sqlx::query(
            "SELECT id, account_id FROM sessions \
             WHERE revoked_at IS NULL AND last_active_at < $1 LIMIT 1000",
        )
        .bind(cutoff)
        .fetch_all(&mut *tx)
        .await?;
        let mut revoked = Vec::with_capacity(idle.len());
        for row in idle {
            let (id, account) = (row.parsed("id")?, row.parsed("account_id")?);
            revoked
                .extend(revoke_one(&mut tx, account, id, SignOutReason::IdleExpired, now).await?);
        }
        tx.commit().await?;
        Ok(revoked)
    }

    async fn revocations_since(&self, after: i64, limit: u32) -> StoreResult<Vec<RevokedSession>> {
        sqlx::query("SELECT * FROM revocations WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(revoked_from_row)
            .collect()
    }

    async fn last_revocation_seq(&self) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM revocations")
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
