//! [`Streams`]: taking, keeping and giving back stream slots.

use std::sync::Arc;

use crate::activity::Activity;
use crate::bus::{Event, SharedBus};
use crate::clock::SharedClock;
use crate::config::StreamConfig;
use crate::domain::{AccountId, Millis, Plans, ProfileId, StreamId, StreamTitle};
use crate::error::{Error, Result};
use crate::sessions::cache::CachedSession;
use crate::sessions::Sessions;
use crate::store::{
    ActiveStream, EndedStream, Heartbeat, HeartbeatOutcome, NewStream, SharedStore, StartOutcome,
    StopOutcome, StoreError, StoreResult, StreamStop,
};
use crate::telemetry::series::{self, label_enum, Counters};

/// A slot held: what the device needs to keep it.
#[derive(Debug, Clone, Copy)]
pub struct Lease {
    pub stream_id: StreamId,
    /// Seconds between heartbeats.
    pub heartbeat_interval: u64,
    pub expires_at: Millis,
}

label_enum! {
    /// How a stream start was decided, for `usher_stream_admissions_total`.
    enum Admission, key "outcome" {
        Admitted => "admitted",
        /// Every slot of the plan is taken (`409 too_many_streams`).
        Full => "full",
        ProfileRequired => "profile_required",
        PinRequired => "pin_required",
        UnknownProfile => "unknown_profile",
        /// The device was signed out meanwhile.
        SignedOut => "signed_out",
        /// The store did not answer (`503 unavailable`): nothing was decided.
        Unavailable => "unavailable",
        /// The store failed otherwise (`500`).
        Error => "error",
    }
}

impl Admission {
    fn of(outcome: &StoreResult<StartOutcome>) -> Self {
        match outcome {
            Ok(StartOutcome::Started { .. }) => Self::Admitted,
            Ok(StartOutcome::Full { .. }) => Self::Full,
            Ok(StartOutcome::ProfileRequired) => Self::ProfileRequired,
            Ok(StartOutcome::PinRequired) => Self::PinRequired,
            Ok(StartOutcome::UnknownProfile) => Self::UnknownProfile,
            Ok(StartOutcome::SessionEnded) => Self::SignedOut,
            Err(StoreError::Unavailable(_)) => Self::Unavailable,
            Err(_) => Self::Error,
        }
    }
}

/// Stream slots, by plan.
pub struct Streams {
    pub(super) store: SharedStore,
    bus: SharedBus,
    clock: SharedClock,
    plans: Plans,
    lease_ms: Millis,
    heartbeat_interval_secs: u64,
    pub(super) sessions: Arc<Sessions>,
    pub(super) activity: Arc<Activity>,
    admissions: Counters<Admission>,
}

impl Streams {
    pub fn new(
        config: &StreamConfig,
        plans: Plans,
        store: SharedStore,
        bus: SharedBus,
        clock: SharedClock,
        sessions: Arc<Sessions>,
        activity: Arc<Activity>,
    ) -> Self {
        Self {
            store,
            bus,
            clock,
            plans,
            lease_ms: config.lease_secs as Millis * 1000,
            heartbeat_interval_secs: config.heartbeat_interval_secs,
            sessions,
            activity,
            admissions: Counters::register(series::STREAM_ADMISSIONS),
        }
    }

    /// Takes a stream slot for the calling device, on `profile_id` or else
    /// the profile the device is on. Another profile than the device's may
    /// be named only if it is unlocked (a locked one must be picked, with its
    /// PIN, first); the device stays on its own profile either way.
    pub async fn start(
        &self,
        session: &CachedSession,
        title: StreamTitle,
        profile_id: Option<ProfileId>,
    ) -> Result<Lease> {
        let new = NewStream {
            id: StreamId::new(),
            account_id: session.account_id,
            session_id: session.id,
            title,
            profile_id,
            now: self.clock.now(),
            lease_ms: self.lease_ms,
        };
        let outcome = self.store.start_stream(&new, &self.plans).await;
        self.admissions.increment(Admission::of(&outcome));
        match outcome? {
            StartOutcome::Started {
                stream,
                replaced,
                expired,
            } => {
                let ended: Vec<EndedStream> = replaced.into_iter().chain(expired).collect();
                for e in &ended {
                    self.announce_end(*e).await;
                }
                self.publish(Event::DevicesChanged {
                    account_id: session.account_id,
                })
                .await;
                self.record_ended(&ended, Some(session)).await;
                self.record_stream_started(session, &stream).await;
                Ok(self.lease(stream.id, stream.lease_expires_at))
            }
            StartOutcome::Full { limit, active } => {
                self.record_stream_refused(session, new.title.as_str(), limit)
                    .await;
                Err(Error::TooManyStreams { limit, active })
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
            .heartbeat(&Heartbeat {
                session: session.id,
                stream: id,
                now,
                lease_ms: self.lease_ms,
            })
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
                    self.announce_end(ended).await;
                    self.record_ended(&[ended], None).await;
                }
                Err(Error::StreamEnded(reason))
            }
            HeartbeatOutcome::NotFound => Err(Error::NotFound),
        }
    }

    /// Stops a stream of the account: the caller's own, or remotely another device's.
    pub async fn stop(&self, session: &CachedSession, id: StreamId) -> Result<()> {
        let now = self.clock.now();
        match self
            .store
            .stop_stream(&StreamStop {
                account: session.account_id,
                stream: id,
                by: session.id,
                now,
            })
            .await?
        {
            StopOutcome::Stopped(ended) => {
                self.announce_end(ended).await;
                self.record_ended(&[ended], Some(session)).await;
                Ok(())
            }
            StopOutcome::AlreadyEnded => Ok(()),
            StopOutcome::NotFound => Err(Error::NotFound),
        }
    }

    /// Streams that count against the account's plan now.
    pub async fn active(&self, account: AccountId) -> Result<Vec<ActiveStream>> {
        Ok(self.store.live_streams(account, self.clock.now()).await?)
    }

    /// Ends lapsed leases and tells their devices. Admission never waits for
    /// this: a lapsed lease stops counting at its expiry on its own.
    pub async fn expire_leases(&self) -> Result<usize> {
        let ended = self.store.expire_leases(self.clock.now()).await?;
        for e in &ended {
            self.announce_end(*e).await;
        }
        self.record_ended(&ended, None).await;
        Ok(ended.len())
    }

    /// Tells every node that a stream ended.
    pub async fn announce_end(&self, e: EndedStream) {
        self.publish(Event::StreamStopped {
            stream_id: e.stream_id,
            session_id: e.session_id,
            account_id: e.account_id,
            reason: e.reason,
        })
        .await;
    }

    fn lease(&self, id: StreamId, expires_at: Millis) -> Lease {
        Lease {
            stream_id: id,
            heartbeat_interval: self.heartbeat_interval_secs,
            expires_at,
        }
    }

    async fn publish(&self, event: Event) {
        crate::bus::publish(&*self.bus, event).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::series::Label;

    #[test]
    fn a_start_the_store_failed_has_an_outcome_of_its_own() {
        let unavailable = Err(StoreError::Unavailable(anyhow::anyhow!(
            "connection refused"
        )));
        assert_eq!(Admission::of(&unavailable).as_str(), "unavailable");
        let broken = Err(StoreError::Other(anyhow::anyhow!("corrupt row")));
        assert_eq!(Admission::of(&broken).as_str(), "error");
        assert_eq!(
            Admission::of(&Ok(StartOutcome::PinRequired)).as_str(),
            "pin_required"
        );
    }
}
