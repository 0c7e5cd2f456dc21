//! [`Devices`]: the device list ("Manage access and devices"), renaming,
//! and signing devices out.

use std::sync::Arc;

use super::record::Device;
use crate::activity::{Activity, ActivityDevice, NewActivity};
use crate::alerts::Alerts;
use crate::bus::{Event, SharedBus};
use crate::clock::SharedClock;
use crate::domain::{
    AccountId, ActivityDetail, DeviceName, DeviceRenamedDetail, EventId, SessionId, SignOutReason,
};
use crate::error::{Error, Result};
use crate::sessions::cache::CachedSession;
use crate::sessions::{Actor, Sessions};
use crate::store::SharedStore;

/// The devices of an account.
pub struct Devices {
    store: SharedStore,
    bus: SharedBus,
    clock: SharedClock,
    sessions: Arc<Sessions>,
    activity: Arc<Activity>,
    alerts: Arc<Alerts>,
}

impl Devices {
    pub fn new(
        store: SharedStore,
        bus: SharedBus,
        clock: SharedClock,
        sessions: Arc<Sessions>,
        activity: Arc<Activity>,
        alerts: Arc<Alerts>,
    ) -> Self {
        Self {
            store,
            bus,
            clock,
            sessions,
            activity,
            alerts,
        }
    }

    /// Every signed-in device of the account, oldest sign-in first.
    pub async fn list(&self, account: AccountId, current: SessionId) -> Result<Vec<Device>> {
        let records = self.store.active_sessions(account).await?;
        let streams = self.store.live_streams(account, self.clock.now()).await?;
        Ok(records
            .into_iter()
            .map(|r| self.sessions.describe(r, Some(current), &streams))
            .collect())
    }

    pub async fn rename(
        &self,
        account: AccountId,
        id: SessionId,
        name: DeviceName,
        by: Actor<'_>,
    ) -> Result<Device> {
        let previous = match self.store.session(id).await? {
            Some(s) if s.account_id == account => s.device.name.as_str().to_owned(),
            _ => return Err(Error::NotFound),
        };
        let current = by.session.map(|s| s.id);
        let record = self
            .store
            .rename_session(account, id, &name)
            .await?
            .ok_or(Error::NotFound)?;
        self.sessions.device_changed(id, record.device.clone());
        self.publish(Event::SessionUpdated {
            session_id: id,
            account_id: account,
        })
        .await;
        self.publish(Event::DevicesChanged {
            account_id: account,
        })
        .await;
        self.activity
            .record(NewActivity {
                account_id: account,
                device: Some(ActivityDevice {
                    session_id: Some(id),
                    name: record.device.name.as_str().to_owned(),
                    kind: record.device.kind,
                }),
                ip: by.ip,
                detail: ActivityDetail::DeviceRenamed(DeviceRenamedDetail {
                    from: previous,
                    to: record.device.name.as_str().to_owned(),
                    by: by.session.map(ActivityDevice::of),
                }),
            })
            .await;
        let streams = self.store.live_streams(account, self.clock.now()).await?;
        Ok(self.sessions.describe(record, current, &streams))
    }

    /// Signs one device of `by`'s account out: itself (`self`) or another
    /// (`remote`). False when it is not a signed-in device of the account.
    pub async fn sign_out(
        &self,
        by: &CachedSession,
        id: SessionId,
        actor: Actor<'_>,
    ) -> Result<bool> {
        let reason = if id == by.id {
            SignOutReason::SelfSignOut
        } else {
            SignOutReason::Remote
        };
        self.sessions.revoke(by.account_id, id, reason, actor).await
    }

    /// "Sign that device out" on a sign-in alert: ends the alert's session
    /// and dismisses the alert. Returns whether the device was still signed
    /// in (never when the alert is about the asking device itself).
    pub async fn sign_out_alerted(&self, alert: EventId, by: Actor<'_>) -> Result<bool> {
        let session = by.session.ok_or_else(|| {
            Error::Internal(anyhow::anyhow!("an alert sign-out without a device"))
        })?;
        let alert = self.alerts.dismiss(session.account_id, alert).await?;
        if alert.session_id == session.id {
            return Ok(false);
        }
        self.sessions
            .revoke(
                session.account_id,
                alert.session_id,
                SignOutReason::Remote,
                by,
            )
            .await
    }

    async fn publish(&self, event: Event) {
        crate::bus::publish(&*self.bus, event).await;
    }
}
