//! Row mapping: each record is read from a `PgRow` in one place. Ids,
//! reasons and device types are TEXT columns, parsed here; a value that does
//! not parse is a corrupt row.

use std::str::FromStr;

use sqlx::postgres::PgRow;
use sqlx::Row;

use crate::domain::*;
use crate::store::*;

pub(super) fn corrupt(what: &str) -> StoreError {
    StoreError::other(anyhow::anyhow!("corrupt row: {what}"))
}

/// Text columns read as the domain types they hold.
pub(super) trait ParsedColumns {
    fn parsed<T: FromStr>(&self, col: &str) -> StoreResult<T>;
    fn opt_parsed<T: FromStr>(&self, col: &str) -> StoreResult<Option<T>>;
}

impl ParsedColumns for PgRow {
    fn parsed<T: FromStr>(&self, col: &str) -> StoreResult<T> {
        self.try_get::<&str, _>(col)?
            .parse()
            .map_err(|_| corrupt(col))
    }

    fn opt_parsed<T: FromStr>(&self, col: &str) -> StoreResult<Option<T>> {
        self.try_get::<Option<&str>, _>(col)?
            .map(|s| s.parse().map_err(|_| corrupt(col)))
            .transpose()
    }
}

/// A session's columns, for a statement on `sessions` that does not alias
/// the table, with the name of its profile.
macro_rules! session_columns {
    () => {
        "id, account_id, device_name, device_type, device_model, app_version, created_at, \
         last_active_at, last_ip, revoked_at, revoked_reason, web_secret_hash, profile_id, \
         (SELECT p.name FROM profiles p WHERE p.id = sessions.profile_id) AS profile_name"
    };
}
pub(super) use session_columns;

macro_rules! profile_columns {
    () => {
        "id, account_id, name, pin_hash, is_default, created_at"
    };
}
pub(super) use profile_columns;

/// A stream's columns, for a statement that aliases `streams` as `s`.
macro_rules! stream_columns {
    () => {
        "s.id, s.account_id, s.session_id, s.title, s.profile_id, s.started_at, \
         s.lease_expires_at, s.ended_at, s.end_reason"
    };
}
pub(super) use stream_columns;

macro_rules! activity_columns {
    () => {
        "id, account_id, at, kind, session_id, device_name, device_type, ip, location, detail"
    };
}
pub(super) use activity_columns;

pub(super) fn account_from_row(row: &PgRow) -> StoreResult<AccountRecord> {
    Ok(AccountRecord {
        id: row.parsed("id")?,
        // As stored: rows from before today's normalisation are re-checked
        // at start-up, never refused on read.
        email: Email::from_stored(row.try_get("email")?),
        password_hash: row.try_get("password_hash")?,
        plan: PlanName(row.try_get("plan")?),
        created_at: row.try_get("created_at")?,
    })
}

pub(super) fn session_from_row(row: &PgRow) -> StoreResult<SessionRecord> {
    let device = DeviceInfo::parse(
        row.try_get("device_name")?,
        row.parsed("device_type")?,
        row.try_get("device_model")?,
        row.try_get("app_version")?,
    )
    .map_err(|_| corrupt("device"))?;
    let revoked = match row.try_get::<Option<i64>, _>("revoked_at")? {
        None => None,
        Some(at) => Some(Revocation {
            reason: row.parsed("revoked_reason")?,
            at,
        }),
    };
    Ok(SessionRecord {
        id: row.parsed("id")?,
        account_id: row.parsed("account_id")?,
        device,
        created_at: row.try_get("created_at")?,
        last_active_at: row.try_get("last_active_at")?,
        last_ip: ip(row, "last_ip")?,
        revoked,
        web_secret_hash: row.try_get("web_secret_hash")?,
        profile: profile_ref(row, "profile_id", "profile_name")?,
    })
}

/// An address column; one that does not parse is no address (as before).
fn ip(row: &PgRow, col: &str) -> StoreResult<Option<std::net::IpAddr>> {
    Ok(row
        .try_get::<Option<&str>, _>(col)?
        .and_then(|ip| ip.parse().ok()))
}

/// A profile named by two columns; a dangling id (no name) is no profile.
pub(super) fn profile_ref(row: &PgRow, id: &str, name: &str) -> StoreResult<Option<ProfileRef>> {
    let id: Option<ProfileId> = row.opt_parsed(id)?;
    let name: Option<String> = row.try_get(name)?;
    Ok(id.zip(name).map(|(id, name)| ProfileRef { id, name }))
}

pub(super) fn profile_from_row(row: &PgRow) -> StoreResult<ProfileRecord> {
    Ok(ProfileRecord {
        id: row.parsed("id")?,
        account_id: row.parsed("account_id")?,
        name: row.try_get("name")?,
        pin_hash: row.try_get("pin_hash")?,
        is_default: row.try_get::<i64, _>("is_default")? != 0,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) fn revoked_from_row(row: &PgRow) -> StoreResult<RevokedSession> {
    Ok(RevokedSession {
        seq: row.try_get("seq")?,
        session_id: row.parsed("session_id")?,
        account_id: row.parsed("account_id")?,
        reason: row.parsed("reason")?,
        at: row.try_get("at")?,
        ended_stream: row
            .try_get::<Option<&str>, _>("ended_stream")?
            .and_then(|s| s.parse().ok()),
        device: None,
    })
}

/// The device a revocation signed out, from `device_name, device_type, last_ip`.
pub(super) fn revoked_device(row: &PgRow) -> StoreResult<RevokedDevice> {
    Ok(RevokedDevice {
        name: row.try_get("device_name")?,
        kind: row.parsed("device_type")?,
        last_ip: ip(row, "last_ip")?,
    })
}

pub(super) fn stream_from_row(row: &PgRow) -> StoreResult<StreamRecord> {
    let ended = match row.try_get::<Option<i64>, _>("ended_at")? {
        None => None,
        Some(at) => Some((row.parsed("end_reason")?, at)),
    };
    Ok(StreamRecord {
        id: row.parsed("id")?,
        account_id: row.parsed("account_id")?,
        session_id: row.parsed("session_id")?,
        title: row.try_get("title")?,
        profile_id: row.opt_parsed("profile_id")?,
        started_at: row.try_get("started_at")?,
        lease_expires_at: row.try_get("lease_expires_at")?,
        ended,
    })
}

/// A stream ended by a statement that returned `id, session_id, account_id`.
pub(super) fn ended_from_row(row: &PgRow, reason: StreamEndReason) -> StoreResult<EndedStream> {
    Ok(EndedStream {
        stream_id: row.parsed("id")?,
        session_id: row.parsed("session_id")?,
        account_id: row.parsed("account_id")?,
        reason,
    })
}

/// A stream ended by a statement that also returned its `end_reason`.
pub(super) fn ended_with_reason(row: &PgRow) -> StoreResult<EndedStream> {
    ended_from_row(row, row.parsed("end_reason")?)
}

pub(super) fn active_from_row(row: &PgRow) -> StoreResult<ActiveStream> {
    Ok(ActiveStream {
        stream: stream_from_row(row)?,
        device_name: row.try_get("device_name")?,
        device_type: row.parsed("device_type")?,
        profile: profile_ref(row, "profile_id", "profile_name")?,
    })
}

pub(super) fn activity_from_row(row: &PgRow) -> StoreResult<ActivityRecord> {
    let kind = row.parsed("kind")?;
    Ok(ActivityRecord {
        id: row.parsed("id")?,
        account_id: row.parsed("account_id")?,
        at: row.try_get("at")?,
        kind,
        session_id: row.opt_parsed("session_id")?,
        device_name: row.try_get("device_name")?,
        device_type: row.opt_parsed("device_type")?,
        ip: ip(row, "ip")?,
        location: row
            .try_get::<Option<&str>, _>("location")?
            .map(json)
            .transpose()?,
        detail: ActivityDetail::read(kind, json(row.try_get("detail")?)?),
    })
}

pub(super) fn alert_from_row(row: &PgRow) -> StoreResult<AlertRecord> {
    Ok(AlertRecord {
        id: row.parsed("id")?,
        account_id: row.parsed("account_id")?,
        session_id: row.parsed("session_id")?,
        at: row.try_get("at")?,
        body: AlertBody::read(json(row.try_get("body")?)?),
    })
}

/// A JSON document kept in a TEXT column.
fn json(raw: &str) -> StoreResult<serde_json::Value> {
    serde_json::from_str(raw).map_err(|_| corrupt("json"))
}

pub(super) fn webhook_from_row(row: &PgRow) -> StoreResult<WebhookDelivery> {
    Ok(WebhookDelivery {
        id: row.try_get("id")?,
        alert_id: row.parsed("alert_id")?,
        body: row.try_get("body")?,
        attempts: row.try_get::<i64, _>("attempts")?.max(0) as u32,
    })
}
