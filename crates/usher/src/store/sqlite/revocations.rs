//! The revocation transactions: revoke one session, revoke all of an
//! account's, each with its stream ended and its row appended to the
//! revocation log. They run inside a writer job (serial, so the log's `seq`
//! order is its commit order; see the engine's doc).

use rusqlite::Connection;

use super::rows::*;
use crate::domain::*;
use crate::store::*;

/// Marks a session revoked; returns the device it was.
const REVOKE: &str = "UPDATE sessions SET revoked_at = ?1, revoked_reason = ?2 \
     WHERE id = ?3 AND account_id = ?4 AND revoked_at IS NULL \
     RETURNING device_name, device_type, last_ip";

/// Signing out ends the device's stream in the same transaction: the slot is
/// free the moment the sign-out is acknowledged.
const END_SESSION_STREAM: &str = "UPDATE streams SET ended_at = ?1, end_reason = 'signed_out' \
     WHERE session_id = ?2 AND ended_at IS NULL AND lease_expires_at > ?1 RETURNING id";

const LOG_REVOCATION: &str = "INSERT INTO revocations \
     (session_id, account_id, reason, at, ended_stream) VALUES (?1, ?2, ?3, ?4, ?5) \
     RETURNING seq, session_id, account_id, reason, at, ended_stream";

const ACTIVE_SESSION_IDS: &str =
    "SELECT id FROM sessions WHERE account_id = ?1 AND revoked_at IS NULL AND id != ?2";

/// Revokes one active session of `account` and appends it to the log;
/// `None` when there is no such active session.
pub(super) fn revoke(
    conn: &Connection,
    account: AccountId,
    id: SessionId,
    reason: SignOutReason,
    now: Millis,
) -> StoreResult<Option<RevokedSession>> {
    let (account, id) = (account.to_string(), id.to_string());
    let Some(device) = fetch_optional(
        conn,
        REVOKE,
        (now, reason.as_str(), &id, &account),
        revoked_device,
    )?
    else {
        return Ok(None);
    };
    let ended_stream: Option<String> =
        fetch_optional(conn, END_SESSION_STREAM, (now, &id), |row| get(row, "id"))?;
    let mut revoked = fetch_optional(
        conn,
        LOG_REVOCATION,
        (&id, &account, reason.as_str(), now, ended_stream),
        revoked_from_row,
    )?
    .ok_or_else(|| corrupt("the revocation log returned nothing"))?;
    revoked.device = Some(device);
    Ok(Some(revoked))
}

/// Revokes every active session of `account` except `keep`.
pub(super) fn revoke_all(
    conn: &Connection,
    account: AccountId,
    keep: Option<SessionId>,
    reason: SignOutReason,
    now: Millis,
) -> StoreResult<Vec<RevokedSession>> {
    let keep = keep.map(|k| k.to_string()).unwrap_or_default();
    let ids: Vec<SessionId> = fetch_all(
        conn,
        ACTIVE_SESSION_IDS,
        (account.to_string(), keep),
        |row| parsed(row, "id"),
    )?;
    let mut revoked = Vec::with_capacity(ids.len());
    for id in ids {
        revoked.extend(revoke(conn, account, id, reason, now)?);
    }
    Ok(revoked)
}
