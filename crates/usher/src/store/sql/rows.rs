//! Row mapping and statements shared by the SQLite store's parts.

use std::str::FromStr;

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::domain::*;
use crate::store::*;

/// Sorts a database error into what the domain can act on.
pub(super) fn classify(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        sqlx::Error::Database(db) if db.code().is_some_and(|c| is_unavailable_state(&c)) => {
            StoreError::Unavailable(e.into())
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::Io(_)
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.into()),
        _ => StoreError::Other(e.into()),
    }
}

/// SQLSTATEs meaning "the server is going away or not there yet": connection
/// exceptions (08…), shutdown and start-up (57P01-57P03), and SQLite's busy
/// and locked results (5, 6), which only outlast `busy_timeout` under
/// another process's long write.
fn is_unavailable_state(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "5" | "6")
}

pub(super) fn corrupt(what: &str) -> StoreError {
    StoreError::Other(anyhow::anyhow!("corrupt row: {what}"))
}

/// A session's columns, from a statement on `sessions` that does not alias
/// the table, with the name of its profile.
pub(super) const SESSION_COLUMNS: &str =
    "id, account_id, device_name, device_type, device_model, app_version, \
     created_at, last_active_at, last_ip, revoked_at, revoked_reason, web_secret_hash, profile_id, \
     (SELECT p.name FROM profiles p WHERE p.id = sessions.profile_id) AS profile_name";

pub(super) fn session_from_row(row: &AnyRow) -> StoreResult<SessionRecord> {
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
        web_secret_hash: row.try_get("web_secret_hash").map_err(classify)?,
        profile: profile_ref(row, "profile_id", "profile_name")?,
    })
}

/// A profile named by two columns; a dangling id (no name) is no profile.
pub(super) fn profile_ref(row: &AnyRow, id: &str, name: &str) -> StoreResult<Option<ProfileRef>> {
    let id: Option<String> = row.try_get(id).map_err(classify)?;
    let name: Option<String> = row.try_get(name).map_err(classify)?;
    Ok(match (id, name) {
        (Some(id), Some(name)) => Some(ProfileRef {
            id: id.parse().map_err(|_| corrupt("profile id"))?,
            name,
        }),
        _ => None,
    })
}

/// An optional profile id column.
pub(super) fn profile_id(row: &AnyRow, column: &str) -> StoreResult<Option<ProfileId>> {
    row.try_get::<Option<String>, _>(column)
        .map_err(classify)?
        .map(|id| id.parse().map_err(|_| corrupt("profile id")))
        .transpose()
}

pub(super) const PROFILE_COLUMNS: &str = "id, account_id, name, pin_hash, is_default, created_at";

pub(super) fn profile_from_row(row: &AnyRow) -> StoreResult<ProfileRecord> {
    let text = |col: &str| -> StoreResult<String> { row.try_get(col).map_err(classify) };
    let is_default: i64 = row.try_get("is_default").map_err(classify)?;
    Ok(ProfileRecord {
        id: text("id")?.parse().map_err(|_| corrupt("profile id"))?,
        account_id: text("account_id")?
            .parse()
            .map_err(|_| corrupt("account id"))?,
        name: text("name")?,
        pin_hash: row.try_get("pin_hash").map_err(classify)?,
        is_default: is_default != 0,
        created_at: row.try_get("created_at").map_err(classify)?,
    })
}

pub(super) fn account_from_row(row: &AnyRow) -> StoreResult<AccountRecord> {
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

pub(super) fn revoked_from_row(row: &AnyRow) -> StoreResult<RevokedSession> {
    let sid: String = row.try_get("session_id").map_err(classify)?;
    let aid: String = row.try_get("account_id").map_err(classify)?;
    let reason: String = row.try_get("reason").map_err(classify)?;
    Ok(RevokedSession {
        seq: row.try_get("seq").map_err(classify)?,
        session_id: sid.parse().map_err(|_| corrupt("session id"))?,
        account_id: aid.parse().map_err(|_| corrupt("account id"))?,
        reason: reason.parse().map_err(|_| corrupt("reason"))?,
        at: row.try_get("at").map_err(classify)?,
        ended_stream: row
            .try_get::<Option<String>, _>("ended_stream")
            .map_err(classify)?
            .and_then(|s| s.parse().ok()),
        device: None,
    })
}

pub(super) const STREAM_COLUMNS_BARE: &str = "id, account_id, session_id, title, profile_id, \
     started_at, lease_expires_at, ended_at, end_reason";

pub(super) const STREAM_COLUMNS: &str = "s.id, s.account_id, s.session_id, s.title, s.profile_id, \
     s.started_at, s.lease_expires_at, s.ended_at, s.end_reason";

pub(super) fn stream_from_row(row: &AnyRow) -> StoreResult<StreamRecord> {
    let text = |col: &str| -> StoreResult<String> { row.try_get(col).map_err(classify) };
    let ended_at: Option<i64> = row.try_get("ended_at").map_err(classify)?;
    let ended = match ended_at {
        None => None,
        Some(at) => Some((
            text("end_reason")?
                .parse()
                .map_err(|_| corrupt("end_reason"))?,
            at,
        )),
    };
    Ok(StreamRecord {
        id: text("id")?.parse().map_err(|_| corrupt("stream id"))?,
        account_id: text("account_id")?
            .parse()
            .map_err(|_| corrupt("account id"))?,
        session_id: text("session_id")?
            .parse()
            .map_err(|_| corrupt("session id"))?,
        title: text("title")?,
        profile_id: profile_id(row, "profile_id")?,
        started_at: row.try_get("started_at").map_err(classify)?,
        lease_expires_at: row.try_get("lease_expires_at").map_err(classify)?,
        ended,
    })
}

pub(super) fn active_from_row(row: &AnyRow) -> StoreResult<ActiveStream> {
    let kind: String = row.try_get("device_type").map_err(classify)?;
    Ok(ActiveStream {
        stream: stream_from_row(row)?,
        device_name: row.try_get("device_name").map_err(classify)?,
        device_type: DeviceType::from_str(&kind).map_err(|_| corrupt("device_type"))?,
        profile: profile_ref(row, "profile_id", "profile_name")?,
    })
}

/// Streams of the account that count against its plan at `now`.
pub(super) async fn live_streams_in(
    conn: &mut sqlx::AnyConnection,
    account: AccountId,
    now: Millis,
) -> StoreResult<Vec<ActiveStream>> {
    sqlx::query(&format!(
        "SELECT {STREAM_COLUMNS}, se.device_name, se.device_type, p.name AS profile_name \
         FROM streams s JOIN sessions se ON se.id = s.session_id \
         LEFT JOIN profiles p ON p.id = s.profile_id \
         WHERE s.account_id = $1 AND s.ended_at IS NULL AND s.lease_expires_at > $2 \
         ORDER BY s.started_at, s.id"
    ))
    .bind(account.to_string())
    .bind(now)
    .fetch_all(conn)
    .await
    .map_err(classify)?
    .iter()
    .map(active_from_row)
    .collect()
}

/// Marks one session revoked and appends it to the revocation log, inside `tx`.
pub(super) async fn revoke_in(
    tx: &mut Transaction<'_, Any>,
    account: AccountId,
    id: SessionId,
    reason: SignOutReason,
    now: Millis,
) -> StoreResult<Option<RevokedSession>> {
    let updated = sqlx::query(
        "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 \
         WHERE id = $3 AND account_id = $4 AND revoked_at IS NULL \
         RETURNING device_name, device_type, last_ip",
    )
    .bind(now)
    .bind(reason.as_str())
    .bind(id.to_string())
    .bind(account.to_string())
    .fetch_optional(&mut **tx)
    .await
    .map_err(classify)?;
    let Some(updated) = updated else {
        return Ok(None);
    };
    let kind: String = updated.try_get("device_type").map_err(classify)?;
    let device = RevokedDevice {
        name: updated.try_get("device_name").map_err(classify)?,
        kind: DeviceType::from_str(&kind).map_err(|_| corrupt("device_type"))?,
        last_ip: updated
            .try_get::<Option<String>, _>("last_ip")
            .map_err(classify)?
            .and_then(|ip| ip.parse().ok()),
    };
    // Signing out ends the device's stream in the same transaction: the slot
    // is free the moment the sign-out is acknowledged.
    let ended_stream: Option<String> = sqlx::query_scalar(
        "UPDATE streams SET ended_at = $1, end_reason = 'signed_out' \
         WHERE session_id = $2 AND ended_at IS NULL AND lease_expires_at > $1 RETURNING id",
    )
    .bind(now)
    .bind(id.to_string())
    .fetch_optional(&mut **tx)
    .await
    .map_err(classify)?;
    let row = sqlx::query(
        "INSERT INTO revocations (session_id, account_id, reason, at, ended_stream) \
         VALUES ($1, $2, $3, $4, $5) \
         RETURNING seq, session_id, account_id, reason, at, ended_stream",
    )
    .bind(id.to_string())
    .bind(account.to_string())
    .bind(reason.as_str())
    .bind(now)
    .bind(ended_stream)
    .fetch_one(&mut **tx)
    .await
    .map_err(classify)?;
    let mut revoked = revoked_from_row(&row)?;
    revoked.device = Some(device);
    Ok(Some(revoked))
}

/// Revokes every active session of `account` except `keep`, inside `tx`.
pub(super) async fn revoke_all_in(
    tx: &mut Transaction<'_, Any>,
    account: AccountId,
    keep: Option<SessionId>,
    reason: SignOutReason,
    now: Millis,
) -> StoreResult<Vec<RevokedSession>> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM sessions WHERE account_id = $1 AND revoked_at IS NULL AND id != $2",
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
