//! Stream slots: admission, heartbeats, stops and lapsed leases. Why
//! admission is exact is the engine's doc (`mod.rs`); the decisions between
//! the statements are `store::decide`'s.

use async_trait::async_trait;
use sqlx::PgConnection;

use super::rows::*;
use super::PgStore;
use crate::domain::*;
use crate::store::decide::{lapsed, profile_refusal, profile_step, refusal, started, ProfileStep};
use crate::store::*;

/// The account's plan, its row locked: starts of one account queue here.
const LOCK_ACCOUNT: &str = "SELECT plan FROM accounts WHERE id = $1 FOR UPDATE";

/// The profile the device is on, its session row locked; no row when the
/// device is signed out.
const LOCK_SESSION: &str = "SELECT profile_id FROM sessions \
     WHERE id = $1 AND account_id = $2 AND revoked_at IS NULL FOR UPDATE";

/// Whether a profile of the account has a PIN; no row when it is not the
/// account's.
const PROFILE_LOCKED: &str =
    "SELECT pin_hash IS NOT NULL FROM profiles WHERE id = $1 AND account_id = $2";

/// Streams of the account that count against its plan at `$2`, oldest first.
const LIVE_STREAMS: &str = concat!(
    "SELECT ",
    stream_columns!(),
    ", se.device_name, se.device_type, p.name AS profile_name \
     FROM streams s JOIN sessions se ON se.id = s.session_id \
     LEFT JOIN profiles p ON p.id = s.profile_id \
     WHERE s.account_id = $1 AND s.ended_at IS NULL AND s.lease_expires_at > $2 \
     ORDER BY s.started_at, s.id"
);

/// Streams holding a slot at `$1`, in every account (the open-by-lease index).
const COUNT_LIVE_STREAMS: &str =
    "SELECT COUNT(*) FROM streams WHERE ended_at IS NULL AND lease_expires_at > $1";

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
const EXTEND_LEASE: &str = concat!(
    "UPDATE streams s SET lease_expires_at = $1 \
     WHERE s.id = $2 AND s.session_id = $3 AND s.ended_at IS NULL AND s.lease_expires_at > $4 \
     RETURNING ",
    stream_columns!()
);

const FIND_STREAM: &str = concat!(
    "SELECT ",
    stream_columns!(),
    " FROM streams s WHERE s.id = $1 AND s.session_id = $2"
);

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

const STREAM_EXISTS: &str =
    "SELECT EXISTS (SELECT 1 FROM streams WHERE id = $1 AND account_id = $2)";

const EXPIRE_LEASES: &str = "UPDATE streams SET ended_at = lease_expires_at, \
     end_reason = 'lease_expired' WHERE ended_at IS NULL AND lease_expires_at <= $1 \
     RETURNING id, session_id, account_id";

#[async_trait]
impl StreamStore for PgStore {
    async fn start_stream(&self, new: &NewStream, plans: &Plans) -> StoreResult<StartOutcome> {
        let mut tx = self.begin().await?;
        let account = new.account_id.to_string();
        let session = new.session_id.to_string();
        let plan: String = sqlx::query_scalar(LOCK_ACCOUNT)
            .bind(&account)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| corrupt("a signed-in session's account is missing"))?;
        // Read under the session's lock: a sign-out or a profile lock that
        // committed before it is seen, a later one waits for this commit.
        let Some(current) = sqlx::query_scalar::<_, Option<String>>(LOCK_SESSION)
            .bind(&session)
            .bind(&account)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(StartOutcome::SessionEnded);
        };
        let current = current
            .map(|id| id.parse().map_err(|_| corrupt("profile id")))
            .transpose()?;
        let profile = match profile_step(new.profile_id, current) {
            ProfileStep::Use(profile) => profile,
            ProfileStep::Refuse(outcome) => return Ok(outcome),
            ProfileStep::Check(asked) => {
                let locked: Option<bool> = sqlx::query_scalar(PROFILE_LOCKED)
                    .bind(asked.to_string())
                    .bind(&account)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(refusal) = profile_refusal(locked) {
                    return Ok(refusal);
                }
                asked
            }
        };
        let live = live_streams_in(&mut tx, new.account_id, new.now).await?;
        if let Some(full) = refusal(new, live, plans, &plan) {
            return Ok(full);
        }
        let ended = sqlx::query(END_REPLACED_AND_LAPSED)
            .bind(&account)
            .bind(&session)
            .bind(new.now)
            .fetch_all(&mut *tx)
            .await?
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
            .await?;
        tx.commit().await?;
        Ok(started(new, profile, ended))
    }

    async fn heartbeat(&self, beat: &Heartbeat) -> StoreResult<HeartbeatOutcome> {
        let (session, id) = (beat.session, beat.stream);
        let (now, lease_ms) = (beat.now, beat.lease_ms);
        let (id, session) = (id.to_string(), session.to_string());
        let extended = sqlx::query(EXTEND_LEASE)
            .bind(now + lease_ms)
            .bind(&id)
            .bind(&session)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        if let Some(row) = extended {
            return Ok(HeartbeatOutcome::Extended(stream_from_row(&row)?));
        }
        let mut tx = self.begin().await?;
        let Some(row) = sqlx::query(FIND_STREAM)
            .bind(&id)
            .bind(&session)
            .fetch_optional(&mut *tx)
            .await?
        else {
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
        let done = sqlx::query(END_LAPSED).bind(&id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(HeartbeatOutcome::Ended {
            reason: StreamEndReason::LeaseExpired,
            expired_now: (done.rows_affected() == 1).then(|| lapsed(&stream)),
        })
    }

    async fn stop_stream(&self, stop: &StreamStop) -> StoreResult<StopOutcome> {
        let (account, id, by, now) = (stop.account, stop.stream, stop.by, stop.now);
        let (account, id) = (account.to_string(), id.to_string());
        let stopped = sqlx::query(STOP)
            .bind(now)
            .bind(by.to_string())
            .bind(&id)
            .bind(&account)
            .fetch_optional(&self.pool)
            .await?;
        if let Some(row) = stopped {
            return Ok(StopOutcome::Stopped(ended_with_reason(&row)?));
        }
        // Not live: ended already (or lapsed, which the reaper records), or
        // not this account's at all.
        let exists: bool = sqlx::query_scalar(STREAM_EXISTS)
            .bind(&id)
            .bind(&account)
            .fetch_one(&self.pool)
            .await?;
        Ok(if exists {
            StopOutcome::AlreadyEnded
        } else {
            StopOutcome::NotFound
        })
    }

    async fn live_streams(
        &self,
        account: AccountId,
        now: Millis,
    ) -> StoreResult<Vec<ActiveStream>> {
        let mut conn = self.pool.acquire().await?;
        live_streams_in(&mut conn, account, now).await
    }

    async fn expire_leases(&self, now: Millis) -> StoreResult<Vec<EndedStream>> {
        sqlx::query(EXPIRE_LEASES)
            .bind(now)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| ended_from_row(row, StreamEndReason::LeaseExpired))
            .collect()
    }

    async fn live_stream_count(&self, now: Millis) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(COUNT_LIVE_STREAMS)
            .bind(now)
            .fetch_one(&self.pool)
            .await
            .map_err(super::errors::uncounted)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// The account's live streams with who plays them: the same statement
/// counts the slots and lists their holders (see `decide::refusal`).
async fn live_streams_in(
    conn: &mut PgConnection,
    account: AccountId,
    now: Millis,
) -> StoreResult<Vec<ActiveStream>> {
    sqlx::query(LIVE_STREAMS)
        .bind(account.to_string())
        .bind(now)
        .fetch_all(conn)
        .await?
        .iter()
        .map(active_from_row)
        .collect()
}
