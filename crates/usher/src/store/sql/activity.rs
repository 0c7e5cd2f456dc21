//! The activity history, the traits alerts compare against, alerts and the
//! webhook outbox.

use std::fmt::Write as _;
use std::str::FromStr;
use std::sync::LazyLock;

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::rows::{classify, corrupt};
use super::{direct, SqlStore};
use crate::domain::*;
use crate::store::*;

/// Events per insert statement (10 parameters each; well under both
/// engines' parameter limits).
const APPEND_CHUNK: usize = 200;

const ACTIVITY_COLUMNS: &str =
    "id, account_id, at, kind, session_id, device_name, device_type, ip, location, detail";

fn activity_from_row(row: &AnyRow) -> StoreResult<ActivityRecord> {
    let text = |col: &str| -> StoreResult<String> { row.try_get(col).map_err(classify) };
    let opt = |col: &str| -> StoreResult<Option<String>> { row.try_get(col).map_err(classify) };
    let json = |raw: &str| serde_json::from_str(raw).map_err(|_| corrupt("activity json"));
    Ok(ActivityRecord {
        id: text("id")?.parse().map_err(|_| corrupt("event id"))?,
        account_id: text("account_id")?
            .parse()
            .map_err(|_| corrupt("account id"))?,
        at: row.try_get("at").map_err(classify)?,
        kind: text("kind")?.parse().map_err(|_| corrupt("kind"))?,
        session_id: opt("session_id")?
            .map(|s| s.parse().map_err(|_| corrupt("session id")))
            .transpose()?,
        device_name: opt("device_name")?,
        device_type: opt("device_type")?
            .map(|s| DeviceType::from_str(&s).map_err(|_| corrupt("device_type")))
            .transpose()?,
        ip: opt("ip")?.and_then(|ip| ip.parse().ok()),
        location: opt("location")?.map(|l| json(&l)).transpose()?,
        detail: json(&text("detail")?)?,
    })
}

fn alert_from_row(row: &AnyRow) -> StoreResult<AlertRecord> {
    let text = |col: &str| -> StoreResult<String> { row.try_get(col).map_err(classify) };
    Ok(AlertRecord {
        id: text("id")?.parse().map_err(|_| corrupt("alert id"))?,
        account_id: text("account_id")?
            .parse()
            .map_err(|_| corrupt("account id"))?,
        session_id: text("session_id")?
            .parse()
            .map_err(|_| corrupt("session id"))?,
        at: row.try_get("at").map_err(classify)?,
        body: serde_json::from_str(&text("body")?).map_err(|_| corrupt("alert body"))?,
    })
}

/// `INSERT … VALUES (…), (…)` for `count` events.
fn insert_events_sql(count: usize) -> String {
    let mut sql = format!("INSERT INTO activity ({ACTIVITY_COLUMNS}) VALUES ");
    for i in 0..count {
        let b = i * 10;
        let _ = write!(
            sql,
            "{}(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
            if i == 0 { "" } else { ", " },
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5,
            b + 6,
            b + 7,
            b + 8,
            b + 9,
            b + 10
        );
    }
    sql
}

async fn insert_events(
    conn: &mut sqlx::AnyConnection,
    events: &[ActivityRecord],
) -> StoreResult<()> {
    for chunk in events.chunks(APPEND_CHUNK) {
        let sql = insert_events_sql(chunk.len());
        let mut query = sqlx::query(&sql);
        for e in chunk {
            query = query
                .bind(e.id.to_string())
                .bind(e.account_id.to_string())
                .bind(e.at)
                .bind(e.kind.as_str())
                .bind(e.session_id.map(|s| s.to_string()))
                .bind(e.device_name.clone())
                .bind(e.device_type.map(|t| t.as_str()))
                .bind(e.ip.map(|ip| ip.to_string()))
                .bind(e.location.as_ref().map(|l| l.to_string()))
                .bind(e.detail.to_string());
        }
        query.execute(&mut *conn).await.map_err(classify)?;
    }
    Ok(())
}

/// The events, one prepared single-row insert each (in-process, a statement
/// costs microseconds, not a round trip).
fn insert_events_in_process(
    conn: &rusqlite::Connection,
    events: &[ActivityRecord],
) -> StoreResult<()> {
    static INSERT_EVENT: LazyLock<String> = LazyLock::new(|| insert_events_sql(1));
    for e in events {
        direct::execute(
            conn,
            &INSERT_EVENT,
            &[
                &e.id.to_string(),
                &e.account_id.to_string(),
                &e.at,
                &e.kind.as_str(),
                &e.session_id.map(|s| s.to_string()),
                &e.device_name,
                &e.device_type.map(|t| t.as_str()),
                &e.ip.map(|ip| ip.to_string()),
                &e.location.as_ref().map(|l| l.to_string()),
                &e.detail.to_string(),
            ],
        )?;
    }
    Ok(())
}

#[async_trait]
impl ActivityStore for SqlStore {
    async fn append_activity(&self, events: &[ActivityRecord]) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        if let Some(d) = &self.direct {
            return {
                let events = events.to_vec();
                d.write(move |conn| insert_events_in_process(conn, &events))
            }
            .await;
        }
        let mut tx = self.begin().await?;
        insert_events(&mut tx, events).await?;
        tx.commit().await.map_err(classify)
    }

    async fn activity(&self, q: &ActivityQuery) -> StoreResult<Vec<ActivityRecord>> {
        let mut sql = format!("SELECT {ACTIVITY_COLUMNS} FROM activity WHERE account_id = $1");
        let mut next = 2;
        if q.before.is_some() {
            let _ = write!(sql, " AND id < ${next}");
            next += 1;
        }
        if !q.kinds.is_empty() {
            let params: Vec<String> = (0..q.kinds.len())
                .map(|i| format!("${}", next + i))
                .collect();
            let _ = write!(sql, " AND kind IN ({})", params.join(", "));
            next += q.kinds.len();
        }
        let _ = write!(sql, " ORDER BY id DESC LIMIT ${next}");
        let mut query = sqlx::query(&sql).bind(q.account.to_string());
        if let Some(before) = q.before {
            query = query.bind(before.to_string());
        }
        for kind in &q.kinds {
            query = query.bind(kind.as_str());
        }
        query
            .bind(i64::from(q.limit))
            .fetch_all(&self.reader)
            .await
            .map_err(classify)?
            .iter()
            .map(activity_from_row)
            .collect()
    }

    async fn prune_activity(&self, cutoff: Millis, limit: u32) -> StoreResult<u64> {
        let _lock = self.write_lock().await?;
        let done = sqlx::query(
            "DELETE FROM activity WHERE id IN \
             (SELECT id FROM activity WHERE at < $1 ORDER BY at LIMIT $2)",
        )
        .bind(cutoff)
        .bind(i64::from(limit))
        .execute(&self.writer)
        .await
        .map_err(classify)?;
        // Deliveries finished (or given up) before the cutoff go with them.
        sqlx::query("DELETE FROM webhook_outbox WHERE COALESCE(delivered_at, failed_at) < $1")
            .bind(cutoff)
            .execute(&self.writer)
            .await
            .map_err(classify)?;
        sqlx::query("DELETE FROM alerts WHERE at < $1")
            .bind(cutoff)
            .execute(&self.writer)
            .await
            .map_err(classify)?;
        Ok(done.rows_affected())
    }

    async fn note_sign_in(
        &self,
        account: AccountId,
        country: Option<&str>,
        device_type: DeviceType,
        now: Millis,
    ) -> StoreResult<NewTraits> {
        let mut tx = self.begin().await?;
        let mut new = NewTraits::default();
        let traits = [
            ("country", country),
            ("device_type", Some(device_type.as_str())),
        ];
        for (attribute, value) in traits {
            let Some(value) = value else { continue };
            let known: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM account_seen WHERE account_id = $1 AND attribute = $2",
            )
            .bind(account.to_string())
            .bind(attribute)
            .fetch_one(&mut *tx)
            .await
            .map_err(classify)?;
            // Of two racing sign-ins with the same new value, one inserts it.
            let inserted = sqlx::query(
                "INSERT INTO account_seen (account_id, attribute, value, first_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(account.to_string())
            .bind(attribute)
            .bind(value)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(classify)?
            .rows_affected()
                > 0;
            let is_new = inserted && known > 0;
            match attribute {
                "country" => new.country = is_new,
                _ => new.device_type = is_new,
            }
        }
        tx.commit().await.map_err(classify)?;
        Ok(new)
    }

    async fn raise_alert(
        &self,
        alert: &AlertRecord,
        event: &ActivityRecord,
        deliver: bool,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        insert_events(&mut tx, std::slice::from_ref(event)).await?;
        sqlx::query(
            "INSERT INTO alerts (id, account_id, session_id, at, body) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(alert.id.to_string())
        .bind(alert.account_id.to_string())
        .bind(alert.session_id.to_string())
        .bind(alert.at)
        .bind(alert.body.to_string())
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
        if deliver {
            sqlx::query(
                "INSERT INTO webhook_outbox (alert_id, body, created_at, next_attempt_at) \
                 VALUES ($1, $2, $3, $3)",
            )
            .bind(alert.id.to_string())
            .bind(alert.body.to_string())
            .bind(alert.at)
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        }
        tx.commit().await.map_err(classify)
    }

    async fn open_alerts(&self, account: AccountId) -> StoreResult<Vec<AlertRecord>> {
        sqlx::query(
            "SELECT id, account_id, session_id, at, body FROM alerts \
             WHERE account_id = $1 AND dismissed_at IS NULL ORDER BY id DESC LIMIT 20",
        )
        .bind(account.to_string())
        .fetch_all(&self.reader)
        .await
        .map_err(classify)?
        .iter()
        .map(alert_from_row)
        .collect()
    }

    async fn dismiss_alert(
        &self,
        account: AccountId,
        id: EventId,
        now: Millis,
    ) -> StoreResult<Option<AlertRecord>> {
        let _lock = self.write_lock().await?;
        sqlx::query(
            "UPDATE alerts SET dismissed_at = $1 \
             WHERE id = $2 AND account_id = $3 AND dismissed_at IS NULL \
             RETURNING id, account_id, session_id, at, body",
        )
        .bind(now)
        .bind(id.to_string())
        .bind(account.to_string())
        .fetch_optional(&self.writer)
        .await
        .map_err(classify)?
        .map(|r| alert_from_row(&r))
        .transpose()
    }

    async fn claim_webhooks(
        &self,
        now: Millis,
        lease_ms: Millis,
        limit: u32,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        let _lock = self.write_lock().await?;
        // SKIP LOCKED lets several nodes' workers share the outbox; a claim
        // that lapses (its node died mid-delivery) is due again.
        let rows = sqlx::query(&format!(
            "UPDATE webhook_outbox SET claimed_until = $1 WHERE id IN \
             (SELECT id FROM webhook_outbox WHERE delivered_at IS NULL AND failed_at IS NULL \
              AND next_attempt_at <= $2 AND claimed_until <= $2 ORDER BY id LIMIT $3{}) \
             RETURNING id, alert_id, body, attempts",
            self.dialect.skip_locked()
        ))
        .bind(now + lease_ms)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.writer)
        .await
        .map_err(classify)?;
        let mut claimed = rows
            .iter()
            .map(|row| {
                let alert_id: String = row.try_get("alert_id").map_err(classify)?;
                let attempts: i64 = row.try_get("attempts").map_err(classify)?;
                Ok(WebhookDelivery {
                    id: row.try_get("id").map_err(classify)?,
                    alert_id: alert_id.parse().map_err(|_| corrupt("alert id"))?,
                    body: row.try_get("body").map_err(classify)?,
                    attempts: attempts.max(0) as u32,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        claimed.sort_by_key(|d| d.id);
        Ok(claimed)
    }

    async fn webhook_delivered(&self, id: i64, now: Millis) -> StoreResult<()> {
        let _lock = self.write_lock().await?;
        sqlx::query(
            "UPDATE webhook_outbox SET delivered_at = $1, attempts = attempts + 1, \
             last_error = NULL WHERE id = $2",
        )
        .bind(now)
        .bind(id)
        .execute(&self.writer)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn webhook_failed(
        &self,
        id: i64,
        retry_at: Option<Millis>,
        error: &str,
        now: Millis,
    ) -> StoreResult<()> {
        let _lock = self.write_lock().await?;
        sqlx::query(
            "UPDATE webhook_outbox SET attempts = attempts + 1, last_error = $1, \
             next_attempt_at = COALESCE($2, next_attempt_at), claimed_until = 0, \
             failed_at = CASE WHEN $2 IS NULL THEN $3 ELSE NULL END WHERE id = $4",
        )
        .bind(error)
        .bind(retry_at)
        .bind(now)
        .bind(id)
        .execute(&self.writer)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn next_webhook_due(&self) -> StoreResult<Option<Millis>> {
        sqlx::query_scalar(
            "SELECT MIN(CASE WHEN claimed_until > next_attempt_at THEN claimed_until \
             ELSE next_attempt_at END) FROM webhook_outbox \
             WHERE delivered_at IS NULL AND failed_at IS NULL",
        )
        .fetch_one(&self.reader)
        .await
        .map_err(classify)
    }
}
