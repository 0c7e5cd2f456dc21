//! The revocation transactions: a session revoked, its stream ended and a
//! log row appended, together, under the log's advisory lock (why: the
//! engine's doc in `mod.rs`).

use sqlx::PgConnection;

use super::rows::*;
use super::{PgStore, Tx};
use crate::domain::*;
use crate::store::*;

/// The key of the transaction-scoped advisory lock every log writer holds.
const REVOCATION_LOG_LOCK: i64 = 7261001;

/// Marks a session revoked; returns the device it was.
const REVOKE: &str = "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 \
     WHERE id = $3 AND account_id = $4 AND revoked_at IS NULL \
     RETURNING device_name, device_type, last_ip";

/// Signing out ends the device's stream in the same transaction: the slot is
/// free the moment the sign-out is acknowledged.
const END_SESSION_STREAM: &str = "UPDATE streams SET ended_at = $1, end_reason = 'signed_out' \
     WHERE session_id = $2 AND ended_at IS NULL AND lease_expires_at > $1 RETURNING id";

const LOG_REVOCATION: &str = "INSERT INTO revocations \
     (session_id, account_id, reason, at, ended_stream) VALUES ($1, $2, $3, $4, $5) \
     RETURNING seq, session_id, account_id, reason, at, ended_stream";

/// `$2` is the session to keep; NULL keeps none.
const ACTIVE_SESSION_IDS: &str = "SELECT id FROM sessions \
     WHERE account_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $2";

impl PgStore {
    /// Begins a transaction that will append to the revocation log: the
    /// log's lock is its first lock.
    pub(super) async fn begin_revoking(&self) -> StoreResult<Tx> {
        let mut tx = self.begin().await?;
        lock_revocation_log(&mut tx).await?;
        Ok(tx)
    }
}

/// Takes the revocation-log lock, in a transaction that holds no row lock a
/// log writer could want.
pub(super) async fn lock_revocation_log(conn: &mut PgConnection) -> StoreResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(REVOCATION_LOG_LOCK)
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks one session revoked and appends it to the log, inside a transaction
/// that holds the log's lock.
pub(super) async fn revoke_one(
    conn: &mut PgConnection,
    account: AccountId,
    id: SessionId,
    reason: SignOutReason,
    now: Millis,
) -> StoreResult<Option<RevokedSession>> {
    let (account, id) = (account.to_string(), id.to_string());
    let Some(updated) = sqlx::query(REVOKE)
        .bind(now)
        .bind(reason.as_str())
        .bind(&id)
        .bind(&account)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let device = revoked_device(&updated)?;
    let ended_stream: Option<String> = sqlx::query_scalar(END_SESSION_STREAM)
        .bind(now)
        .bind(&id)
        .fetch_optional(&mut *conn)
        .await?;
    let logged = sqlx::query(LOG_REVOCATION)
        .bind(&id)
        .bind(&account)
        .bind(reason.as_str())
        .bind(now)
        .bind(ended_stream)
        .fetch_one(&mut *conn)
        .await?;
    let mut revoked = revoked_from_row(&logged)?;
    revoked.device = Some(device);
    Ok(Some(revoked))
}

/// Revokes every active session of `account` but `keep`, inside a
/// transaction that holds the log's lock.
pub(super) async fn revoke_all(
    conn: &mut PgConnection,
    account: AccountId,
    keep: Option<SessionId>,
    reason: SignOutReason,
    now: Millis,
) -> StoreResult<Vec<RevokedSession>> {
    let ids: Vec<String> = sqlx::query_scalar(ACTIVE_SESSION_IDS)
        .bind(account.to_string())
        .bind(keep.map(|k| k.to_string()))
        .fetch_all(&mut *conn)
        .await?;
    let mut revoked = Vec::with_capacity(ids.len());
    for id in ids {
        let id = id.parse().map_err(|_| corrupt("session id"))?;
        revoked.extend(revoke_one(conn, account, id, reason, now).await?);
    }
    Ok(revoked)
}
