//! The activity history and sign-in alerts.

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Client, Result};

/// One entry of the account's history (`GET /v1/activity`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityEvent {
    pub event_id: String,
    /// `sign_in`, `sign_in_failed`, `signed_out`, `stream_started`, … (see `docs/api.md`).
    pub kind: String,
    pub at: DateTime<Utc>,
    pub device: Option<EventDevice>,
    pub ip: Option<String>,
    pub location: Option<Value>,
    /// Kind-specific details: `reason`, `cause`, `by`, `title`, `stream_id` …
    pub detail: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventDevice {
    pub session_id: Option<String>,
    pub name: String,
    #[serde(rename = "type")]
    pub device_type: String,
}

/// A page of history, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityPage {
    pub events: Vec<ActivityEvent>,
    /// Pass as `before` for the next, older page; `None` on the last page.
    pub next: Option<String>,
}

/// Which page to read.
#[derive(Debug, Clone, Default)]
pub struct ActivityQuery<'a> {
    pub limit: Option<u32>,
    pub before: Option<&'a str>,
    /// Only these kinds.
    pub kinds: &'a [&'a str],
}

/// An open sign-in alert (`GET /v1/alerts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub alert_id: String,
    pub at: DateTime<Utc>,
    /// `new_country`, `new_device_type`.
    pub reasons: Vec<String>,
    pub device: Value,
    pub ip: Option<String>,
    pub location: Option<Value>,
    pub device_signed_in: bool,
}

#[derive(Deserialize)]
struct AlertList {
    alerts: Vec<Alert>,
}

impl Client {
    /// `GET /v1/activity`: a page of the account's history, newest first.
    pub async fn activity(&self, query: &ActivityQuery<'_>) -> Result<ActivityPage> {
        let mut request = self.request(Method::GET, &["v1", "activity"]);
        let mut params: Vec<(&str, String)> = Vec::new();
        if let Some(limit) = query.limit {
            params.push(("limit", limit.to_string()));
        }
        if let Some(before) = query.before {
            params.push(("before", before.to_owned()));
        }
        if !query.kinds.is_empty() {
            params.push(("kind", query.kinds.join(",")));
        }
        if !params.is_empty() {
            request = request.query(&params);
        }
        self.send_json(request).await
    }

    /// `GET /v1/alerts`: sign-in alerts not yet dismissed, newest first.
    pub async fn alerts(&self) -> Result<Vec<Alert>> {
        let list: AlertList = self
            .send_json(self.request(Method::GET, &["v1", "alerts"]))
            .await?;
        Ok(list.alerts)
    }

    /// `POST /v1/alerts/{alert_id}/dismiss`.
    pub async fn dismiss_alert(&self, alert_id: &str) -> Result<()> {
        self.send_empty(self.request(Method::POST, &["v1", "alerts", alert_id, "dismiss"]))
            .await
    }

    /// `POST /v1/alerts/{alert_id}/sign-out-device`: signs the alert's device
    /// out and dismisses the alert. True when the device was still signed in.
    pub async fn sign_out_alerted_device(&self, alert_id: &str) -> Result<bool> {
        #[derive(Deserialize)]
        struct SignedOut {
            signed_out: bool,
        }
        let request = self.request(Method::POST, &["v1", "alerts", alert_id, "sign-out-device"]);
        let answer: SignedOut = self.send_json(request).await?;
        Ok(answer.signed_out)
    }
}
