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
        let plan: String =
            sqlx::query_scalar(&format!("SELECT plan FROM accounts WHERE id = $1{lock}"))
                .bind(&account)
                .fetch_one(&mut *tx)
                .await
                .map_err(classify)?;
        let signed_in: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT 1 FROM sessions WHERE id = $1 AND account_id = $2 AND revoked_at IS NULL{lock}"
        ))
        .bind(&session)
        .bind(&account)
        .fetch_optional(&mut *tx)
        .await
        .map_err(classify)?;
        if signed_in.is_none() {
            return Ok(StartOutcome::SessionEnded);
        }
        let expired = sqlx::query(
            "UPDATE streams SET ended_at = lease_expires_at, end_reason = 'lease_expired' \
             WHERE account_id = $1 AND ended_at IS NULL AND lease_expires_at <= $2 \
             RETURNING id, session_id, account_id",
        )
        .bind(&account)
        .bind(new.now)
        .fetch_all(&mut *tx)
        .await
        .map_err(classify)?
        .iter()
        .map(|row| ended_from_row(row, StreamEndReason::LeaseExpired))
        .collect::<StoreResult<Vec<_>>>()?;
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
        let previous = sqlx::query(
            "UPDATE streams SET ended_at = $1, end_reason = 'replaced' \
             WHERE session_id = $2 AND ended_at IS NULL RETURNING id, session_id, account_id",
        )
        .bind(new.now)
        .bind(&session)
        .fetch_optional(&mut *tx)
        .await
        .map_err(classify)?;
        sqlx::query(
            "INSERT INTO streams (id, account_id, session_id, title, profile_id, started_at, lease_expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(new.id.to_string())
        .bind(&account)
        .bind(&session)
        .bind(new.title.as_str())
        .bind(new.profile_id.as_deref())
        .bind(new.now)
        .bind(new.now + new.lease_ms)
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
        tx.commit().await.map_err(classify)?;
        let replaced = previous
            .map(|row| ended_from_row(&row, StreamEndReason::Replaced))
            .transpose()?;
        let stream = StreamRecord {
            id: new.id,
            account_id: new.account_id,
            session_id: new.session_id,
            title: new.title.as_str().to_owned(),
            profile_id: new.profile_id.clone(),
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
        let mut tx = self.begin().await?;
        let extended = sqlx::query(&format!(
            "UPDATE streams SET lease_expires_at = $1 \
             WHERE id = $2 AND session_id = $3 AND ended_at IS NULL AND lease_expires_at > $4 \
             RETURNING {STREAM_COLUMNS_BARE}"
        ))
        .bind(now + lease_ms)
        .bind(id.to_string())
        .bind(session.to_string())
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(classify)?;
        if let Some(row) = extended {
            let stream = stream_from_row(&row)?;
            tx.commit().await.map_err(classify)?;
            return Ok(HeartbeatOutcome::Extended(stream));
        }
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
        let mut tx = self.begin().await?;
        let found = sqlx::query(&format!(
            "SELECT {STREAM_COLUMNS} FROM streams s WHERE s.id = $1 AND s.account_id = $2"
        ))
        .bind(id.to_string())
        .bind(account.to_string())
        .fetch_optional(&mut *tx)
        .await
        .map_err(classify)?;
        let Some(row) = found else {
            return Ok(StopOutcome::NotFound);
        };
        let stream = stream_from_row(&row)?;
        if stream.ended.is_some() {
            return Ok(StopOutcome::AlreadyEnded);
        }
        if stream.lease_expires_at <= now {
            end_lapsed(&mut tx, &stream).await?;
            tx.commit().await.map_err(classify)?;
            return Ok(StopOutcome::AlreadyEnded);
        }
        let reason = if by == stream.session_id {
            StreamEndReason::Stopped
        } else {
            StreamEndReason::Remote
        };
        // Conditional, so a stop racing a sign-out, a replacement or another
        // stop neither rewrites how the stream ended nor tells the device twice.
        let stopped = sqlx::query(
            "UPDATE streams SET ended_at = $1, end_reason = $2 WHERE id = $3 AND ended_at IS NULL",
        )
        .bind(now)
        .bind(reason.as_str())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
        tx.commit().await.map_err(classify)?;
        if stopped.rows_affected() == 0 {
            return Ok(StopOutcome::AlreadyEnded);
        }
        Ok(StopOutcome::Stopped(EndedStream {
            stream_id: id,
            session_id: stream.session_id,
            account_id: account,
            reason,
        }))
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
fn ended_from_row(row: &sqlx::any::AnyRow, reason: StreamEndReason) -> StoreResult<EndedStream> {
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
