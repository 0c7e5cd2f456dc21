//! Stream slots.
//!
//! Why admission is exact. A start counts the account's live streams and
//! inserts in one transaction, and starts of one account never interleave:
//!
//! - SQLite: every write transaction of the process runs under the store's
//!   write lock, so they are serial; a start runs on the in-process writer
//!   connection (`direct.rs`) in a transaction that begins `IMMEDIATE`, so it
//!   holds the file's write lock before it counts, and another process
//!   writing the same file waits for it to commit.
//! - PostgreSQL: the transaction first locks the account's row
//!   (`SELECT … FOR UPDATE`), so concurrent starts of one account, on any
//!   number of nodes, queue on that lock; each statement after it runs in
//!   READ COMMITTED with a fresh snapshot, so the count sees every start and
//!   stop committed before the lock was granted. The device's session row is
//!   locked too, so a sign-out (which ends the session's stream in its own
//!   transaction) is either seen as done or waits until the start commits and
//!   then ends the new stream.
//!
//! Leases are judged by the clock of the node deciding. So that a node whose
//! clock runs behind cannot renew a lease another node already counted as
//! lapsed, a start first ends the account's lapsed streams durably; a
//! heartbeat only extends a stream that has not ended.
//!
//! The statements and the decisions between them are shared; only how they
//! reach the database differs (sqlx, or rusqlite in-process on SQLite).

use std::sync::LazyLock;

use async_trait::async_trait;
use rusqlite::Connection;

use super::direct;
use super::rows::*;
use super::SqlStore;
use crate::domain::*;
use crate::store::decide::{lapsed, profile_refusal, profile_step, refusal, started, ProfileStep};
use crate::store::*;

/// The account's plan, whether the device is still signed in, and the
/// profile it is on, in one statement: round trips are most of an
/// admission's cost.
const ADMISSION: &str = "SELECT a.plan, CASE WHEN EXISTS (SELECT 1 FROM sessions s \
     WHERE s.id = $2 AND s.account_id = $1 AND s.revoked_at IS NULL) THEN 1 ELSE 0 END AS signed_in, \
     (SELECT s.profile_id FROM sessions s WHERE s.id = $2 AND s.account_id = $1) AS profile_id \
     FROM accounts a WHERE a.id = $1";

/// Whether a profile of the account has a PIN.
const PROFILE_LOCKED: &str = "SELECT CASE WHEN pin_hash IS NULL THEN 0 ELSE 1 END AS locked \
     FROM profiles WHERE id = $1 AND account_id = $2";

/// Streams of the account that count against its plan at `$2`, oldest first.
static LIVE_STREAMS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {STREAM_COLUMNS}, se.device_name, se.device_type, p.name AS profile_name \
         FROM streams s JOIN sessions se ON se.id = s.session_id \
         LEFT JOIN profiles p ON p.id = s.profile_id \
         WHERE s.account_id = $1 AND s.ended_at IS NULL AND s.lease_expires_at > $2 \
         ORDER BY s.started_at, s.id"
    )
});

/// Ends, in one statement, the device's own stream (replaced) and the
/// account's lapsed ones, durably, so no heartbeat can renew them.
const END_REPLACED_AND_LAPSED: &str = "UPDATE streams SET \
     ended_at = CASE WHEN session_id = $2 AND lease_expires_at > $3 THEN $3 ELSE lease_expires_at END, \
     end_reason = CASE WHEN session_id = $2 AND lease_expires_at > $3 THEN 'replaced' ELSE 'lease_expired' END \
     WHERE account_id = $1 AND ended_at IS NULL AND (session_id = $2 OR lease_expires_at <= $3) \
     RETURNING id, session_id, account_id, end_reason";

const INSERT_STREAM: &str = "INSERT INTO streams \
     (id, account_id, session_id, title, profile_id, started_at, lease_expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// Extends a live stream's lease: a heartbeat's one statement in the common case.
static EXTEND_LEASE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE streams SET lease_expires_at = $1 \
         WHERE id = $2 AND session_id = $3 AND ended_at IS NULL AND lease_expires_at > $4 \
         RETURNING {STREAM_COLUMNS_BARE}"
    )
});

static FIND_STREAM: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {STREAM_COLUMNS} FROM streams s WHERE s.id = $1 AND s.session_id = $2")
});

/// Marks a stream whose lease lapsed as ended at its expiry.
const END_LAPSED: &str = "UPDATE streams SET ended_at = lease_expires_at, \
     end_reason = 'lease_expired' WHERE id = $1 AND ended_at IS NULL";

/// Stops a live stream of the account. Conditional, so a stop racing a
/// sign-out, a replacement or another stop neither rewrites how the stream
/// ended nor tells the device twice.
const STOP: &str = "UPDATE streams SET ended_at = $1, \
     end_reason = CASE WHEN session_id = $2 THEN 'stopped' ELSE 'remote' END \
     WHERE id = $3 AND account_id = $4 AND ended_at IS NULL AND lease_expires_at > $1 \
     RETURNING id, session_id, account_id, end_reason";

const STREAM_EXISTS: &str = "SELECT 1 AS found FROM streams WHERE id = $1 AND account_id = $2";

const EXPIRE_LEASES: &str = "UPDATE streams SET ended_at = lease_expires_at, \
     end_reason = 'lease_expired' WHERE ended_at IS NULL AND lease_expires_at <= $1 \
     RETURNING id, session_id, account_id";

/// A row of `END_REPLACED_AND_LAPSED` or `STOP`.
fn ended_with_reason(row: &impl Columns) -> StoreResult<EndedStream> {
    ended_from_row(row, end_reason(row)?)
}

#[async_trait]
impl StreamStore for SqlStore {
    async fn start_stream(&self, new: &NewStream, plans: &Plans) -> StoreResult<StartOutcome> {
        match &self.direct {
            Some(d) => {
                let (new, plans) = (new.clone(), plans.clone());
                d.write(move |conn| start_in_process(conn, &new, &plans))
                    .await
            }
            None => self.start_locking_rows(new, plans).await,
        }
    }

    async fn heartbeat(
        &self,
        session: SessionId,
        id: StreamId,
        now: Millis,
        lease_ms: Millis,
    ) -> StoreResult<HeartbeatOutcome> {
        if let Some(d) = &self.direct {
            return d
                .write(move |conn| heartbeat_in_process(conn, session, id, now, lease_ms))
                .await;
        }
        let extended = sqlx::query(&EXTEND_LEASE)
            .bind(now + lease_ms)
            .bind(id.to_string())
            .bind(session.to_string())
            .bind(now)
            .fetch_optional(&self.writer)
            .await
            .map_err(classify)?;
        if let Some(row) = extended {
            return Ok(HeartbeatOutcome::Extended(stream_from_row(&row)?));
        }
        let mut tx = self.begin().await?;
        let found = sqlx::query(&FIND_STREAM)
            .bind(id.to_string())
            .bind(session.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(classify)?;
        let Some(row) = found else {
            return Ok(HeartbeatOutcome::NotFound);
        };
        let stream = stream_from_row(&row)?;
        if let Some((reason, _)) = stream.ended {
            return Ok(HeartbeatOutcome::Ended {
                reason,
                expired_now: None,
            });
        }
        // The lease lapsed before this heartbeat: the slot was already free.
        let done = sqlx::query(END_LAPSED)
            .bind(stream.id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        tx.commit().await.map_err(classify)?;
        Ok(HeartbeatOutcome::Ended {
            reason: StreamEndReason::LeaseExpired,
            expired_now: (done.rows_affected() == 1).then(|| lapsed(&stream)),
        })
    }

    async fn stop_stream(
        &self,
        account: AccountId,
        id: StreamId,
        by: SessionId,
        now: Millis,
    ) -> StoreResult<StopOutcome> {
        if let Some(d) = &self.direct {
            return d
                .write(move |conn| stop_in_process(conn, account, id, by, now))
                .await;
        }
        let stopped = sqlx::query(STOP)
            .bind(now)
            .bind(by.to_string())
            .bind(id.to_string())
            .bind(account.to_string())
            .fetch_optional(&self.writer)
            .await
            .map_err(classify)?;
        if let Some(row) = stopped {
            return Ok(StopOutcome::Stopped(ended_with_reason(&row)?));
        }
        // Not live: ended already (or lapsed, which the reaper records), or
        // not this account's at all.
        let exists = sqlx::query(STREAM_EXISTS)
            .bind(id.to_string())
            .bind(account.to_string())
            .fetch_optional(&self.reader)
            .await
            .map_err(classify)?;
        Ok(match exists {
            Some(_) => StopOutcome::AlreadyEnded,
            None => StopOutcome::NotFound,
        })
    }

    async fn live_streams(
        &self,
        account: AccountId,
        now: Millis,
    ) -> StoreResult<Vec<ActiveStream>> {
        let mut conn = self.reader.acquire().await.map_err(classify)?;
        live_streams_in(&mut conn, account, now).await
    }

    async fn expire_leases(&self, now: Millis) -> StoreResult<Vec<EndedStream>> {
        if let Some(d) = &self.direct {
            return d
                .write(move |conn| {
                    direct::fetch_all(conn, EXPIRE_LEASES, &[&now], |row| {
                        ended_from_row(row, StreamEndReason::LeaseExpired)
                    })
                })
                .await;
        }
        sqlx::query(EXPIRE_LEASES)
            .bind(now)
            .fetch_all(&self.writer)
            .await
            .map_err(classify)?
            .iter()
            .map(|row| ended_from_row(row, StreamEndReason::LeaseExpired))
            .collect()
    }
}

impl SqlStore {
    /// A start on PostgreSQL: the account's and the session's rows locked.
    async fn start_locking_rows(
        &self,
        new: &NewStream,
        plans: &Plans,
    ) -> StoreResult<StartOutcome> {
        let mut tx = self.begin().await?;
        let account = new.account_id.to_string();
        let session = new.session_id.to_string();
        let lock = self.dialect.for_update();
        let row = sqlx::query(&format!("{ADMISSION}{lock}"))
            .bind(&account)
            .bind(&session)
            .fetch_one(&mut *tx)
            .await
            .map_err(classify)?;
        if row.int("signed_in")? == 0 {
            return Ok(StartOutcome::SessionEnded);
        }
        let plan = row.text("plan")?;
        // Locks the device's session so a sign-out waits until this start
        // commits (and then ends the new stream); re-checked under the lock,
        // in case a sign-out or a profile lock committed since the statement
        // above.
        let still = sqlx::query(&format!(
            "SELECT profile_id FROM sessions WHERE id = $1 AND revoked_at IS NULL{lock}"
        ))
        .bind(&session)
        .fetch_optional(&mut *tx)
        .await
        .map_err(classify)?;
        let Some(still) = still else {
            return Ok(StartOutcome::SessionEnded);
        };
        let profile = match profile_step(new.profile_id, profile_id(&still, "profile_id")?) {
            ProfileStep::Use(profile) => profile,
            ProfileStep::Refuse(outcome) => return Ok(outcome),
            ProfileStep::Check(asked) => {
                let locked = sqlx::query(PROFILE_LOCKED)
                    .bind(asked.to_string())
                    .bind(&account)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(classify)?
                    .map(|row| row.int("locked").map(|l| l != 0))
                    .transpose()?;
                if let Some(refusal) = profile_refusal(locked) {
                    return Ok(refusal);
                }
                asked
            }
        };
        let live = live_streams_in(&mut tx, new.account_id, new.now).await?;
        if let Some(full) = refusal(new, live, plans, &plan) {
            tx.rollback().await.map_err(classify)?;
            return Ok(full);
        }
        let ended = sqlx::query(END_REPLACED_AND_LAPSED)
            .bind(&account)
            .bind(&session)
            .bind(new.now)
            .fetch_all(&mut *tx)
            .await
            .map_err(classify)?
            .iter()
            .map(ended_with_reason)
            .collect::<StoreResult<Vec<_>>>()?;
        sqlx::query(INSERT_STREAM)
            .bind(new.id.to_string())
            .bind(&account)
            .bind(&session)
            .bind(new.title.as_str())
            .bind(profile.to_string())
            .bind(new.now)
            .bind(new.now + new.lease_ms)
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        tx.commit().await.map_err(classify)?;
        Ok(started(new, profile, ended))
    }
}

async fn live_streams_in(
    conn: &mut sqlx::AnyConnection,
    account: AccountId,
    now: Millis,
) -> StoreResult<Vec<ActiveStream>> {
    sqlx::query(&LIVE_STREAMS)
        .bind(account.to_string())
        .bind(now)
        .fetch_all(conn)
        .await
        .map_err(classify)?
        .iter()
        .map(active_from_row)
        .collect()
}

/// A start on SQLite, inside the writer's `IMMEDIATE` transaction.
fn start_in_process(
    conn: &Connection,
    new: &NewStream,
    plans: &Plans,
) -> StoreResult<StartOutcome> {
    let account = new.account_id.to_string();
    let session = new.session_id.to_string();
    let Some((plan, signed_in, current)) =
        direct::fetch_optional(conn, ADMISSION, &[&account, &session], |row| {
            Ok((
                row.text("plan")?,
                row.int("signed_in")?,
                profile_id(row, "profile_id")?,
            ))
        })?
    else {
        return Err(corrupt("a signed-in session's account is missing"));
    };
    if signed_in == 0 {
        return Ok(StartOutcome::SessionEnded);
    }
    let profile = match profile_step(new.profile_id, current) {
        ProfileStep::Use(profile) => profile,
        ProfileStep::Refuse(outcome) => return Ok(outcome),
        ProfileStep::Check(asked) => {
            let locked = direct::fetch_optional(
                conn,
                PROFILE_LOCKED,
                &[&asked.to_string(), &account],
                |row| row.int("locked").map(|l| l != 0),
            )?;
            if let Some(refusal) = profile_refusal(locked) {
                return Ok(refusal);
            }
            asked
        }
    };
    let live = direct::fetch_all(conn, &LIVE_STREAMS, &[&account, &new.now], |row| {
        active_from_row(row)
    })?;
    if let Some(full) = refusal(new, live, plans, &plan) {
        return Ok(full);
    }
    let ended = direct::fetch_all(
        conn,
        END_REPLACED_AND_LAPSED,
        &[&account, &session, &new.now],
        |row| ended_with_reason(row),
    )?;
    direct::execute(
        conn,
        INSERT_STREAM,
        &[
            &new.id.to_string(),
            &account,
            &session,
            &new.title.as_str(),
            &profile.to_string(),
            &new.now,
            &(new.now + new.lease_ms),
        ],
    )?;
    Ok(started(new, profile, ended))
}

fn heartbeat_in_process(
    conn: &Connection,
    session: SessionId,
    id: StreamId,
    now: Millis,
    lease_ms: Millis,
) -> StoreResult<HeartbeatOutcome> {
    let (id, session) = (id.to_string(), session.to_string());
    let extended = direct::fetch_optional(
        conn,
        &EXTEND_LEASE,
        &[&(now + lease_ms), &id, &session, &now],
        |row| stream_from_row(row),
    )?;
    if let Some(stream) = extended {
        return Ok(HeartbeatOutcome::Extended(stream));
    }
    let Some(stream) = direct::fetch_optional(conn, &FIND_STREAM, &[&id, &session], |row| {
        stream_from_row(row)
    })?
    else {
        return Ok(HeartbeatOutcome::NotFound);
    };
    if let Some((reason, _)) = stream.ended {
        return Ok(HeartbeatOutcome::Ended {
            reason,
            expired_now: None,
        });
    }
    let done = direct::execute(conn, END_LAPSED, &[&id])?;
    Ok(HeartbeatOutcome::Ended {
        reason: StreamEndReason::LeaseExpired,
        expired_now: (done == 1).then(|| lapsed(&stream)),
    })
}

fn stop_in_process(
    conn: &Connection,
    account: AccountId,
    id: StreamId,
    by: SessionId,
    now: Millis,
) -> StoreResult<StopOutcome> {
    let (account, id) = (account.to_string(), id.to_string());
    let stopped =
        direct::fetch_optional(conn, STOP, &[&now, &by.to_string(), &id, &account], |row| {
            ended_with_reason(row)
        })?;
    if let Some(ended) = stopped {
        return Ok(StopOutcome::Stopped(ended));
    }
    let exists = direct::fetch_optional(conn, STREAM_EXISTS, &[&id, &account], |_| Ok(()))?;
    Ok(match exists {
        Some(()) => StopOutcome::AlreadyEnded,
        None => StopOutcome::NotFound,
    })
}
