//! Stream slots. Each call is one writer job (starts, heartbeats, stops) or
//! one read; why admission is exact is in the engine's doc (`mod.rs`).

use std::sync::LazyLock;

use async_trait::async_trait;
use rusqlite::Connection;

use super::rows::*;
use super::SqliteStore;
use crate::domain::*;
use crate::store::decide::{lapsed, profile_refusal, profile_step, refusal, started, ProfileStep};
use crate::store::*;

/// The account's plan, whether the device is still signed in, and the
/// profile it is on, in one statement.
const ADMISSION: &str = "SELECT a.plan, CASE WHEN EXISTS (SELECT 1 FROM sessions s \
     WHERE s.id = ?2 AND s.account_id = ?1 AND s.revoked_at IS NULL) THEN 1 ELSE 0 END AS signed_in, \
     (SELECT s.profile_id FROM sessions s WHERE s.id = ?2 AND s.account_id = ?1) AS profile_id \
     FROM accounts a WHERE a.id = ?1";

/// Whether a profile of the account has a PIN.
const PROFILE_LOCKED: &str = "SELECT CASE WHEN pin_hash IS NULL THEN 0 ELSE 1 END AS locked \
     FROM profiles WHERE id = ?1 AND account_id = ?2";

/// Streams of the account that count against its plan at `?2`, oldest first.
static LIVE_STREAMS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {STREAM_COLUMNS}, se.device_name, se.device_type, p.name AS profile_name \
         FROM streams s JOIN sessions se ON se.id = s.session_id \
         LEFT JOIN profiles p ON p.id = s.profile_id \
         WHERE s.account_id = ?1 AND s.ended_at IS NULL AND s.lease_expires_at > ?2 \
         ORDER BY s.started_at, s.id"
    )
});

/// Ends, in one statement, the device's own stream (replaced) and the
/// account's lapsed ones, durably, so no heartbeat can renew them.
const END_REPLACED_AND_LAPSED: &str = "UPDATE streams SET \
     ended_at = CASE WHEN session_id = ?2 AND lease_expires_at > ?3 THEN ?3 ELSE lease_expires_at END, \
     end_reason = CASE WHEN session_id = ?2 AND lease_expires_at > ?3 THEN 'replaced' ELSE 'lease_expired' END \
     WHERE account_id = ?1 AND ended_at IS NULL AND (session_id = ?2 OR lease_expires_at <= ?3) \
     RETURNING id, session_id, account_id, end_reason";

/// Streams holding a slot at `?1`, in every account (the open-by-lease index).
const COUNT_LIVE_STREAMS: &str =
    "SELECT COUNT(*) FROM streams WHERE ended_at IS NULL AND lease_expires_at > ?1";

const INSERT_STREAM: &str = "INSERT INTO streams \
     (id, account_id, session_id, title, profile_id, started_at, lease_expires_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// Extends a live stream's lease: a heartbeat's one statement in the common case.
static EXTEND_LEASE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE streams SET lease_expires_at = ?1 \
         WHERE id = ?2 AND session_id = ?3 AND ended_at IS NULL AND lease_expires_at > ?4 \
         RETURNING {STREAM_COLUMNS_BARE}"
    )
});

static FIND_STREAM: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {STREAM_COLUMNS} FROM streams s WHERE s.id = ?1 AND s.session_id = ?2")
});

/// Marks a stream whose lease lapsed as ended at its expiry.
const END_LAPSED: &str = "UPDATE streams SET ended_at = lease_expires_at, \
     end_reason = 'lease_expired' WHERE id = ?1 AND ended_at IS NULL";

/// Stops a live stream of the account. Conditional, so a stop racing a
/// sign-out, a replacement or another stop neither rewrites how the stream
/// ended nor tells the device twice.
const STOP: &str = "UPDATE streams SET ended_at = ?1, \
     end_reason = CASE WHEN session_id = ?2 THEN 'stopped' ELSE 'remote' END \
     WHERE id = ?3 AND account_id = ?4 AND ended_at IS NULL AND lease_expires_at > ?1 \
     RETURNING id, session_id, account_id, end_reason";

const STREAM_EXISTS: &str = "SELECT 1 FROM streams WHERE id = ?1 AND account_id = ?2";

const EXPIRE_LEASES: &str = "UPDATE streams SET ended_at = lease_expires_at, \
     end_reason = 'lease_expired' WHERE ended_at IS NULL AND lease_expires_at <= ?1 \
     RETURNING id, session_id, account_id";

/// A start, inside one writer job: nothing else writes between its count
/// and its insert.
fn start(conn: &Connection, new: &NewStream, plans: &Plans) -> StoreResult<StartOutcome> {
    let account = new.account_id.to_string();
    let session = new.session_id.to_string();
    let Some((plan, signed_in, current)) =
        fetch_optional(conn, ADMISSION, [&account, &session], |row| {
            Ok((
                get::<String>(row, "plan")?,
                get::<i64>(row, "signed_in")? != 0,
                opt_parsed::<ProfileId>(row, "profile_id")?,
            ))
        })?
    else {
        return Err(corrupt("a signed-in session's account is missing"));
    };
    if !signed_in {
        return Ok(StartOutcome::SessionEnded);
    }
    let profile = match profile_step(new.profile_id, current) {
        ProfileStep::Use(profile) => profile,
        ProfileStep::Refuse(outcome) => return Ok(outcome),
        ProfileStep::Check(asked) => {
            let locked = fetch_optional(
                conn,
                PROFILE_LOCKED,
                [&asked.to_string(), &account],
                |row| Ok(get::<i64>(row, "locked")? != 0),
            )?;
            if let Some(refusal) = profile_refusal(locked) {
                return Ok(refusal);
            }
            asked
        }
    };
    let live = fetch_all(conn, &LIVE_STREAMS, (&account, new.now), active_from_row)?;
    if let Some(full) = refusal(new, live, plans, &plan) {
        return Ok(full);
    }
    let ended = fetch_all(
        conn,
        END_REPLACED_AND_LAPSED,
        (&account, &session, new.now),
        ended_with_reason,
    )?;
    execute(
        conn,
        INSERT_STREAM,
        (
            new.id.to_string(),
            &account,
            &session,
            new.title.as_str(),
            profile.to_string(),
            new.now,
            new.now + new.lease_ms,
        ),
    )?;
    Ok(started(new, profile, ended))
}

fn heartbeat(conn: &Connection, beat: Heartbeat) -> StoreResult<HeartbeatOutcome> {
    let (session, id) = (beat.session, beat.stream);
    let (now, lease_ms) = (beat.now, beat.lease_ms);
    let (id, session) = (id.to_string(), session.to_string());
    let extended = fetch_optional(
        conn,
        &EXTEND_LEASE,
        (now + lease_ms, &id, &session, now),
        stream_from_row,
    )?;
    if let Some(stream) = extended {
        return Ok(HeartbeatOutcome::Extended(stream));
    }
    let Some(stream) = fetch_optional(conn, &FIND_STREAM, [&id, &session], stream_from_row)? else {
        return Ok(HeartbeatOutcome::NotFound);
    };
    if let Some((reason, _)) = stream.ended {
        return Ok(HeartbeatOutcome::Ended {
            reason,
            expired_now: None,
        });
    }
    // The lease lapsed before this heartbeat: the slot was already free.
    let done = execute(conn, END_LAPSED, [&id])?;
    Ok(HeartbeatOutcome::Ended {
        reason: StreamEndReason::LeaseExpired,
        expired_now: (done == 1).then(|| lapsed(&stream)),
    })
}

fn stop(
    conn: &Connection,
    account: AccountId,
    id: StreamId,
    by: SessionId,
    now: Millis,
) -> StoreResult<StopOutcome> {
    let (account, id) = (account.to_string(), id.to_string());
    let stopped = fetch_optional(
        conn,
        STOP,
        (now, by.to_string(), &id, &account),
        ended_with_reason,
    )?;
    if let Some(ended) = stopped {
        return Ok(StopOutcome::Stopped(ended));
    }
    // Not live: ended already (or lapsed, which the reaper records), or not
    // this account's at all.
    let exists = fetch_optional(conn, STREAM_EXISTS, [&id, &account], |_| Ok(()))?;
    Ok(match exists {
        Some(()) => StopOutcome::AlreadyEnded,
        None => StopOutcome::NotFound,
    })
}

#[async_trait]
impl StreamStore for SqliteStore {
    async fn start_stream(&self, new: &NewStream, plans: &Plans) -> StoreResult<StartOutcome> {
        let (new, plans) = (new.clone(), plans.clone());
        self.writer
            .write(move |conn| start(conn, &new, &plans))
            .await
    }

    async fn heartbeat(&self, beat: &Heartbeat) -> StoreResult<HeartbeatOutcome> {
        let beat = *beat;
        self.writer.write(move |conn| heartbeat(conn, beat)).await
    }

    async fn stop_stream(&self, asked: &StreamStop) -> StoreResult<StopOutcome> {
        let (account, id, by, now) = (asked.account, asked.stream, asked.by, asked.now);
        self.writer
            .write(move |conn| stop(conn, account, id, by, now))
            .await
    }

    async fn live_streams(
        &self,
        account: AccountId,
        now: Millis,
    ) -> StoreResult<Vec<ActiveStream>> {
        self.readers
            .read(move |conn| {
                fetch_all(
                    conn,
                    &LIVE_STREAMS,
                    (account.to_string(), now),
                    active_from_row,
                )
            })
            .await
    }

    async fn expire_leases(&self, now: Millis) -> StoreResult<Vec<EndedStream>> {
        self.writer
            .write(move |conn| {
                fetch_all(conn, EXPIRE_LEASES, [now], |row| {
                    ended_from_row(row, StreamEndReason::LeaseExpired)
                })
            })
            .await
    }

    async fn live_stream_count(&self, now: Millis) -> StoreResult<u64> {
        self.readers
            .read(move |conn| fetch_count_uncounted(conn, COUNT_LIVE_STREAMS, [now]))
            .await
    }
}
