//! The device list ("Manage access and devices") and renaming.

use serde::Serialize;

use crate::activity::{ActivityDevice, ActivityKind, NewActivity};
use crate::bus::Event;
use crate::core::{Actor, Usher};
use crate::domain::{rfc3339, AccountId, DeviceName, SessionId, StreamId};
use crate::error::{Error, Result};
use crate::sessions::cache::Lookup;
use crate::store::{ActiveStream, SessionRecord};

/// One row of the device list.
#[derive(Debug, Serialize)]
pub struct DeviceView {
    pub session_id: SessionId,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub model: Option<String>,
    pub app_version: Option<String>,
    pub signed_in_at: String,
    pub last_active_at: String,
    pub ip: Option<String>,
    pub location: Option<crate::geo::Location>,
    pub streaming: Option<NowPlaying>,
    pub profile: Option<crate::profiles::service::ProfileRefView>,
    pub current: bool,
}

/// What a device is playing now.
#[derive(Debug, Serialize)]
pub struct NowPlaying {
    pub stream_id: StreamId,
    pub title: String,
    pub started_at: String,
}

impl Usher {
    /// One row of the device list; `streams` are the account's live streams.
    pub(crate) fn device_view(
        &self,
        record: SessionRecord,
        current: Option<SessionId>,
        streams: &[ActiveStream],
    ) -> DeviceView {
        // This node's memory may be fresher than the last batched write. At
        // the same instant too: a refresh writes its time but not its address.
        let (mut last_active, mut ip) = (record.last_active_at, record.last_ip);
        if let Lookup::Active(cached) = self.sessions.lookup(record.id) {
            if cached.last_active() >= last_active {
                last_active = cached.last_active();
                ip = cached.last_ip().or(ip);
            }
        }
        DeviceView {
            session_id: record.id,
            name: record.device.name.as_str().to_owned(),
            kind: record.device.kind.as_str(),
            model: record.device.model,
            app_version: record.device.app_version,
            signed_in_at: rfc3339(record.created_at),
            last_active_at: rfc3339(last_active),
            ip: ip.map(|ip| ip.to_string()),
            location: self.locate(ip),
            streaming: streams
                .iter()
                .find(|s| s.stream.session_id == record.id)
                .map(|s| NowPlaying {
                    stream_id: s.stream.id,
                    title: s.stream.title.clone(),
                    started_at: rfc3339(s.stream.started_at),
                }),
            profile: record.profile.map(Into::into),
            current: Some(record.id) == current,
        }
    }

    /// Every signed-in device of the account, oldest sign-in first.
    pub async fn devices(&self, account: AccountId, current: SessionId) -> Result<Vec<DeviceView>> {
        let records = self.store.active_sessions(account).await?;
        let streams = self.store.live_streams(account, self.clock.now()).await?;
        Ok(records
            .into_iter()
            .map(|r| self.device_view(r, Some(current), &streams))
            .collect())
    }

    pub async fn rename_device(
        &self,
        account: AccountId,
        id: SessionId,
        name: &str,
        by: Actor<'_>,
    ) -> Result<DeviceView> {
        let name = DeviceName::parse(name).map_err(|e| Error::InvalidDeviceName(e.to_string()))?;
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
        if let Lookup::Active(cached) = self.sessions.lookup(id) {
            cached.set_device(record.device.clone());
        }
        self.publish(Event::SessionUpdated {
            session_id: id,
            account_id: account,
        })
        .await;
        self.publish(Event::DevicesChanged {
            account_id: account,
        })
        .await;
        self.record(NewActivity {
            account_id: account,
            kind: ActivityKind::DeviceRenamed,
            device: Some(ActivityDevice {
                session_id: Some(id),
                name: record.device.name.as_str().to_owned(),
                kind: record.device.kind,
            }),
            ip: by.ip,
            detail: serde_json::json!({
                "from": previous,
                "to": record.device.name.as_str(),
                "by": by.session.map(|s| ActivityDevice::of(s).as_json()),
            }),
        })
        .await;
        let streams = self.store.live_streams(account, self.clock.now()).await?;
        Ok(self.device_view(record, current, &streams))
    }
}
