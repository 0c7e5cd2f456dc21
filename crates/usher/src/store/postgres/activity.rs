//! The activity history, the traits alerts compare against, alerts and the
//! webhook outbox.

use async_trait::async_trait;
use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::rows::*;
use super::PgStore;
use crate::domain::*;
use crate::store::*;

/// Any number of events in one statement: one array per column, so the
/// statement (and its prepared plan) is the same for every batch size.
const INSERT_EVENTS: &str = concat!(
    "INSERT INTO activity (",
    activity_columns!(),
    ") SELECT * FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::text[], $5::text[], \
     $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])"
);

macro_rules! alert_columns {
    () => {
        "id, account_id, session_id, at, body"
    };
}

async fn insert_events(conn: &mut PgConnection, events: &[ActivityRecord]) -> StoreResult<()> {
    fn column<T>(events: &[ActivityRecord], f: impl Fn(&ActivityRecord) -> T) -> Vec<T> {
        events.iter().map(f).collect()
    }
    sqlx::query(INSERT_EVENTS)
        .bind(column(events, |e| e.id.to_string()))
        .bind(column(events, |e| e.account_id.to_string()))
        .bind(column(events, |e| e.at))
        .bind(column(events, |e| e.kind.as_str()))
        .bind(column(events, |e| e.session_id.map(|s| s.to_string())))
        .bind(column(events, |e| e.device_name.clone()))
        .bind(column(events, |e| e.device_type.map(|t| t.as_str())))
        .bind(column(events, |e| e.ip.map(|ip| ip.to_string())))
        .bind(column(events, |e| {
            e.location.as_ref().map(|l| l.to_string())
        }))
        // Through a JSON value, whose members are sorted: the text older
        // versions stored.
        .bind(column(events, |e| e.detail.to_json().to_string()))
        .execute(conn)
        .await?;
    Ok(())
}

#[async_trait]
impl ActivityStore for PgStore {
    async fn append_activity(&self, events: &[ActivityRecord]) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut conn = self.pool.acquire().await?;
        insert_events(&mut conn, events).await
    }

    async fn activity(&self, q: &ActivityQuery) -> StoreResult<Vec<ActivityRecord>> {
        let mut sql = QueryBuilder::<Postgres>::new(concat!(
            "SELECT ",
            activity_columns!(),
            " FROM activity WHERE account_id = "
        ));
        sql.push_bind(q.account.to_string());
        if let Some(before) = q.before {
            sql.push(" AND id < ").push_bind(before.to_string());
        }
        if !q.kinds.is_empty() {
            let kinds: Vec<&str> = q.kinds.iter().map(|k| k.as_str()).collect();
            sql.push(" AND kind = ANY(").push_bind(kinds).push(")");
        }
        sql.push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(q.limit));
        sql.build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(activity_from_row)
            .collect()
    }

    async fn prune_activity(&self, cutoff: Millis, limit: u32) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM activity WHERE id IN \
             (SELECT id FROM activity WHERE at < $1 ORDER BY at LIMIT $2)",
        )
        .bind(cutoff)
        .bind(i64::from(limit))
        .execute(&self.pool)
        .await?;
        // Deliveries finished (or given up) before the cutoff go with them.
        sqlx::query("DELETE FROM webhook_outbox WHERE COALESCE(delivered_at, failed_at) < $1")
            .bind(cutoff)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM alerts WHERE at < $1")
            .bind(cutoff)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn note_sign_in(&self, sign_in: &SignInTraits) -> StoreResult<NewTraits> {
        let (account, device_type, now) = (sign_in.account, sign_in.device_type, sign_in.now);
        let country = sign_in.country.as_deref();
        let mut tx = self.begin().await?;
        let mut new = NewTraits::default();
        let traits = [
            ("country", country),
            ("device_type", Some(device_type.as_str())),
        ];
        for (attribute, value) in traits {
            let Some(value) = value else { continue };
            let known: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM account_seen \
                 WHERE account_id = $1 AND attribute = $2)",
            )
            .bind(account.to_string())
            .bind(attribute)
            .fetch_one(&mut *tx)
            .await?;
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
            .await?
            .rows_affected()
                > 0;
            let is_new = inserted && known;
            match attribute {
                "country" => new.country = is_new,
                _ => new.device_type = is_new,
            }
        }
        tx.commit().await?;
        Ok(new)
    }

    async fn raise_alert(
        &self,
        alert: &AlertRecord,
        event: &ActivityRecord,
        deliver: bool,
    ) -> StoreResult<()> {
        let body = alert.body.to_json().to_string();
        let mut tx = self.begin().await?;
        insert_events(&mut tx, std::slice::from_ref(event)).await?;
        sqlx::query(
            "INSERT INTO alerts (id, account_id, session_id, at, body) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(alert.id.to_string())
        .bind(alert.account_id.to_string())
        .bind(alert.session_id.to_string())
        .bind(alert.at)
        .bind(&body)
        .execute(&mut *tx)
        .await?;
        if deliver {
            sqlx::query(
                "INSERT INTO webhook_outbox (alert_id, body, created_at, next_attempt_at) \
                 VALUES ($1, $2, $3, $3)",
            )
            .bind(alert.id.to_string())
            .bind(&body)
            .bind(alert.at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn open_alerts(&self, account: AccountId) -> StoreResult<Vec<AlertRecord>> {
        sqlx::query(concat!(
            "SELECT ",
            alert_columns!(),
            " FROM alerts WHERE account_id = $1 AND dismissed_at IS NULL ORDER BY id DESC LIMIT 20"
        ))
        .bind(account.to_string())
        .fetch_all(&self.pool)
        .await?
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
        sqlx::query(concat!(
            "UPDATE alerts SET dismissed_at = $1 \
             WHERE id = $2 AND account_id = $3 AND dismissed_at IS NULL RETURNING ",
            alert_columns!()
        ))
        .bind(now)
        .bind(id.to_string())
        .bind(account.to_string())
        .fetch_optional(&self.pool)
        .await?
        .map(|r| alert_from_row(&r))
        .transpose()
    }

    async fn claim_webhooks(
        &self,
        now: Millis,
        lease_ms: Millis,
        limit: u32,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        // SKIP LOCKED lets several nodes' workers share the outbox; a claim
        // that lapses (its node died mid-delivery) is due again.
        let mut claimed = sqlx::query(
            "UPDATE webhook_outbox SET claimed_until = $1 WHERE id IN \
             (SELECT id FROM webhook_outbox WHERE delivered_at IS NULL AND failed_at IS NULL \
              AND next_attempt_at <= $2 AND claimed_until <= $2 ORDER BY id LIMIT $3 \
              FOR UPDATE SKIP LOCKED) \
             RETURNING id, alert_id, body, attempts",
        )
        .bind(now + lease_ms)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(webhook_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
        claimed.sort_by_key(|d| d.id);
        Ok(claimed)
    }

    async fn webhook_delivered(&self, id: i64, now: Millis) -> StoreResult<()> {
        sqlx::query(
            "UPDATE webhook_outbox SET delivered_at = $1, attempts = attempts + 1, \
             last_error = NULL WHERE id = $2",
        )
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn webhook_failed(&self, failure: &WebhookFailure) -> StoreResult<()> {
        let (id, retry_at, error, now) = (
            failure.id,
            failure.retry_at,
            failure.error.as_str(),
            failure.now,
        );
        sqlx::query(
            "UPDATE webhook_outbox SET attempts = attempts + 1, last_error = $1, \
             next_attempt_at = COALESCE($2, next_attempt_at), claimed_until = 0, \
             failed_at = CASE WHEN $2 IS NULL THEN $3 ELSE NULL END WHERE id = $4",
        )
        .bind(error)
        .bind(retry_at)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn next_webhook_due(&self) -> StoreResult<Option<Millis>> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(GREATEST(claimed_until, next_attempt_at)) FROM webhook_outbox \
             WHERE delivered_at IS NULL AND failed_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    async fn pending_webhooks(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM webhook_outbox WHERE delivered_at IS NULL AND failed_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(super::errors::uncounted)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
