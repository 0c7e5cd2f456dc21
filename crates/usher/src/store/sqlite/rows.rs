//! Row mapping: reading store records out of rusqlite rows, and the three
//! ways the engine runs a statement (cached, `?N` parameters).

use std::str::FromStr;

use rusqlite::types::FromSql;
use rusqlite::{Connection, Params, Row};

use crate::domain::*;
use crate::store::*;

pub(super) fn corrupt(what: &str) -> StoreError {
    StoreError::other(anyhow::anyhow!("corrupt row: {what}"))
}

/// Runs a statement; the number of rows it changed.
pub(super) fn execute(conn: &Connection, sql: &str, params: impl Params) -> StoreResult<usize> {
    Ok(conn.prepare_cached(sql)?.execute(params)?)
}

/// Every row a statement returns, each mapped by `map`.
pub(super) fn fetch_all<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    mut map: impl FnMut(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(map(row)?);
    }
    Ok(out)
}

/// The first row a statement returns, mapped by `map`.
pub(super) fn fetch_optional<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    map: impl FnOnce(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    match rows.next()? {
        Some(row) => map(row).map(Some),
        None => Ok(None),
    }
}

/// The one value of a statement that always returns a row.
pub(super) fn fetch_value<T: FromSql>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
) -> StoreResult<T> {
    Ok(conn
        .prepare_cached(sql)?
        .query_row(params, |row| row.get(0))?)
}

/// A count made for the metrics: its failure is not counted as a database
/// error (see [`StoreError::counted`]).
pub(super) fn fetch_count_uncounted(
    conn: &Connection,
    sql: &str,
    params: impl Params,
) -> StoreResult<u64> {
    let count = conn
        .prepare_cached(sql)
        .and_then(|mut statement| statement.query_row(params, |row| row.get::<_, i64>(0)));
    Ok(u64::try_from(count.map_err(super::uncounted)?).unwrap_or(0))
}

/// A column by name.
pub(super) fn get<T: FromSql>(row: &Row<'_>, col: &str) -> StoreResult<T> {
    Ok(row.get(col)?)
}

/// A text column parsed (an id, a reason); a value that does not parse is a
/// corrupt row.
pub(super) fn parsed<T: FromStr>(row: &Row<'_>, col: &str) -> StoreResult<T> {
    get::<String>(row, col)?.parse().map_err(|_| corrupt(col))
}

/// An optional text column parsed.
pub(super) fn opt_parsed<T: FromStr>(row: &Row<'_>, col: &str) -> StoreResult<Option<T>> {
    get::<Option<String>>(row, col)?
        .map(|s| s.parse().map_err(|_| corrupt(col)))
        .transpose()
}

/// An address column; one that does not parse (never written so) is none.
fn ip(row: &Row<'_>, col: &str) -> StoreResult<Option<std::net::IpAddr>> {
    Ok(get::<Option<String>>(row, col)?.and_then(|ip| ip.parse().ok()))
}

/// A session's columns, from a statement on `sessions` that does not alias
/// the table, with the name of its profile.
pub(super) const SESSION_COLUMNS: &str =
    "id, account_id, device_name, device_type, device_model, app_version, \
     created_at, last_active_at, last_ip, revoked_at, revoked_reason, web_secret_hash, profile_id, \
     (SELECT p.name FROM profiles p WHERE p.id = sessions.profile_id) AS profile_name";

pub(super) fn session_from_row(row: &Row<'_>) -> StoreResult<SessionRecord> {
    let device = DeviceInfo::parse(
        &get::<String>(row, "device_name")?,
        parsed(row, "device_type")?,
        get::<Option<String>>(row, "device_model")?.as_deref(),
        get::<Option<String>>(row, "app_version")?.as_deref(),
    )
    .map_err(|_| corrupt("device"))?;
    let revoked = match get::<Option<i64>>(row, "revoked_at")? {
        None => None,
        Some(at) => Some(Revocation {
            reason: parsed(row, "revoked_reason")?,
            at,
        }),
    };
    Ok(SessionRecord {
        id: parsed(row, "id")?,
        account_id: parsed(row, "account_id")?,
        device,
        created_at: get(row, "created_at")?,
        last_active_at: get(row, "last_active_at")?,
        last_ip: ip(row, "last_ip")?,
        revoked,
        web_secret_hash: get(row, "web_secret_hash")?,
        profile: profile_ref(row, "profile_id", "profile_name")?,
    })
}

/// A profile named by two columns; a dangling id (no name) is no profile.
pub(super) fn profile_ref(row: &Row<'_>, id: &str, name: &str) -> StoreResult<Option<ProfileRef>> {
    let id = opt_parsed(row, id)?;
    let name = get::<Option<String>>(row, name)?;
    Ok(match (id, name) {
        (Some(id), Some(name)) => Some(ProfileRef { id, name }),
        _ => None,
    })
}

pub(super) const PROFILE_COLUMNS: &str = "id, account_id, name, pin_hash, is_default, created_at";

pub(super) fn profile_from_row(row: &Row<'_>) -> StoreResult<ProfileRecord> {
    Ok(ProfileRecord {
        id: parsed(row, "id")?,
        account_id: parsed(row, "account_id")?,
        name: get(row, "name")?,
        pin_hash: get(row, "pin_hash")?,
        is_default: get::<i64>(row, "is_default")? != 0,
        created_at: get(row, "created_at")?,
    })
}

pub(super) const ACCOUNT_COLUMNS: &str = "id, email, password_hash, plan, created_at";

pub(super) fn account_from_row(row: &Row<'_>) -> StoreResult<AccountRecord> {
    Ok(AccountRecord {
        id: parsed(row, "id")?,
        // As stored: rows from before today's normalisation are re-checked
        // at start-up, never refused on read.
        email: Email::from_stored(get(row, "email")?),
        password_hash: get(row, "password_hash")?,
        plan: PlanName(get(row, "plan")?),
        created_at: get(row, "created_at")?,
    })
}

/// A row of the revocation log.
pub(super) fn revoked_from_row(row: &Row<'_>) -> StoreResult<RevokedSession> {
    Ok(RevokedSession {
        seq: get(row, "seq")?,
        session_id: parsed(row, "session_id")?,
        account_id: parsed(row, "account_id")?,
        reason: parsed(row, "reason")?,
        at: get(row, "at")?,
        ended_stream: get::<Option<String>>(row, "ended_stream")?.and_then(|s| s.parse().ok()),
        device: None,
    })
}

/// The device of a session being revoked.
pub(super) fn revoked_device(row: &Row<'_>) -> StoreResult<RevokedDevice> {
    Ok(RevokedDevice {
        name: get(row, "device_name")?,
        kind: parsed(row, "device_type")?,
        last_ip: ip(row, "last_ip")?,
    })
}

pub(super) const STREAM_COLUMNS_BARE: &str = "id, account_id, session_id, title, profile_id, \
     started_at, lease_expires_at, ended_at, end_reason";

pub(super) const STREAM_COLUMNS: &str = "s.id, s.account_id, s.session_id, s.title, s.profile_id, \
     s.started_at, s.lease_expires_at, s.ended_at, s.end_reason";

pub(super) fn stream_from_row(row: &Row<'_>) -> StoreResult<StreamRecord> {
    let ended = match get::<Option<i64>>(row, "ended_at")? {
        None => None,
        Some(at) => Some((parsed(row, "end_reason")?, at)),
    };
    Ok(StreamRecord {
        id: parsed(row, "id")?,
        account_id: parsed(row, "account_id")?,
        session_id: parsed(row, "session_id")?,
        title: get(row, "title")?,
        profile_id: opt_parsed(row, "profile_id")?,
        started_at: get(row, "started_at")?,
        lease_expires_at: get(row, "lease_expires_at")?,
        ended,
    })
}

/// A stream ended by a statement that returned `id, session_id, account_id`.
pub(super) fn ended_from_row(row: &Row<'_>, reason: StreamEndReason) -> StoreResult<EndedStream> {
    Ok(EndedStream {
        stream_id: parsed(row, "id")?,
        session_id: parsed(row, "session_id")?,
        account_id: parsed(row, "account_id")?,
        reason,
    })
}

/// A stream ended by a statement that also returned its `end_reason`.
pub(super) fn ended_with_reason(row: &Row<'_>) -> StoreResult<EndedStream> {
    ended_from_row(row, parsed(row, "end_reason")?)
}

pub(super) fn active_from_row(row: &Row<'_>) -> StoreResult<ActiveStream> {
    Ok(ActiveStream {
        stream: stream_from_row(row)?,
        device_name: get(row, "device_name")?,
        device_type: parsed(row, "device_type")?,
        profile: profile_ref(row, "profile_id", "profile_name")?,
    })
}
