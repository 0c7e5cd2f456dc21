//! Device sessions, refresh tokens, last-seen touches and the revocation log.

use std::sync::LazyLock;

use async_trait::async_trait;
use rusqlite::Connection;

use super::revocations::{revoke, revoke_all};
use super::rows::*;
use super::SqliteStore;
use crate::domain::*;
use crate::store::decide::device_cap_reached;
use crate::store::*;

/// Last-seen updates per write job: a revocation queued behind a large
/// batch of touches waits for one chunk, not the whole batch.
const TOUCH_CHUNK: usize = 200;

/// A session's last activity, never moved back.
const TOUCH: &str = "UPDATE sessions SET last_active_at = \
     CASE WHEN last_active_at < ?1 THEN ?1 ELSE last_active_at END, \
     last_ip = COALESCE(?2, last_ip) WHERE id = ?3";

static SESSION_BY_ID: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1"));

static ACTIVE_SESSIONS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {SESSION_COLUMNS} FROM sessions WHERE account_id = ?1 AND revoked_at IS NULL \
         ORDER BY created_at, id"
    )
});

static RENAME: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE sessions SET device_name = ?1 \
         WHERE id = ?2 AND account_id = ?3 AND revoked_at IS NULL RETURNING {SESSION_COLUMNS}"
    )
});

/// A device starts on the default profile when it is unlocked, else on
/// none: it must pick one (with the PIN) before it can play.
const INSERT_SESSION: &str = "INSERT INTO sessions (id, account_id, device_name, device_type, \
     device_model, app_version, created_at, last_active_at, last_ip, web_secret_hash, profile_id) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9, (SELECT p.id FROM profiles p \
     WHERE p.account_id = ?2 AND p.is_default = 1 AND p.pin_hash IS NULL))";

const INSERT_TOKEN: &str =
    "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (?1, ?2, ?3)";

fn create_session(
    conn: &Connection,
    s: &NewSession,
    plans: &Plans,
) -> StoreResult<CreateSessionOutcome> {
    let account = s.account_id.to_string();
    let plan: String = fetch_value(conn, "SELECT plan FROM accounts WHERE id = ?1", [&account])?;
    // The count and the insert are one job: concurrent sign-ins cannot both
    // pass the device cap.
    if plans.limits(&plan).max_devices.is_some() {
        let devices = fetch_all(conn, &ACTIVE_SESSIONS, [&account], session_from_row)?;
        if let Some(limit) = device_cap_reached(plans, &plan, devices.len()) {
            return Ok(CreateSessionOutcome::DeviceLimitReached { limit, devices });
        }
    }
    let web_secret = match &s.credential {
        Credential::BrowserSecret { hash } => Some(hash.as_str()),
        Credential::RefreshToken { .. } => None,
    };
    execute(
        conn,
        INSERT_SESSION,
        rusqlite::params![
            s.id.to_string(),
            account,
            s.device.name.as_str(),
            s.device.kind.as_str(),
            s.device.model.as_deref(),
            s.device.app_version.as_deref(),
            s.now,
            s.ip.map(|ip| ip.to_string()),
            web_secret,
        ],
    )?;
    if let Credential::RefreshToken { hash } = &s.credential {
        execute(conn, INSERT_TOKEN, (hash, s.id.to_string(), s.now))?;
    }
    Ok(CreateSessionOutcome::Created)
}

/// Two racing refreshes of the same token are serial (two writer jobs), and
/// the second sees the token as rotated (reuse), exactly as a thief's
/// replay would.
fn rotate_refresh(
    conn: &Connection,
    presented: &str,
    new_hash: &str,
    now: Millis,
) -> StoreResult<RefreshOutcome> {
    let Some((sid, rotated_at)) = fetch_optional(
        conn,
        "SELECT session_id, rotated_at FROM refresh_tokens WHERE token_hash = ?1",
        [presented],
        |row| {
            Ok((
                get::<String>(row, "session_id")?,
                get::<Option<i64>>(row, "rotated_at")?,
            ))
        },
    )?
    else {
        return Ok(RefreshOutcome::Unknown);
    };
    let session = fetch_optional(conn, &SESSION_BY_ID, [&sid], session_from_row)?
        .ok_or_else(|| corrupt("a refresh token's session is missing"))?;
    if session.revoked.is_some() {
        return Ok(RefreshOutcome::Revoked(session));
    }
    if rotated_at.is_some() {
        let revoked = revoke(
            conn,
            session.account_id,
            session.id,
            SignOutReason::TokenReused,
            now,
        )?
        .ok_or_else(|| corrupt("session vanished during reuse revocation"))?;
        return Ok(RefreshOutcome::Reused(revoked));
    }
    execute(
        conn,
        "UPDATE refresh_tokens SET rotated_at = ?1 WHERE token_hash = ?2",
        (now, presented),
    )?;
    execute(conn, INSERT_TOKEN, (new_hash, &sid, now))?;
    execute(conn, TOUCH, (now, None::<String>, &sid))?;
    Ok(RefreshOutcome::Rotated(session))
}

fn revoke_idle(conn: &Connection, cutoff: Millis, now: Millis) -> StoreResult<Vec<RevokedSession>> {
    let idle: Vec<(SessionId, AccountId)> = fetch_all(
        conn,
        "SELECT id, account_id FROM sessions \
         WHERE revoked_at IS NULL AND last_active_at < ?1 LIMIT 1000",
        [cutoff],
        |row| Ok((parsed(row, "id")?, parsed(row, "account_id")?)),
    )?;
    let mut revoked = Vec::with_capacity(idle.len());
    for (id, account) in idle {
        revoked.extend(revoke(conn, account, id, SignOutReason::IdleExpired, now)?);
    }
    Ok(revoked)
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(
        &self,
        s: &NewSession,
        plans: &Plans,
    ) -> StoreResult<CreateSessionOutcome> {
        let (s, plans) = (s.clone(), plans.clone());
        self.writer
            .write(move |conn| create_session(conn, &s, &plans))
            .await
    }

    async fn session(&self, id: SessionId) -> StoreResult<Option<SessionRecord>> {
        self.readers
            .read(move |conn| {
                fetch_optional(conn, &SESSION_BY_ID, [id.to_string()], session_from_row)
            })
            .await
    }

    async fn active_sessions(&self, account: AccountId) -> StoreResult<Vec<SessionRecord>> {
        self.readers
            .read(move |conn| {
                fetch_all(
                    conn,
                    &ACTIVE_SESSIONS,
                    [account.to_string()],
                    session_from_row,
                )
            })
            .await
    }

    async fn count_active_sessions(&self, account: AccountId) -> StoreResult<u32> {
        let n: i64 = self
            .readers
            .read(move |conn| {
                fetch_value(
                    conn,
                    "SELECT COUNT(*) FROM sessions WHERE account_id = ?1 AND revoked_at IS NULL",
                    [account.to_string()],
                )
            })
            .await?;
        Ok(n as u32)
    }

    async fn rename_session(
        &self,
        account: AccountId,
        id: SessionId,
        name: &DeviceName,
    ) -> StoreResult<Option<SessionRecord>> {
        let name = name.as_str().to_owned();
        self.writer
            .write(move |conn| {
                fetch_optional(
                    conn,
                    &RENAME,
                    (name, id.to_string(), account.to_string()),
                    session_from_row,
                )
            })
            .await
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
        self.writer
            .write(move |conn| revoke(conn, account, id, reason, now))
            .await
    }

    async fn revoke_account_sessions(
        &self,
        sign_out: &AccountSignOut,
    ) -> StoreResult<Vec<RevokedSession>> {
        let (account, keep) = (sign_out.account, sign_out.keep);
        let (reason, now) = (sign_out.reason, sign_out.now);
        self.writer
            .write(move |conn| revoke_all(conn, account, keep, reason, now))
            .await
    }

    async fn rotate_refresh(
        &self,
        presented_hash: &str,
        new_hash: &str,
        now: Millis,
    ) -> StoreResult<RefreshOutcome> {
        let (presented, new_hash) = (presented_hash.to_owned(), new_hash.to_owned());
        self.writer
            .write(move |conn| rotate_refresh(conn, &presented, &new_hash, now))
            .await
    }

    async fn record_last_seen(&self, batch: &[LastSeenUpdate]) -> StoreResult<()> {
        // One chunk after another: a revocation queued meanwhile shares a
        // batch with one chunk, not with all of them.
        for chunk in batch.chunks(TOUCH_CHUNK) {
            let chunk = chunk.to_vec();
            self.writer
                .write(move |conn| {
                    for u in &chunk {
                        let ip = u.ip.map(|ip| ip.to_string());
                        execute(
                            conn,
                            TOUCH,
                            (u.last_active_at, ip, u.session_id.to_string()),
                        )?;
                    }
                    Ok(())
                })
                .await?;
        }
        Ok(())
    }

    async fn revoke_idle(&self, cutoff: Millis, now: Millis) -> StoreResult<Vec<RevokedSession>> {
        self.writer
            .write(move |conn| revoke_idle(conn, cutoff, now))
            .await
    }

    async fn revocations_since(&self, after: i64, limit: u32) -> StoreResult<Vec<RevokedSession>> {
        self.readers
            .read(move |conn| {
                fetch_all(
                    conn,
                    "SELECT seq, session_id, account_id, reason, at, ended_stream \
                     FROM revocations WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                    (after, i64::from(limit)),
                    revoked_from_row,
                )
            })
            .await
    }

    async fn last_revocation_seq(&self) -> StoreResult<i64> {
        self.readers
            .read(|conn| fetch_value(conn, "SELECT COALESCE(MAX(seq), 0) FROM revocations", []))
            .await
    }
}
