//! Taking, keeping and giving back stream slots.

use serde::Serialize;

use crate::bus::Event;
use crate::core::Usher;
use crate::domain::{rfc3339, DeviceType, Millis, SessionId, StreamId, StreamTitle};
use crate::error::{Error, Result};
use crate::profiles::service::ProfileRefView;
use crate::sessions::cache::CachedSession;
use crate::store::{
    ActiveStream, EndedStream, HeartbeatOutcome, NewStream, StartOutcome, StopOutcome,
};

/// A slot held: what the device needs to keep it.
#[derive(Debug, Serialize)]
pub struct Lease {
    pub stream_id: StreamId,
    /// Seconds between heartbeats.
    pub heartbeat_interval: u64,
    pub expires_at: String,
}

/// A stream as other devices of the account see it.
#[derive(Debug, Clone, Serialize)]
pub struct ActiveStreamView {
    pub stream_id: StreamId,
    pub device: StreamDevice,
    pub title: String,
    pub profile: Option<ProfileRefView>,
    pub started_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StreamDevice {
    pub session_id: SessionId,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: DeviceType,
}

impl From<ActiveStream> for ActiveStreamView {
    fn from(a: ActiveStream) -> Self {
        Self {
            stream_id: a.stream.id,
            device: StreamDevice {
                session_id: a.stream.session_id,
                name: a.device_name,
                kind: a.device_type,
            },
            title: a.stream.title,
            profile: a.profile.map(Into::into),
            started_at: rfc3339(a.stream.started_at),
        }
    }
}

impl Usher {
    fn lease_ms(&self) -> Millis {
        self.config.streams.lease_secs as Millis * 1000
    }

    fn lease(&self, id: StreamId, expires_at: Millis) -> Lease {
        Lease {
            stream_id: id,
            heartbeat_interval: self.config.streams.heartbeat_interval_secs,
            expires_at: rfc3339(expires_at),
        }
    }

    /// Takes a stream slot for the calling device, on `profile_id` or else
    /// the profile the device is on. Another profile than the device's may
    /// be named only if it is unlocked (a locked one must be picked, with its
    /// PIN, first); the device stays on its own profile either way.
    pub async fn start_stream(
        &self,
        session: &CachedSession,
        title: &str,
        profile_id: Option<String>,
    ) -> Result<Lease> {
        let title = StreamTitle::parse(title).map_err(|e| Error::InvalidTitle(e.to_string()))?;
        // A malformed id names no profile of this account.
        let profile_id = profile_id
            .map(|id| id.parse().map_err(|_| Error::UnknownProfile))
            .transpose()?;
        let new = NewStream {
            id: StreamId::new(),
            account_id: session.account_id,
            session_id: session.id,
            title,
            profile_id,
            now: self.clock.now(),
            lease_ms: self.lease_ms(),
        };
        match self.store.start_stream(&new, &self.plans).await? {
            StartOutcome::Started {
                stream,
                replaced,
                expired,
            } => {
                let ended: Vec<EndedStream> = replaced.into_iter().chain(expired).collect();
                for e in &ended {
                    self.announce_stream_end(*e).await;
                }
                self.publish(Event::DevicesChanged {
                    account_id: session.account_id,
                })
                .await;
                self.record_streams_ended(&ended, Some(session)).await;
                self.record_stream_started(session, &stream).await;
                Ok(self.lease(stream.id, stream.lease_expires_at))
            }
            StartOutcome::Full { limit, active } => {
                self.record_stream_refused(session, new.title.as_str(), limit)
                    .await;
                Err(Error::TooManyStreams {
                    limit,
                    active: active.into_iter().map(Into::into).collect(),
                })
            }
            StartOutcome::ProfileRequired => Err(Error::ProfileRequired),
            StartOutcome::PinRequired => Err(Error::PinRequired),
            StartOutcome::UnknownProfile => Err(Error::UnknownProfile),
            StartOutcome::SessionEnded => {
                let reason = session
                    .revoked()
                    .map_or(crate::domain::SignOutReason::Remote, |r| r.reason);
                Err(Error::SessionRevoked(reason))
            }
        }
    }

    /// Keeps the calling device's slot.
    pub async fn heartbeat(&self, session: &CachedSession, id: StreamId) -> Result<Lease> {
        let now = self.clock.now();
        match self
            .store
            .heartbeat(session.id, id, now, self.lease_ms())
            .await?
        {
            HeartbeatOutcome::Extended(stream) => {
                Ok(self.lease(stream.id, stream.lease_expires_at))
            }
            HeartbeatOutcome::Ended {
                reason,
                expired_now,
            } => {
                if let Some(ended) = expired_now {
                    self.announce_stream_end(ended).await;
                    self.record_streams_ended(&[ended], None).await;
                }
                Err(Error::StreamEnded(reason))
            }
            HeartbeatOutcome::NotFound => Err(Error::NotFound),
        }
    }

    /// Stops a stream of the account: the caller's own, or remotely another device's.
    pub async fn stop_stream(&self, session: &CachedSession, id: StreamId) -> Result<()> {
        let now = self.clock.now();
        match self
            .store
            .stop_stream(session.account_id, id, session.id, now)
            .await?
        {
            StopOutcome::Stopped(ended) => {
                self.announce_stream_end(ended).await;
                self.record_streams_ended(&[ended], Some(session)).await;
                Ok(())
            }
            StopOutcome::AlreadyEnded => Ok(()),
            StopOutcome::NotFound => Err(Error::NotFound),
        }
    }

    /// Streams that count against the account's plan now.
    pub async fn active_streams(
        &self,
        account: crate::domain::AccountId,
    ) -> Result<Vec<ActiveStreamView>> {
        let live = self.store.live_streams(account, self.clock.now()).await?;
        Ok(live.into_iter().map(Into::into).collect())
    }

    /// Ends lapsed leases and tells their devices. Admission never waits for
    /// this: a lapsed lease stops counting at its expiry on its own.
    pub async fn expire_leases(&self) -> Result<usize> {
        let ended = self.store.expire_leases(self.clock.now()).await?;
        for e in &ended {
            self.announce_stream_end(*e).await;
        }
        self.record_streams_ended(&ended, None).await;
        Ok(ended.len())
    }

    pub(crate) async fn announce_stream_end(&self, e: EndedStream) {
        self.publish(Event::StreamStopped {
            stream_id: e.stream_id,
            session_id: e.session_id,
            account_id: e.account_id,
            reason: e.reason,
        })
        .await;
    }
}
