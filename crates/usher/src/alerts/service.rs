//! [`Alerts`]: raising an alert when a sign-in comes from a country or a
//! kind of device the account has never used, or when signed-in devices
//! enter several wrong passwords; listing and dismissing them.

use std::net::IpAddr;
use std::sync::Arc;

use std::time::Duration;

use crate::activity::{Activity, ActivityDevice, NewActivity};
use crate::auth::budget::FailureBudget;
use crate::clock::SharedClock;
use crate::config::AlertConfig;
use crate::domain::{
    AccountId, ActivityDetail, AlertBody, AlertDetail, AlertDevice, AlertMessage, AlertReason,
    AlertType, DeviceInfo, EventId, SessionId, SignInDetail, SignInVia,
};
use crate::error::{Error, Result};
use crate::geo::Geo;
use crate::store::{AlertRecord, SharedStore, SignInTraits};

/// A new sign-in, as the alert check sees it.
pub struct SignIn<'a> {
    pub account_id: AccountId,
    pub session_id: SessionId,
    pub device: &'a DeviceInfo,
    pub ip: Option<IpAddr>,
    pub via: SignInVia,
}

/// A signed-in device an alert names, and the address it was at.
pub struct AlertedDevice<'a> {
    pub account_id: AccountId,
    pub session_id: SessionId,
    pub device: &'a DeviceInfo,
    pub ip: Option<IpAddr>,
}

/// An open alert, and whether its device may still be signed in (so it
/// can be signed out).
#[derive(Debug)]
pub struct OpenAlert {
    pub alert: AlertRecord,
    pub device_signed_in: bool,
}

/// Sign-in alerts and their webhook outbox.
pub struct Alerts {
    pub(super) store: SharedStore,
    pub(super) clock: SharedClock,
    geo: Arc<Geo>,
    activity: Arc<Activity>,
    /// Whether a webhook is configured (alerts are then queued for it).
    deliver: bool,
    /// Wrong passwords re-entered per account: an alert when it runs out.
    wrong_passwords: FailureBudget<AccountId>,
    /// Wakes the webhook worker when an alert is queued for delivery.
    pub(super) wakeup: tokio::sync::Notify,
    pub(super) config: AlertConfig,
}

impl Alerts {
    pub fn new(
        config: &AlertConfig,
        store: SharedStore,
        clock: SharedClock,
        geo: Arc<Geo>,
        activity: Arc<Activity>,
    ) -> Self {
        Self {
            wrong_passwords: FailureBudget::new(
                config.wrong_passwords_burst,
                Duration::from_secs(config.wrong_passwords_period_secs),
                Arc::clone(&clock),
            ),
            store,
            clock,
            geo,
            activity,
            deliver: config.webhook_url.is_some(),
            wakeup: tokio::sync::Notify::new(),
            config: config.clone(),
        }
    }

    /// Records a successful sign-in and raises an alert when its country or
    /// device type is new to the account. Never fails the sign-in.
    pub async fn signed_in(&self, s: SignIn<'_>) {
        let device = ActivityDevice {
            session_id: Some(s.session_id),
            name: s.device.name.as_str().to_owned(),
            kind: s.device.kind,
        };
        self.activity
            .record(NewActivity {
                account_id: s.account_id,
                device: Some(device.clone()),
                ip: s.ip,
                detail: ActivityDetail::SignIn(SignInDetail { via: s.via }),
            })
            .await;
        let country = self.country(s.ip);
        let now = self.clock.now();
        let new = match self
            .store
            .note_sign_in(&SignInTraits {
                account: s.account_id,
                country: country.clone(),
                device_type: s.device.kind,
                now,
            })
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
            reasons.push(AlertReason::NewCountry);
        }
        if new.device_type {
            reasons.push(AlertReason::NewDeviceType);
        }
        if reasons.is_empty() {
            return;
        }
        self.raise(
            AlertType::SignInAlert,
            reasons,
            country,
            AlertedDevice {
                account_id: s.account_id,
                session_id: s.session_id,
                device: s.device,
                ip: s.ip,
            },
        )
        .await;
    }

    /// Counts a wrong account password entered on a signed-in device, and
    /// raises an alert naming it when the account's devices have entered a
    /// burst of them (once per burst). Never fails the caller.
    pub async fn wrong_password(&self, on: AlertedDevice<'_>) {
        if !self.wrong_passwords.count(on.account_id) {
            return;
        }
        let reasons = vec![AlertReason::WrongPasswords];
        let country = self.country(on.ip);
        self.raise(AlertType::WrongPasswordAlert, reasons, country, on)
            .await;
    }

    /// ISO 3166-1 alpha-2 of a public address, when known.
    fn country(&self, ip: Option<IpAddr>) -> Option<String> {
        ip.and_then(|ip| self.geo.locate(ip))
            .filter(|l| !l.local)
            .and_then(|l| l.country_code)
    }

    /// Stores an alert with its `alert` event and, when a webhook is
    /// configured, its delivery, in one transaction.
    async fn raise(
        &self,
        kind: AlertType,
        reasons: Vec<AlertReason>,
        country: Option<String>,
        on: AlertedDevice<'_>,
    ) {
        let event = self.activity.stored(NewActivity {
            account_id: on.account_id,
            device: Some(ActivityDevice {
                session_id: Some(on.session_id),
                name: on.device.name.as_str().to_owned(),
                kind: on.device.kind,
            }),
            ip: on.ip,
            detail: ActivityDetail::Alert(AlertDetail {
                reasons: reasons.clone(),
                country,
            }),
        });
        let body = AlertBody::Raised(AlertMessage {
            kind,
            alert_id: event.id,
            account_id: on.account_id,
            at: event.at,
            reasons: reasons.clone(),
            device: AlertDevice {
                session_id: on.session_id,
                name: on.device.name.as_str().to_owned(),
                kind: on.device.kind,
                model: on.device.model.clone(),
            },
            ip: on.ip,
            location: event.location.clone(),
        });
        let alert = AlertRecord {
            id: event.id,
            account_id: on.account_id,
            session_id: on.session_id,
            at: event.at,
            body,
        };
        let deliver = self.deliver;
        match self.store.raise_alert(&alert, &event, deliver).await {
            Ok(()) => {
                tracing::info!(account = %on.account_id, alert = %alert.id, ?reasons, "alert raised");
                if deliver {
                    self.wakeup.notify_one();
                }
            }
            Err(e) => tracing::error!(error = %e, "could not store an alert"),
        }
    }

    /// Forgets wrong-password counts that have recovered.
    pub fn housekeeping(&self) {
        self.wrong_passwords.tidy();
    }

    /// Alerts of the account not yet dismissed, newest first;
    /// `signed_in` tells whether a session may still be signed in.
    pub async fn open(
        &self,
        account: AccountId,
        signed_in: impl Fn(SessionId) -> bool,
    ) -> Result<Vec<OpenAlert>> {
        let records = self.store.open_alerts(account).await?;
        Ok(records
            .into_iter()
            .map(|alert| OpenAlert {
                device_signed_in: signed_in(alert.session_id),
                alert,
            })
            .collect())
    }

    /// Dismisses an alert; 404 when it is not an open alert of this account.
    pub async fn dismiss(&self, account: AccountId, id: EventId) -> Result<AlertRecord> {
        self.store
            .dismiss_alert(account, id, self.clock.now())
            .await?
            .ok_or(Error::NotFound)
    }
}
