//! Stream slots.
//!
//! Why admission is exact. A start counts the account's live streams and
//! inserts in one transaction, and starts of one account never interleave:
//!
//! - SQLite: every write transaction runs on the store's single writer
//!   connection, so they are serial. (Another process writing the same file
//!   is serialised by SQLite itself: a transaction whose snapshot went stale
//!   before its first write fails with `SQLITE_BUSY_SNAPSHOT` rather than
//!   commit on an outdated count.)
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

use async_trait::async_trait;
use sqlx::Row;

use super::rows::*;
use super::SqlStore;
use crate::domain::*;
use crate::store::*;

#[async_trait]
impl StreamStore for SqlStore {
    async fn start_stream(&self, new: &NewStream, plans: &Plans) -> StoreResult<StartOutcome> {
        let mut tx = self.begin().await?;
        let account = new.account_id.to_string();
        let session = new.session_id.to_string();
        let lock = self.dialect.for_update();
        // Round trips to the database are most of an admission's cost (on
        // SQLite each statement is a hop to its worker thread), so the checks
        // are folded into as few statements as the locking allows.
        let row = sqlx::query(&format!(
            "SELECT a.plan, CASE WHEN EXISTS (SELECT 1 FROM sessions s WHERE s.id = $2 \
             AND s.account_id = $1 AND s.revoked_at IS NULL) THEN 1 ELSE 0 END AS signed_in, \
             (SELECT s.profile_id FROM sessions s WHERE s.id = $2 AND s.account_id = $1) AS profile_id \
             FROM accounts a WHERE a.id = $1{lock}"
        ))
        .bind(&account)
        .bind(&session)
        .fetch_one(&mut *tx)
        .await
        .map_err(classify)?;
        let plan: String = row.try_get("plan").map_err(classify)?;
        let signed_in: i64 = row.try_get("signed_in").map_err(classify)?;
        if signed_in == 0 {
            return Ok(StartOutcome::SessionEnded);
        }
        let mut current = profile_id(&row, "profile_id")?;
        if self.dialect == super::Dialect::Postgres {
            // Locks the device's session so a sign-out waits until this start
            // commits (and then ends the new stream); re-checked under the
            // lock, in case a sign-out or a profile lock committed since the
            // statement above.
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
            current = profile_id(&still, "profile_id")?;
        }
        // The profile is judged here, under the account's lock, never from a
        // node's cache: a profile locked a moment ago admits nothing.
        let profile = match (new.profile_id, current) {
            (None, None) => return Ok(StartOutcome::ProfileRequired),
            (None, Some(current)) => current,
            (Some(asked), Some(current)) if asked == current => current,
            (Some(asked), _) => {
                let locked: Option<i64> = sqlx::query_scalar(
                    "SELECT CASE WHEN pin_hash IS NULL THEN 0 ELSE 1 END FROM profiles \
                     WHERE id = $1 AND account_id = $2",
                )
                .bind(asked.to_string())
                .bind(&account)
                .fetch_optional(&mut *tx)
                .await
                .map_err(classify)?;
                match locked {
                    None => return Ok(StartOutcome::UnknownProfile),
                    Some(0) => asked,
                    Some(_) => return Ok(StartOutcome::PinRequired),
                }
            }
        };
        // One statement decides and, on refusal, says who holds the slots. A
        // stop takes no account lock, so on PostgreSQL a second statement
        // could miss a stream the count included and list fewer than the limit.
        // The device's own stream does not count: the new one replaces it.
        let live = live_streams_in(&mut tx, new.account_id, new.now).await?;
        let limit = plans.limits(&plan).max_streams;
        let others = live
            .iter()
            .filter(|s| s.stream.session_id != new.session_id)
            .count();
        if others >= limit as usize {
            tx.rollback().await.map_err(classify)?;
            return Ok(StartOutcome::Full {
                limit,
                active: live,
            });
        }
        // Ends, in one statement, the device's own stream (replaced) and the
        // account's lapsed ones, durably, so no heartbeat can renew them.
        let ended = sqlx::query(
            "UPDATE streams SET \
             ended_at = CASE WHEN session_id = $2 AND lease_expires_at > $3 THEN $3 ELSE lease_expires_at END, \
             end_reason = CASE WHEN session_id = $2 AND lease_expires_at > $3 THEN 'replaced' ELSE 'lease_expired' END \
             WHERE account_id = $1 AND ended_at IS NULL AND (session_id = $2 OR lease_expires_at <= $3) \
             RETURNING id, session_id, account_id, end_reason",
        )
        .bind(&account)
        .bind(&session)
        .bind(new.now)
        .fetch_all(&mut *tx)
        .await
        .map_err(classify)?;
        let mut replaced = None;
        let mut expired = Vec::new();
        for row in &ended {
            let reason: String = row.try_get("end_reason").map_err(classify)?;
            let reason = reason.parse().map_err(|_| corrupt("end_reason"))?;
            let stream = ended_from_row(row, reason)?;
            match reason {
                StreamEndReason::Replaced => replaced = Some(stream),
                _ => expired.push(stream),
            }
        }
        sqlx::query(
            "INSERT INTO streams (id, account_id, session_id, title, profile_id, started_at, lease_expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
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
        let stream = StreamRecord {
            id: new.id,
            account_id: new.account_id,
            session_id: new.session_id,
            title: new.title.as_str().to_owned(),
            profile_id: Some(profile),
            started_at: new.now,
            lease_expires_at: new.now + new.lease_ms,
            ended: None,
        };
        Ok(StartOutcome::Started {
            stream,
            replaced,
            expired,
        })
    }

    async fn heartbeat(
        &self,
        session: SessionId,
        id: StreamId,
        now: Millis,
        lease_ms: Millis,
    ) -> StoreResult<HeartbeatOutcome> {
        // One statement in the common case (a live stream's lease extended).
        let extended = sqlx::query(&format!(
            "UPDATE streams SET lease_expires_at = $1 \
             WHERE id = $2 AND session_id = $3 AND ended_at IS NULL AND lease_expires_at > $4 \
             RETURNING {STREAM_COLUMNS_BARE}"
        ))
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
        let found = sqlx::query(&format!(
            "SELECT {STREAM_COLUMNS} FROM streams s WHERE s.id = $1 AND s.session_id = $2"
        ))
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
        let ended = end_lapsed(&mut tx, &stream).await?;
        tx.commit().await.map_err(classify)?;
        Ok(HeartbeatOutcome::Ended {
            reason: StreamEndReason::LeaseExpired,
            expired_now: ended,
        })
    }

    async fn stop_stream(
        &self,
        account: AccountId,
        id: StreamId,
        by: SessionId,
        now: Millis,
    ) -> StoreResult<StopOutcome> {
        // One statement in the common case. Conditional, so a stop racing a
        // sign-out, a replacement or another stop neither rewrites how the
        // stream ended nor tells the device twice.
        let stopped = sqlx::query(
            "UPDATE streams SET ended_at = $1, \
             end_reason = CASE WHEN session_id = $2 THEN 'stopped' ELSE 'remote' END \
             WHERE id = $3 AND account_id = $4 AND ended_at IS NULL AND lease_expires_at > $1 \
             RETURNING id, session_id, account_id, end_reason",
        )
        .bind(now)
        .bind(by.to_string())
        .bind(id.to_string())
        .bind(account.to_string())
        .fetch_optional(&self.writer)
        .await
        .map_err(classify)?;
        if let Some(row) = stopped {
            let reason: String = row.try_get("end_reason").map_err(classify)?;
            let reason = reason.parse().map_err(|_| corrupt("end_reason"))?;
            return Ok(StopOutcome::Stopped(ended_from_row(&row, reason)?));
        }
        // Not live: ended already (or lapsed, which the reaper records), or
        // not this account's at all.
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM streams WHERE id = $1 AND account_id = $2")
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
        let rows = sqlx::query(
            "UPDATE streams SET ended_at = lease_expires_at, end_reason = 'lease_expired' \
             WHERE ended_at IS NULL AND lease_expires_at <= $1 RETURNING id, session_id, account_id",
        )
        .bind(now)
        .fetch_all(&self.writer)
        .await
        .map_err(classify)?;
        rows.iter()
            .map(|row| ended_from_row(row, StreamEndReason::LeaseExpired))
            .collect()
    }
}

/// A stream ended by a statement that returned `id, session_id, account_id`.
pub(super) fn ended_from_row(
    row: &sqlx::any::AnyRow,
    reason: StreamEndReason,
) -> StoreResult<EndedStream> {
    let text = |c: &str| -> StoreResult<String> { row.try_get(c).map_err(classify) };
    Ok(EndedStream {
        stream_id: text("id")?.parse().map_err(|_| corrupt("stream id"))?,
        session_id: text("session_id")?
            .parse()
            .map_err(|_| corrupt("session id"))?,
        account_id: text("account_id")?
            .parse()
            .map_err(|_| corrupt("account id"))?,
        reason,
    })
}

/// Marks a stream whose lease lapsed as ended at its expiry.
async fn end_lapsed(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    stream: &StreamRecord,
) -> StoreResult<Option<EndedStream>> {
    let done = sqlx::query(
        "UPDATE streams SET ended_at = lease_expires_at, end_reason = 'lease_expired' \
         WHERE id = $1 AND ended_at IS NULL",
    )
    .bind(stream.id.to_string())
    .execute(&mut **tx)
    .await
    .map_err(classify)?;
    Ok((done.rows_affected() == 1).then_some(EndedStream {
        stream_id: stream.id,
        session_id: stream.session_id,
        account_id: stream.account_id,
        reason: StreamEndReason::LeaseExpired,
    }))
}
