//! Delivers alerts to the configured webhook, at least once.
//!
//! Alerts wait in the store's outbox (written in the transaction that raised
//! them), so a restart or a crash loses none. A worker on every node claims
//! due deliveries for a lease, POSTs each, and marks it delivered on a 2xx;
//! anything else is retried with exponential backoff and jitter until
//! `webhook_max_attempts`, then kept as failed. A receiver may see an alert
//! twice (a crash after its 2xx but before the mark); `Usher-Alert-Id` lets
//! it deduplicate.
//!
//! Each request carries `Usher-Signature: t=<unix seconds>,v1=<hex>`, the
//! HMAC-SHA256 of `<t>.<body>` under the configured secret.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;
use tokio_util::sync::CancellationToken;

use super::Alerts;
use crate::config::AlertConfig;
use crate::domain::Millis;
use crate::store::{WebhookDelivery, WebhookFailure};

/// How often the outbox is looked at in real time when nothing else wakes
/// the worker. Only a fallback for deliveries other nodes queued (their
/// wakeup reaches only their own worker) and for a store that failed to
/// answer; retries fall due on the injected clock, which the worker sleeps on.
const POLL: Duration = Duration::from_millis(500);
/// Deliveries claimed at once.
const CLAIM: u32 = 16;
/// Longest wait between two attempts.
const MAX_BACKOFF_MS: Millis = 3_600_000;

pub const SIGNATURE_HEADER: &str = "usher-signature";
pub const ALERT_ID_HEADER: &str = "usher-alert-id";

/// The signature header's value for `body` sent at `unix_secs`.
pub fn sign(secret: &[u8], unix_secs: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(unix_secs.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={unix_secs},v1={hex}")
}

struct Webhook {
    client: reqwest::Client,
    url: String,
    secret: Vec<u8>,
    max_attempts: u32,
    retry_base_ms: Millis,
    timeout_ms: Millis,
}

impl Webhook {
    fn from_config(config: &AlertConfig) -> anyhow::Result<Option<Self>> {
        let (Some(url), Some(secret)) = (&config.webhook_url, &config.webhook_secret) else {
            return Ok(None);
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.webhook_timeout_ms))
            // A redirect would turn the POST into a bodiless GET whose 2xx
            // would count as delivered: any 3xx is a failure, retried.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("usher/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Some(Self {
            client,
            url: url.clone(),
            secret: secret.0.as_bytes().to_vec(),
            max_attempts: config.webhook_max_attempts,
            retry_base_ms: config.webhook_retry_base_ms as Millis,
            timeout_ms: config.webhook_timeout_ms as Millis,
        }))
    }

    /// When to try again after `attempts` failed attempts, or `None` to give up.
    fn retry_at(&self, attempts: u32, now: Millis) -> Option<Millis> {
        if attempts >= self.max_attempts {
            return None;
        }
        let backoff = self
            .retry_base_ms
            .saturating_mul(1 << attempts.saturating_sub(1).min(30))
            .min(MAX_BACKOFF_MS);
        // ±20% so deliveries that failed together do not retry together.
        let jitter = rand::thread_rng().gen_range(0.8..1.2);
        Some(now + ((backoff as f64) * jitter) as Millis)
    }

    async fn post(&self, alerts: &Alerts, delivery: &WebhookDelivery) -> Result<(), String> {
        let signature = sign(&self.secret, alerts.clock.now() / 1000, &delivery.body);
        let response = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header(ALERT_ID_HEADER, delivery.alert_id.to_string())
            .body(delivery.body.clone())
            .send()
            .await
            .map_err(|e| format!("{}", without_url(e)))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("the receiver answered {}", response.status()))
        }
    }
}

/// A transport error without the URL (which may carry credentials).
fn without_url(e: reqwest::Error) -> reqwest::Error {
    e.without_url()
}

/// Runs the worker until shutdown; returns at once when no webhook is set.
pub async fn run(alerts: Arc<Alerts>, shutdown: CancellationToken) {
    let hook = match Webhook::from_config(&alerts.config) {
        Ok(Some(hook)) => hook,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(error = %e, "alert webhook disabled: cannot build its HTTP client");
            return;
        }
    };
    loop {
        let now = alerts.clock.now();
        let lease = hook.timeout_ms + 5_000;
        let claimed = match alerts.store.claim_webhooks(now, lease, CLAIM).await {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the webhook outbox; will retry");
                if idle(&alerts, &shutdown, None).await.is_break() {
                    return;
                }
                continue;
            }
        };
        if !claimed.is_empty() {
            futures_util::future::join_all(claimed.iter().map(|d| deliver(&alerts, &hook, d)))
                .await;
            continue;
        }
        let due = match alerts.store.next_webhook_due().await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read when the next webhook is due; will poll");
                None
            }
        };
        if idle(&alerts, &shutdown, due).await.is_break() {
            return;
        }
    }
}

/// Waits for the next reason to look at the outbox: the delivery `due` next
/// (on the injected clock), a local wakeup, or the real-time [`POLL`]
/// fallback. Breaks on shutdown.
async fn idle(
    alerts: &Alerts,
    shutdown: &CancellationToken,
    due: Option<Millis>,
) -> ControlFlow<()> {
    let retry = async {
        match due {
            Some(at) => alerts.clock.sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = shutdown.cancelled() => return ControlFlow::Break(()),
        _ = alerts.wakeup.notified() => {}
        _ = retry => {}
        _ = tokio::time::sleep(POLL) => {}
    }
    ControlFlow::Continue(())
}

async fn deliver(alerts: &Alerts, hook: &Webhook, delivery: &WebhookDelivery) {
    let outcome = hook.post(alerts, delivery).await;
    let now = alerts.clock.now();
    let stored = match outcome {
        Ok(()) => {
            tracing::info!(alert = %delivery.alert_id, "alert delivered to the webhook");
            alerts.store.webhook_delivered(delivery.id, now).await
        }
        Err(error) => {
            let attempts = delivery.attempts + 1;
            let retry_at = hook.retry_at(attempts, now);
            match retry_at {
                Some(_) => {
                    tracing::warn!(alert = %delivery.alert_id, attempts, %error, "alert webhook failed; will retry")
                }
                None => {
                    tracing::error!(alert = %delivery.alert_id, attempts, %error, "alert webhook failed; giving up")
                }
            }
            alerts
                .store
                .webhook_failed(&WebhookFailure {
                    id: delivery.id,
                    retry_at,
                    error,
                    now,
                })
                .await
        }
    };
    if let Err(e) = stored {
        // The claim lapses and the delivery is tried again: at least once.
        tracing::warn!(error = %e, "could not record a webhook attempt");
    }
}
