//! Alerts: a sign-in from a country or a kind of device the account has never
//! used. Each is an activity event, a banner on the account pages until
//! dismissed, and (when configured) a signed webhook delivered at least once
//! from a durable outbox.

pub mod http;
pub mod webhook;

use std::net::IpAddr;

use serde::Serialize;

use crate::activity::{ActivityDevice, ActivityKind, NewActivity};
use crate::core::{Actor, Usher};
use crate::domain::{rfc3339, AccountId, DeviceInfo, EventId, SessionId, SignOutReason};
use crate::error::{Error, Result};
use crate::sessions::cache::{CachedSession, Lookup};
use crate::store::AlertRecord;

/// An open alert, as the API and the account pages show it.
#[derive(Debug, Serialize)]
pub struct AlertView {
    pub alert_id: EventId,
    pub at: String,
    pub reasons: serde_json::Value,
    pub device: serde_json::Value,
    pub ip: serde_json::Value,
    pub location: serde_json::Value,
    /// Whether the device is still signed in (so it can be signed out).
    pub device_signed_in: bool,
}

/// A new sign-in, as the alert check sees it.
pub(crate) struct SignIn<'a> {
    pub account_id: AccountId,
    pub session_id: SessionId,
    pub device: &'a DeviceInfo,
    pub ip: Option<IpAddr>,
    /// `app` or `browser`.
    pub via: &'static str,
}

impl Usher {
    /// Records a successful sign-in and raises an alert when its country or
    /// device type is new to the account. Never fails the sign-in.
    pub(crate) async fn signed_in(&self, s: SignIn<'_>) {
        let device = ActivityDevice {
            session_id: Some(s.session_id),
            name: s.device.name.as_str().to_owned(),
            kind: s.device.kind,
        };
        self.record(NewActivity {
            account_id: s.account_id,
            kind: ActivityKind::SignIn,
            device: Some(device.clone()),
            ip: s.ip,
            detail: serde_json::json!({ "via": s.via }),
        })
        .await;
        let location = s.ip.and_then(|ip| self.geo.locate(ip));
        let country = location
            .as_ref()
            .filter(|l| !l.local)
            .and_then(|l| l.country_code.clone());
        let now = self.clock.now();
        let new = match self
            .store
            .note_sign_in(s.account_id, country.as_deref(), s.device.kind, now)
            .await
        {
            Ok(new) => new,
            Err(e) => {
                tracing::warn!(error = %e, "could not check the sign-in for alerts");
                return;
            }
        };
        let mut reasons = Vec::new();
        if new.country {
            reasons.push("new_country");
        }
        if new.device_type {
            reasons.push("new_device_type");
        }
        if reasons.is_empty() {
            return;
        }
        let event = self.activity_record(NewActivity {
            account_id: s.account_id,
            kind: ActivityKind::Alert,
            device: Some(device),
            ip: s.ip,
            detail: serde_json::json!({ "reasons": reasons, "country": country }),
        });
        let body = serde_json::json!({
            "type": "sign_in_alert",
            "alert_id": event.id,
            "account_id": s.account_id,
            "at": rfc3339(event.at),
            "reasons": reasons,
            "device": {
                "session_id": s.session_id,
                "name": s.device.name.as_str(),
                "type": s.device.kind.as_str(),
                "model": s.device.model,
            },
            "ip": s.ip.map(|ip| ip.to_string()),
            "location": event.location,
        });
        let alert = AlertRecord {
            id: event.id,
            account_id: s.account_id,
            session_id: s.session_id,
            at: event.at,
            body,
        };
        let deliver = self.config.alerts.webhook_url.is_some();
        match self.store.raise_alert(&alert, &event, deliver).await {
            Ok(()) => {
                tracing::info!(account = %s.account_id, alert = %alert.id, ?reasons, "sign-in alert raised");
                if deliver {
                    self.webhook_wakeup.notify_one();
                }
            }
            Err(e) => tracing::error!(error = %e, "could not store a sign-in alert"),
        }
    }

    /// Alerts of the account not yet dismissed, newest first.
    pub async fn open_alerts(&self, account: AccountId) -> Result<Vec<AlertView>> {
        let records = self.store.open_alerts(account).await?;
        Ok(records.into_iter().map(|r| self.alert_view(r)).collect())
    }

    fn alert_view(&self, r: AlertRecord) -> AlertView {
        let signed_in = match self.sessions.lookup(r.session_id) {
            Lookup::Active(s) => s.revoked().is_none(),
            Lookup::Revoked(_) => false,
            // Not seen on this node: the page offers the sign-out, which
            // answers "already signed out" if so.
            Lookup::Unknown => true,
        };
        let field = |name: &str| r.body.get(name).cloned().unwrap_or_default();
        AlertView {
            alert_id: r.id,
            at: rfc3339(r.at),
            reasons: field("reasons"),
            device: field("device"),
            ip: field("ip"),
            location: field("location"),
            device_signed_in: signed_in,
        }
    }

    /// Dismisses an alert; 404 when it is not an open alert of this account.
    pub async fn dismiss_alert(&self, account: AccountId, id: EventId) -> Result<AlertRecord> {
        self.store
            .dismiss_alert(account, id, self.clock.now())
            .await?
            .ok_or(Error::NotFound)
    }

    /// "Sign that device out": ends the alert's session and dismisses it.
    /// Returns whether the device was still signed in.
    pub async fn sign_out_alerted_device(
        &self,
        by: &CachedSession,
        id: EventId,
        ip: Option<IpAddr>,
    ) -> Result<bool> {
        let alert = self.dismiss_alert(by.account_id, id).await?;
        if alert.session_id == by.id {
            return Ok(false);
        }
        self.revoke(
            by.account_id,
            alert.session_id,
            SignOutReason::Remote,
            Actor::device(by, ip),
        )
        .await
    }
}
