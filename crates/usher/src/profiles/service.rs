//! [`Profiles`]: listing, adding, renaming, deleting, PIN locks, and the
//! profile a device is on.

use std::sync::Arc;

use super::throttle::PinThrottle;
use crate::activity::{Activity, NewActivity};
use crate::auth::passwords::PasswordHasher;
use crate::bus::{Event, SharedBus};
use crate::clock::SharedClock;
use crate::config::ProfileConfig;
use crate::domain::{
    AccountId, ActivityDetail, PasswordCheck, Pin, ProfileDetail, ProfileId, ProfileName,
    ProfilePinSetDetail, ProfileUnlock, SessionId,
};
use crate::error::{Error, Result};
use crate::sessions::cache::CachedSession;
use crate::sessions::{Actor, Sessions};
use crate::store::{
    AccountProfiles, CreateProfileOutcome, DeleteProfileOutcome, NewProfile, PinChange,
    ProfileEviction, ProfileRecord, ProfileRef, ProfileSwitch, SharedStore, SwitchOutcome,
};
use crate::streams::Streams;

/// Profiles an account may have.
pub const MAX_PROFILES: u32 = 5;

/// The account a change is made on: profiles are only ever changed by a
/// signed-in device (the `Actor`'s session).
fn account_of(actor: &Actor<'_>) -> Result<AccountId> {
    actor
        .session
        .map(|s| s.account_id)
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("a profile change without a device")))
}

fn session_of(actor: &Actor<'_>) -> Result<SessionId> {
    actor
        .session
        .map(|s| s.id)
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("a PIN entered without a device")))
}

/// The profiles of accounts.
pub struct Profiles {
    store: SharedStore,
    bus: SharedBus,
    clock: SharedClock,
    hasher: Arc<PasswordHasher>,
    /// Wrong-PIN limits per profile.
    pin_throttle: PinThrottle,
    sessions: Arc<Sessions>,
    streams: Arc<Streams>,
    activity: Arc<Activity>,
}

/// The handles [`Profiles`] works with.
pub struct ProfilePorts {
    pub store: SharedStore,
    pub bus: SharedBus,
    pub clock: SharedClock,
    pub hasher: Arc<PasswordHasher>,
    pub sessions: Arc<Sessions>,
    pub streams: Arc<Streams>,
    pub activity: Arc<Activity>,
}

impl Profiles {
    pub fn new(config: &ProfileConfig, ports: ProfilePorts) -> Self {
        Self {
            pin_throttle: PinThrottle::new(config, Arc::clone(&ports.clock)),
            store: ports.store,
            bus: ports.bus,
            clock: ports.clock,
            hasher: ports.hasher,
            sessions: ports.sessions,
            streams: ports.streams,
            activity: ports.activity,
        }
    }

    /// Forgets wrong-PIN counts that have recovered.
    pub fn housekeeping(&self) {
        self.pin_throttle.tidy();
    }

    /// The account's profiles, oldest first, and its settings.
    pub async fn list(&self, account: AccountId) -> Result<AccountProfiles> {
        Ok(self.store.profiles(account).await?)
    }

    /// Adds a profile (unlocked). With "require PIN to add profiles" on,
    /// `pin` must be the default profile's PIN.
    pub async fn create(
        &self,
        actor: &Actor<'_>,
        name: ProfileName,
        pin: Option<Pin>,
    ) -> Result<ProfileRecord> {
        let stored = self.store.profiles(account_of(actor)?).await?;
        if stored.require_pin_to_add {
            if let Some(default) = stored.profiles.iter().find(|p| p.is_default) {
                self.check_pin(default, pin, session_of(actor)?).await?;
            }
        }
        let new = NewProfile {
            id: ProfileId::new(),
            account_id: account_of(actor)?,
            name,
            now: self.clock.now(),
        };
        let created = match self.store.create_profile(&new, MAX_PROFILES).await? {
            CreateProfileOutcome::Created(created) => created,
            CreateProfileOutcome::LimitReached { limit } => {
                return Err(Error::ProfileLimitReached { limit })
            }
        };
        self.record_profile(
            actor,
            ActivityDetail::ProfileCreated(profile_detail(&created)),
        )
        .await;
        Ok(created)
    }

    /// Renames a profile; a locked one only with `unlock`.
    pub async fn rename(
        &self,
        actor: &Actor<'_>,
        id: ProfileId,
        name: ProfileName,
        unlock: Option<ProfileUnlock>,
    ) -> Result<ProfileRecord> {
        self.unlock(actor, id, unlock).await?;
        let renamed = self
            .store
            .rename_profile(account_of(actor)?, id, &name)
            .await?
            .ok_or(Error::NotFound)?;
        self.record_profile(
            actor,
            ActivityDetail::ProfileRenamed(profile_detail(&renamed)),
        )
        .await;
        // Device lists and streams show profile names.
        self.publish(Event::DevicesChanged {
            account_id: account_of(actor)?,
        })
        .await;
        Ok(renamed)
    }

    /// Deletes a profile (a locked one only with `unlock`); its devices go
    /// back to the picker, as on a lock.
    pub async fn delete(
        &self,
        actor: &Actor<'_>,
        id: ProfileId,
        unlock: Option<ProfileUnlock>,
    ) -> Result<()> {
        self.unlock(actor, id, unlock).await?;
        let now = self.clock.now();
        match self
            .store
            .delete_profile(account_of(actor)?, id, now)
            .await?
        {
            DeleteProfileOutcome::Deleted(profile, eviction) => {
                self.announce_eviction(account_of(actor)?, id, eviction)
                    .await;
                self.record_profile(
                    actor,
                    ActivityDetail::ProfileDeleted(profile_detail(&profile)),
                )
                .await;
                Ok(())
            }
            DeleteProfileOutcome::NotFound => Err(Error::NotFound),
            DeleteProfileOutcome::LastProfile => Err(Error::LastProfile),
            DeleteProfileOutcome::DefaultProfile => Err(Error::DefaultProfile),
        }
    }

    /// Locks a profile with a PIN, or changes its PIN. Every device on it
    /// (this one too) goes back to the picker and its stream ends.
    pub async fn set_pin(
        &self,
        actor: &Actor<'_>,
        id: ProfileId,
        password: String,
        pin: Pin,
    ) -> Result<ProfileRecord> {
        let before = self
            .store
            .profile(account_of(actor)?, id)
            .await?
            .ok_or(Error::NotFound)?;
        self.sessions
            .reauthenticate(actor, password, PasswordCheck::PinSet)
            .await?;
        let hash = self.hasher.hash(pin.expose().to_owned()).await?;
        let now = self.clock.now();
        let (profile, eviction) = self
            .store
            .set_profile_pin(&PinChange {
                account: account_of(actor)?,
                profile: id,
                pin_hash: Some(hash),
                now,
            })
            .await?
            .ok_or(Error::NotFound)?;
        self.announce_eviction(account_of(actor)?, id, eviction)
            .await;
        self.pin_throttle.forget(id);
        // `changed`: an existing PIN was replaced (rather than a first lock).
        let changed = before.pin_hash.is_some();
        let detail = ActivityDetail::ProfilePinSet(ProfilePinSetDetail {
            profile_id: profile.id,
            name: profile.name.clone(),
            changed,
        });
        self.record_profile(actor, detail).await;
        Ok(profile)
    }

    /// Unlocks a profile. Nobody is moved: an unlocked profile hides nothing.
    pub async fn remove_pin(
        &self,
        actor: &Actor<'_>,
        id: ProfileId,
        password: String,
    ) -> Result<ProfileRecord> {
        self.sessions
            .reauthenticate(actor, password, PasswordCheck::PinRemoval)
            .await?;
        let now = self.clock.now();
        let (profile, _) = self
            .store
            .set_profile_pin(&PinChange {
                account: account_of(actor)?,
                profile: id,
                pin_hash: None,
                now,
            })
            .await?
            .ok_or(Error::NotFound)?;
        self.record_profile(
            actor,
            ActivityDetail::ProfilePinRemoved(profile_detail(&profile)),
        )
        .await;
        self.publish(Event::DevicesChanged {
            account_id: account_of(actor)?,
        })
        .await;
        Ok(profile)
    }

    /// Turns "require the default profile's PIN to add profiles" on or off.
    /// Turning it on needs the default profile to be locked (that PIN is
    /// the one asked for).
    pub async fn set_require_pin_to_add(
        &self,
        actor: &Actor<'_>,
        password: String,
        on: bool,
    ) -> Result<AccountProfiles> {
        self.sessions
            .reauthenticate(actor, password, PasswordCheck::ProfileSettings)
            .await?;
        if !self
            .store
            .set_require_pin_to_add(account_of(actor)?, on)
            .await?
        {
            return Err(Error::DefaultProfileUnlocked);
        }
        self.list(account_of(actor)?).await
    }

    /// Puts the calling device on a profile (with its PIN when locked).
    pub async fn switch(
        &self,
        session: &CachedSession,
        id: ProfileId,
        pin: Option<Pin>,
    ) -> Result<ProfileRef> {
        let profile = self
            .store
            .profile(session.account_id, id)
            .await?
            .ok_or(Error::NotFound)?;
        self.check_pin(&profile, pin, session.id).await?;
        match self
            .store
            .switch_profile(&ProfileSwitch {
                account: session.account_id,
                session: session.id,
                profile: id,
                checked_pin_hash: profile.pin_hash.clone(),
            })
            .await?
        {
            SwitchOutcome::Switched(profile) => {
                self.sessions.put_on_profile(session, profile.id);
                self.publish(Event::SessionUpdated {
                    session_id: session.id,
                    account_id: session.account_id,
                })
                .await;
                self.publish(Event::DevicesChanged {
                    account_id: session.account_id,
                })
                .await;
                Ok(ProfileRef {
                    id: profile.id,
                    name: profile.name,
                })
            }
            SwitchOutcome::NotFound => Err(Error::NotFound),
            // Locked or re-locked since it was read: the PIN checked is stale.
            SwitchOutcome::PinChanged => Err(Error::WrongPin),
            SwitchOutcome::SessionEnded => Err(Error::SessionRevoked(
                session
                    .revoked()
                    .map_or(crate::domain::SignOutReason::Remote, |r| r.reason),
            )),
        }
    }

    /// Lets a change of the profile go ahead: at once when it is unlocked,
    /// else with its PIN (throttled as picking it is) or the account
    /// password (which spends the sign-in budget).
    ///
    /// Checked before the change rather than with it: a lock that lands
    /// between the check and the change leaves the same profile as the
    /// change made just before the lock, which was allowed.
    async fn unlock(
        &self,
        actor: &Actor<'_>,
        id: ProfileId,
        unlock: Option<ProfileUnlock>,
    ) -> Result<()> {
        let profile = self
            .store
            .profile(account_of(actor)?, id)
            .await?
            .ok_or(Error::NotFound)?;
        if profile.pin_hash.is_none() {
            return Ok(());
        }
        match unlock {
            None => Err(Error::PinRequired),
            Some(ProfileUnlock::Pin(pin)) => {
                self.check_pin(&profile, Some(pin), session_of(actor)?)
                    .await
            }
            Some(ProfileUnlock::Password(password)) => {
                self.sessions
                    .reauthenticate(actor, password, PasswordCheck::LockedProfileChange)
                    .await
            }
        }
    }

    /// Checks `pin`, entered on the device of `session`, against a locked
    /// profile, throttling wrong ones.
    async fn check_pin(
        &self,
        profile: &ProfileRecord,
        pin: Option<Pin>,
        session: SessionId,
    ) -> Result<()> {
        let Some(hash) = &profile.pin_hash else {
            return Ok(());
        };
        let pin = pin.ok_or(Error::PinRequired)?;
        let check = self
            .pin_throttle
            .begin(profile.id, session)
            .map_err(|retry_after| Error::TooManyPinAttempts { retry_after })?;
        if self
            .hasher
            .verify(pin.expose().to_owned(), Some(hash.clone()))
            .await?
        {
            check.right();
            return Ok(());
        }
        check.wrong();
        Err(Error::WrongPin)
    }

    /// Applies an eviction on this node before answering, then tells every
    /// node: the streams that ended first, then `ProfileLocked`.
    async fn announce_eviction(
        &self,
        account_id: AccountId,
        profile_id: ProfileId,
        eviction: ProfileEviction,
    ) {
        for session_id in &eviction.sessions {
            self.sessions.leave_profile(*session_id, profile_id);
        }
        for ended in &eviction.ended {
            self.streams.announce_end(*ended).await;
        }
        self.streams.record_ended(&eviction.ended, None).await;
        if !eviction.sessions.is_empty() {
            self.publish(Event::ProfileLocked {
                account_id,
                profile_id,
                sessions: eviction.sessions,
            })
            .await;
        }
        self.publish(Event::DevicesChanged { account_id }).await;
    }

    /// Records a change made from a device (the account pages' own
    /// changes have a session too; an operator's have none and are not
    /// recorded).
    async fn record_profile(&self, actor: &Actor<'_>, detail: ActivityDetail) {
        let Some(session) = actor.session else {
            return;
        };
        self.activity
            .record(NewActivity::by(session, actor.ip, detail))
            .await;
    }

    async fn publish(&self, event: Event) {
        crate::bus::publish(&*self.bus, event).await;
    }
}

/// How the history names a profile.
fn profile_detail(profile: &ProfileRecord) -> ProfileDetail {
    ProfileDetail {
        profile_id: profile.id,
        name: profile.name.clone(),
    }
}
