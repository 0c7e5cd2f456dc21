//! The activity history and sign-in alerts.

use reqwest::Method;
pub use usher_api::{ActivityEvent, ActivityPage, Alert, EventDevice};
use usher_api::{ActivityParams, AlertDeviceSignedOut, AlertList};

use crate::{Client, Result};

/// Which page to read.
#[derive(Debug, Clone, Default)]
pub struct ActivityQuery<'a> {
    /// Page size, 1 to 200; the server's default when `None`.
    pub limit: Option<u32>,
    /// The `next` of the previous page.
    pub before: Option<&'a str>,
    /// Only these kinds.
    pub kinds: &'a [&'a str],
}

impl ActivityQuery<'_> {
    /// The query string's members.
    fn params(&self) -> ActivityParams {
        ActivityParams {
            limit: self.limit,
            before: self.before.map(str::to_owned),
            kind: (!self.kinds.is_empty()).then(|| self.kinds.join(",")),
        }
    }
}

impl Client {
    /// `GET /v1/activity`: a page of the account's history, newest first.
    pub async fn activity(&self, query: &ActivityQuery<'_>) -> Result<ActivityPage> {
        let mut request = self.request(Method::GET, &["v1", "activity"]);
        let params = query.params();
        if params != ActivityParams::default() {
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
        let request = self.request(Method::POST, &["v1", "alerts", alert_id, "sign-out-device"]);
        let answer: AlertDeviceSignedOut = self.send_json(request).await?;
        Ok(answer.signed_out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_send_only_what_is_set() {
        assert_eq!(ActivityQuery::default().params(), ActivityParams::default());
        let query = ActivityQuery {
            limit: Some(2),
            before: Some("evt_1"),
            kinds: &["signed_out", "sign_in"],
        };
        let params = query.params();
        assert_eq!(params.limit, Some(2));
        assert_eq!(params.before.as_deref(), Some("evt_1"));
        assert_eq!(params.kind.as_deref(), Some("signed_out,sign_in"));
    }
}
