//! Row mapping and statements shared by the SQLite store's parts.

use std::str::FromStr;

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{direct, WriteTx};

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

/// Reading columns by name, from an sqlx row or from a row of the in-process
/// SQLite writer (`direct.rs`), so each record is mapped from a row once.
pub(super) trait Columns {
    fn text(&self, col: &str) -> StoreResult<String>;
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>>;
    fn int(&self, col: &str) -> StoreResult<i64>;
    fn opt_int(&self, col: &str) -> StoreResult<Option<i64>>;

    /// A text column parsed (an id, a reason); a value that does not parse
    /// is a corrupt row.
    fn parsed<T: FromStr>(&self, col: &str) -> StoreResult<T> {
        self.text(col)?.parse().map_err(|_| corrupt(col))
    }
}

impl Columns for AnyRow {
    fn text(&self, col: &str) -> StoreResult<String> {
        self.try_get(col).map_err(classify)
    }
    fn opt_text(&self, col: &str) -> StoreResult<Option<String>> {
        self.try_get(col).map_err(classify)
    }
    fn int(&self, col: &str) -> StoreResult<i64> {
        self.try_get(col).map_err(classify)
    }
    fn opt_int(&self, col: &str) -> StoreResult<Option<i64>> {
        self.try_get(col).map_err(classify)
    }
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
pub(super) fn profile_ref(
    row: &impl Columns,
    id: &str,
    name: &str,
) -> StoreResult<Option<ProfileRef>> {
    let id = row.opt_text(id)?;
    let name = row.opt_text(name)?;
    Ok(match (id, name) {
        (Some(id), Some(name)) => Some(ProfileRef {
            id: id.parse().map_err(|_| corrupt("profile id"))?,
            name,
        }),
        _ => None,
    })
}

/// An optional profile id column.
pub(super) fn profile_id(row: &impl Columns, column: &str) -> StoreResult<Option<ProfileId>> {
    row.opt_text(column)?
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

pub(super) fn revoked_from_row(row: &impl Columns) -> StoreResult<RevokedSession> {
    Ok(RevokedSession {
        seq: row.int("seq")?,
        session_id: row.parsed("session_id")?,
        account_id: row.parsed("account_id")?,
        reason: row.parsed("reason")?,
        at: row.int("at")?,
        ended_stream: row.opt_text("ended_stream")?.and_then(|s| s.parse().ok()),
        device: None,
    })
}

pub(super) const STREAM_COLUMNS_BARE: &str = "id, account_id, session_id, title, profile_id, \
     started_at, lease_expires_at, ended_at, end_reason";

pub(super) const STREAM_COLUMNS: &str = "s.id, s.account_id, s.session_id, s.title, s.profile_id, \
     s.started_at, s.lease_expires_at, s.ended_at, s.end_reason";

pub(super) fn stream_from_row(row: &impl Columns) -> StoreResult<StreamRecord> {
    let ended = match row.opt_int("ended_at")? {
        None => None,
        Some(at) => Some((end_reason(row)?, at)),
    };
    Ok(StreamRecord {
        id: row.parsed("id")?,
        account_id: row.parsed("account_id")?,
        session_id: row.parsed("session_id")?,
        title: row.text("title")?,
        profile_id: profile_id(row, "profile_id")?,
        started_at: row.int("started_at")?,
        lease_expires_at: row.int("lease_expires_at")?,
        ended,
    })
}

/// The `end_reason` column.
pub(super) fn end_reason(row: &impl Columns) -> StoreResult<StreamEndReason> {
    row.parsed("end_reason")
}

/// A stream ended by a statement that returned `id, session_id, account_id`.
pub(super) fn ended_from_row(
    row: &impl Columns,
    reason: StreamEndReason,
) -> StoreResult<EndedStream> {
    Ok(EndedStream {
        stream_id: row.parsed("id")?,
        session_id: row.parsed("session_id")?,
        account_id: row.parsed("account_id")?,
        reason,
    })
}

pub(super) fn active_from_row(row: &impl Columns) -> StoreResult<ActiveStream> {
    let kind = row.text("device_type")?;
    Ok(ActiveStream {
        stream: stream_from_row(row)?,
        device_name: row.text("device_name")?,
        device_type: DeviceType::from_str(&kind).map_err(|_| corrupt("device_type"))?,
        profile: profile_ref(row, "profile_id", "profile_name")?,
    })
}

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

const ACTIVE_SESSION_IDS: &str =
    "SELECT id FROM sessions WHERE account_id = $1 AND revoked_at IS NULL AND id != $2";

fn revoked_device(row: &impl Columns) -> StoreResult<RevokedDevice> {
    Ok(RevokedDevice {
        name: row.text("device_name")?,
        kind: DeviceType::from_str(&row.text("device_type")?)
            .map_err(|_| corrupt("device_type"))?,
        last_ip: row.opt_text("last_ip")?.and_then(|ip| ip.parse().ok()),
    })
}

/// Marks one session revoked and appends it to the revocation log, inside `tx`.
pub(super) async fn revoke_in(
    tx: &mut WriteTx,
    account: AccountId,
    id: SessionId,
    reason: SignOutReason,
    now: Millis,
) -> StoreResult<Option<RevokedSession>> {
    let updated = sqlx::query(REVOKE)
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
    let device = revoked_device(&updated)?;
    let ended_stream = sqlx::query(END_SESSION_STREAM)
        .bind(now)
        .bind(id.to_string())
        .fetch_optional(&mut **tx)
        .await
        .map_err(classify)?
        .map(|row| row.text("id"))
        .transpose()?;
    let row = sqlx::query(LOG_REVOCATION)
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
    tx: &mut WriteTx,
    account: AccountId,
    keep: Option<SessionId>,
    reason: SignOutReason,
    now: Millis,
) -> StoreResult<Vec<RevokedSession>> {
    let ids = sqlx::query(ACTIVE_SESSION_IDS)
        .bind(account.to_string())
        .bind(keep.map(|k| k.to_string()).unwrap_or_default())
        .fetch_all(&mut **tx)
        .await
        .map_err(classify)?;
    let mut revoked = Vec::with_capacity(ids.len());
    for row in ids {
        let id = row.parsed("id")?;
        revoked.extend(revoke_in(tx, account, id, reason, now).await?);
    }
    Ok(revoked)
}

/// [`revoke_in`] on the SQLite writer thread.
pub(super) fn revoke_in_process(
    conn: &rusqlite::Connection,
    account: AccountId,
    id: SessionId,
    reason: SignOutReason,
    now: Millis,
) -> StoreResult<Option<RevokedSession>> {
    let (account, id) = (account.to_string(), id.to_string());
    let Some(device) = direct::fetch_optional(
        conn,
        REVOKE,
        &[&now, &reason.as_str(), &id, &account],
        |row| revoked_device(row),
    )?
    else {
        return Ok(None);
    };
    let ended_stream =
        direct::fetch_optional(conn, END_SESSION_STREAM, &[&now, &id], |row| row.text("id"))?;
    let mut revoked = direct::fetch_optional(
        conn,
        LOG_REVOCATION,
        &[&id, &account, &reason.as_str(), &now, &ended_stream],
        |row| revoked_from_row(row),
    )?
    .ok_or_else(|| corrupt("the revocation log returned nothing"))?;
    revoked.device = Some(device);
    Ok(Some(revoked))
}

/// [`revoke_all_in`] on the SQLite writer thread.
pub(super) fn revoke_all_in_process(
    conn: &rusqlite::Connection,
    account: AccountId,
    keep: Option<SessionId>,
    reason: SignOutReason,
    now: Millis,
) -> StoreResult<Vec<RevokedSession>> {
    let keep = keep.map(|k| k.to_string()).unwrap_or_default();
    let ids = direct::fetch_all(
        conn,
        ACTIVE_SESSION_IDS,
        &[&account.to_string(), &keep],
        |row| row.parsed("id"),
    )?;
    let mut revoked = Vec::with_capacity(ids.len());
    for id in ids {
        revoked.extend(revoke_in_process(conn, account, id, reason, now)?);
    }
    Ok(revoked)
}
