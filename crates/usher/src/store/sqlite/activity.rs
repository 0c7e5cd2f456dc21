//! The activity history, the traits alerts compare against, alerts and the
//! webhook outbox.

use std::fmt::Write as _;

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{Connection, Row};

use super::rows::*;
use super::SqliteStore;
use crate::domain::*;
use crate::store::*;

const ACTIVITY_COLUMNS: &str =
    "id, account_id, at, kind, session_id, device_name, device_type, ip, location, detail";

/// One event (a prepared single-row insert: in-process, a statement costs
/// microseconds, not a round trip).
const INSERT_EVENT: &str = "INSERT INTO activity \
     (id, account_id, at, kind, session_id, device_name, device_type, ip, location, detail) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

const ALERT_COLUMNS: &str = "id, account_id, session_id, at, body";

fn json(row: &Row<'_>, col: &str) -> StoreResult<Option<serde_json::Value>> {
    get::<Option<String>>(row, col)?
        .map(|raw| serde_json::from_str(&raw).map_err(|_| corrupt(col)))
        .transpose()
}

fn activity_from_row(row: &Row<'_>) -> StoreResult<ActivityRecord> {
    let kind = parsed(row, "kind")?;
    let detail = json(row, "detail")?.ok_or_else(|| corrupt("detail"))?;
    Ok(ActivityRecord {
        id: parsed(row, "id")?,
        account_id: parsed(row, "account_id")?,
        at: get(row, "at")?,
        kind,
        session_id: opt_parsed(row, "session_id")?,
        device_name: get(row, "device_name")?,
        device_type: opt_parsed(row, "device_type")?,
        ip: get::<Option<String>>(row, "ip")?.and_then(|ip| ip.parse().ok()),
        location: json(row, "location")?,
        detail: ActivityDetail::read(kind, detail),
    })
}

fn alert_from_row(row: &Row<'_>) -> StoreResult<AlertRecord> {
    Ok(AlertRecord {
        id: parsed(row, "id")?,
        account_id: parsed(row, "account_id")?,
        session_id: parsed(row, "session_id")?,
        at: get(row, "at")?,
        body: AlertBody::read(json(row, "body")?.ok_or_else(|| corrupt("body"))?),
    })
}

fn insert_events(conn: &Connection, events: &[ActivityRecord]) -> StoreResult<()> {
    for e in events {
        execute(
            conn,
            INSERT_EVENT,
            rusqlite::params![
                e.id.to_string(),
                e.account_id.to_string(),
                e.at,
                e.kind.as_str(),
                e.session_id.map(|s| s.to_string()),
                e.device_name,
                e.device_type.map(|t| t.as_str()),
                e.ip.map(|ip| ip.to_string()),
                e.location.as_ref().map(|l| l.to_string()),
                // Through a JSON value, whose members are sorted: the text
                // older versions stored.
                e.detail.to_json().to_string(),
            ],
        )?;
    }
    Ok(())
}

/// A page of history: the statement and its parameters for the filters given.
fn activity_query(q: &ActivityQuery) -> (String, Vec<Value>) {
    let mut sql = format!("SELECT {ACTIVITY_COLUMNS} FROM activity WHERE account_id = ?");
    let mut params = vec![Value::Text(q.account.to_string())];
    if let Some(before) = q.before {
        sql.push_str(" AND id < ?");
        params.push(Value::Text(before.to_string()));
    }
    if !q.kinds.is_empty() {
        let marks = vec!["?"; q.kinds.len()].join(", ");
        let _ = write!(sql, " AND kind IN ({marks})");
        params.extend(q.kinds.iter().map(|k| Value::Text(k.as_str().to_owned())));
    }
    sql.push_str(" ORDER BY id DESC LIMIT ?");
    params.push(Value::Integer(i64::from(q.limit)));
    (sql, params)
}

/// Records each trait of a sign-in; a trait is new when another value of
/// it was seen before.
fn note_sign_in(
    conn: &Connection,
    account: &str,
    traits: [(&str, Option<&str>); 2],
    now: Millis,
) -> StoreResult<NewTraits> {
    let mut new = NewTraits::default();
    for (attribute, value) in traits {
        let Some(value) = value else { continue };
        let known: i64 = fetch_value(
            conn,
            "SELECT COUNT(*) FROM account_seen WHERE account_id = ?1 AND attribute = ?2",
            [account, attribute],
        )?;
        let inserted = execute(
            conn,
            "INSERT INTO account_seen (account_id, attribute, value, first_at) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            (account, attribute, value, now),
        )? > 0;
        let is_new = inserted && known > 0;
        match attribute {
            "country" => new.country = is_new,
            _ => new.device_type = is_new,
        }
    }
    Ok(new)
}

fn raise_alert(
    conn: &Connection,
    alert: &AlertRecord,
    event: &ActivityRecord,
    deliver: bool,
) -> StoreResult<()> {
    insert_events(conn, std::slice::from_ref(event))?;
    let body = alert.body.to_json().to_string();
    execute(
        conn,
        "INSERT INTO alerts (id, account_id, session_id, at, body) VALUES (?1, ?2, ?3, ?4, ?5)",
        (
            alert.id.to_string(),
            alert.account_id.to_string(),
            alert.session_id.to_string(),
            alert.at,
            &body,
        ),
    )?;
    if deliver {
        execute(
            conn,
            "INSERT INTO webhook_outbox (alert_id, body, created_at, next_attempt_at) \
             VALUES (?1, ?2, ?3, ?3)",
            (alert.id.to_string(), &body, alert.at),
        )?;
    }
    Ok(())
}

fn prune(conn: &Connection, cutoff: Millis, limit: u32) -> StoreResult<u64> {
    let deleted = execute(
        conn,
        "DELETE FROM activity WHERE id IN \
         (SELECT id FROM activity WHERE at < ?1 ORDER BY at LIMIT ?2)",
        (cutoff, i64::from(limit)),
    )?;
    // Deliveries finished (or given up) before the cutoff go with them.
    execute(
        conn,
        "DELETE FROM webhook_outbox WHERE COALESCE(delivered_at, failed_at) < ?1",
        [cutoff],
    )?;
    execute(conn, "DELETE FROM alerts WHERE at < ?1", [cutoff])?;
    Ok(deleted as u64)
}

/// A claim that lapses (its node died mid-delivery) is due again.
fn claim(
    conn: &Connection,
    now: Millis,
    lease_ms: Millis,
    limit: u32,
) -> StoreResult<Vec<WebhookDelivery>> {
    let mut claimed = fetch_all(
        conn,
        "UPDATE webhook_outbox SET claimed_until = ?1 WHERE id IN \
         (SELECT id FROM webhook_outbox WHERE delivered_at IS NULL AND failed_at IS NULL \
          AND next_attempt_at <= ?2 AND claimed_until <= ?2 ORDER BY id LIMIT ?3) \
         RETURNING id, alert_id, body, attempts",
        (now + lease_ms, now, i64::from(limit)),
        |row| {
            Ok(WebhookDelivery {
                id: get(row, "id")?,
                alert_id: parsed(row, "alert_id")?,
                body: get(row, "body")?,
                attempts: get::<i64>(row, "attempts")?.max(0) as u32,
            })
        },
    )?;
    claimed.sort_by_key(|d| d.id);
    Ok(claimed)
}

#[async_trait]
impl ActivityStore for SqliteStore {
    async fn append_activity(&self, events: &[ActivityRecord]) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let events = events.to_vec();
        self.writer
            .write(move |conn| insert_events(conn, &events))
            .await
    }

    async fn activity(&self, q: &ActivityQuery) -> StoreResult<Vec<ActivityRecord>> {
        let (sql, params) = activity_query(q);
        self.readers
            .read(move |conn| {
                fetch_all(
                    conn,
                    &sql,
                    rusqlite::params_from_iter(params),
                    activity_from_row,
                )
            })
            .await
    }

    async fn prune_activity(&self, cutoff: Millis, limit: u32) -> StoreResult<u64> {
        self.writer
            .write(move |conn| prune(conn, cutoff, limit))
            .await
    }

    async fn note_sign_in(&self, sign_in: &SignInTraits) -> StoreResult<NewTraits> {
        let sign_in = sign_in.clone();
        self.writer
            .write(move |conn| {
                let traits = [
                    ("country", sign_in.country.as_deref()),
                    ("device_type", Some(sign_in.device_type.as_str())),
                ];
                note_sign_in(conn, &sign_in.account.to_string(), traits, sign_in.now)
            })
            .await
    }

    async fn raise_alert(
        &self,
        alert: &AlertRecord,
        event: &ActivityRecord,
        deliver: bool,
    ) -> StoreResult<()> {
        let (alert, event) = (alert.clone(), event.clone());
        self.writer
            .write(move |conn| raise_alert(conn, &alert, &event, deliver))
            .await
    }

    async fn open_alerts(&self, account: AccountId) -> StoreResult<Vec<AlertRecord>> {
        self.readers
            .read(move |conn| {
                fetch_all(
                    conn,
                    &format!(
                        "SELECT {ALERT_COLUMNS} FROM alerts \
                         WHERE account_id = ?1 AND dismissed_at IS NULL ORDER BY id DESC LIMIT 20"
                    ),
                    [account.to_string()],
                    alert_from_row,
                )
            })
            .await
    }

    async fn dismiss_alert(
        &self,
        account: AccountId,
        id: EventId,
        now: Millis,
    ) -> StoreResult<Option<AlertRecord>> {
        self.writer
            .write(move |conn| {
                fetch_optional(
                    conn,
                    &format!(
                        "UPDATE alerts SET dismissed_at = ?1 \
                         WHERE id = ?2 AND account_id = ?3 AND dismissed_at IS NULL \
                         RETURNING {ALERT_COLUMNS}"
                    ),
                    (now, id.to_string(), account.to_string()),
                    alert_from_row,
                )
            })
            .await
    }

    async fn claim_webhooks(
        &self,
        now: Millis,
        lease_ms: Millis,
        limit: u32,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        self.writer
            .write(move |conn| claim(conn, now, lease_ms, limit))
            .await
    }

    async fn webhook_delivered(&self, id: i64, now: Millis) -> StoreResult<()> {
        self.writer
            .write(move |conn| {
                execute(
                    conn,
                    "UPDATE webhook_outbox SET delivered_at = ?1, attempts = attempts + 1, \
                     last_error = NULL WHERE id = ?2",
                    (now, id),
                )?;
                Ok(())
            })
            .await
    }

    async fn webhook_failed(&self, failure: &WebhookFailure) -> StoreResult<()> {
        let (id, retry_at, error, now) = (
            failure.id,
            failure.retry_at,
            failure.error.as_str(),
            failure.now,
        );
        let error = error.to_owned();
        self.writer
            .write(move |conn| {
                execute(
                    conn,
                    "UPDATE webhook_outbox SET attempts = attempts + 1, last_error = ?1, \
                     next_attempt_at = COALESCE(?2, next_attempt_at), claimed_until = 0, \
                     failed_at = CASE WHEN ?2 IS NULL THEN ?3 ELSE NULL END WHERE id = ?4",
                    (error, retry_at, now, id),
                )?;
                Ok(())
            })
            .await
    }

    async fn next_webhook_due(&self) -> StoreResult<Option<Millis>> {
        self.readers
            .read(|conn| {
                fetch_value(
                    conn,
                    "SELECT MIN(CASE WHEN claimed_until > next_attempt_at THEN claimed_until \
                     ELSE next_attempt_at END) FROM webhook_outbox \
                     WHERE delivered_at IS NULL AND failed_at IS NULL",
                    [],
                )
            })
            .await
    }

    async fn pending_webhooks(&self) -> StoreResult<u64> {
        self.readers
            .read(|conn| {
                fetch_count_uncounted(
                    conn,
                    "SELECT COUNT(*) FROM webhook_outbox \
                     WHERE delivered_at IS NULL AND failed_at IS NULL",
                    [],
                )
            })
            .await
    }
}
