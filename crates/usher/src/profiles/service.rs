//! Profiles: listing, adding, renaming, deleting, PIN locks, and the profile
//! a device is on.

use std::net::IpAddr;

use serde::Serialize;

use crate::activity::{ActivityKind, NewActivity};
use crate::bus::Event;
pub use crate::core::Actor;
use crate::core::Usher;
use crate::domain::{rfc3339, AccountId, Email, Pin, ProfileId, ProfileName};
use crate::error::{Error, Result};
use crate::sessions::cache::{CachedSession, Lookup};
use crate::store::{
    CreateProfileOutcome, DeleteProfileOutcome, NewProfile, ProfileEviction, ProfileRecord,
    ProfileRef, SwitchOutcome,
};

/// Profiles an account may have.
pub const MAX_PROFILES: u32 = 5;

/// A profile as the API shows it. The PIN (or its hash) never leaves.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileView {
    pub profile_id: ProfileId,
    pub name: String,
    pub locked: bool,
    pub default: bool,
    pub created_at: String,
}

impl From<ProfileRecord> for ProfileView {
    fn from(p: ProfileRecord) -> Self {
        Self {
            profile_id: p.id,
            name: p.name,
            locked: p.pin_hash.is_some(),
            default: p.is_default,
            created_at: rfc3339(p.created_at),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ProfileList {
    pub profiles: Vec<ProfileView>,
    pub require_pin_to_add: bool,
}

/// `{profile_id, name}`: a profile as devices, streams and picks show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileRefView {
    pub profile_id: ProfileId,
    pub name: String,
}

impl From<ProfileRef> for ProfileRefView {
    fn from(p: ProfileRef) -> Self {
        Self {
            profile_id: p.id,
            name: p.name,
        }
    }
}

/// The account a change is made on: profiles are only ever changed by a
/// signed-in device (the `Actor`'s session).
fn account_of(actor: &Actor<'_>) -> Result<AccountId> {
    actor
        .session
        .map(|s| s.account_id)
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("a profile change without a device")))
}

fn parse_name(raw: &str) -> Result<ProfileName> {
    ProfileName::parse(raw).map_err(|e| Error::InvalidProfileName(e.to_string()))
}

fn parse_pin(raw: &str) -> Result<Pin> {
    Pin::parse(raw).map_err(|_| Error::InvalidPin)
}

impl Usher {
    pub async fn profiles(&self, account: AccountId) -> Result<ProfileList> {
        let stored = self.store.profiles(account).await?;
        Ok(ProfileList {
            profiles: stored.profiles.into_iter().map(Into::into).collect(),
            require_pin_to_add: stored.require_pin_to_add,
        })
    }

    /// Adds a profile (unlocked). With "require PIN to add profiles" on,
    /// `pin` must be the default profile's PIN.
    pub async fn create_profile(
        &self,
        actor: &Actor<'_>,
        name: &str,
        pin: Option<&str>,
    ) -> Result<ProfileView> {
        let name = parse_name(name)?;
        let pin = pin.map(parse_pin).transpose()?;
        let stored = self.store.profiles(account_of(actor)?).await?;
        if stored.require_pin_to_add {
            if let Some(default) = stored.profiles.iter().find(|p| p.is_default) {
                self.check_pin(default, pin).await?;
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
        self.record_profile(actor, ActivityKind::ProfileCreated, &created, None)
            .await;
        Ok(created.into())
    }

    pub async fn rename_profile(
        &self,
        actor: &Actor<'_>,
        id: ProfileId,
        name: &str,
    ) -> Result<ProfileView> {
        let name = parse_name(name)?;
        let renamed = self
            .store
            .rename_profile(account_of(actor)?, id, &name)
            .await?
            .ok_or(Error::NotFound)?;
        self.record_profile(actor, ActivityKind::ProfileRenamed, &renamed, None)
            .await;
        // Device lists and streams show profile names.
        self.publish(Event::DevicesChanged {
            account_id: account_of(actor)?,
        })
        .await;
        Ok(renamed.into())
    }

    /// Deletes a profile; its devices go back to the picker, as on a lock.
    pub async fn delete_profile(&self, actor: &Actor<'_>, id: ProfileId) -> Result<()> {
        let now = self.clock.now();
        match self
            .store
            .delete_profile(account_of(actor)?, id, now)
            .await?
        {
            DeleteProfileOutcome::Deleted(profile, eviction) => {
                self.announce_eviction(account_of(actor)?, id, eviction)
                    .await;
                self.record_profile(actor, ActivityKind::ProfileDeleted, &profile, None)
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
    pub async fn set_profile_pin(
        &self,
        actor: &Actor<'_>,
        id: ProfileId,
        password: String,
        pin: &str,
    ) -> Result<ProfileView> {
        let pin = parse_pin(pin)?;
        let before = self
            .store
            .profile(account_of(actor)?, id)
            .await?
            .ok_or(Error::NotFound)?;
        self.check_account_password(actor, password).await?;
        let hash = self.hasher.hash(pin.expose().to_owned()).await?;
        let now = self.clock.now();
        let (profile, eviction) = self
            .store
            .set_profile_pin(account_of(actor)?, id, Some(&hash), now)
            .await?
            .ok_or(Error::NotFound)?;
        self.announce_eviction(account_of(actor)?, id, eviction)
            .await;
        // `changed`: an existing PIN was replaced (rather than a first lock).
        let changed = before.pin_hash.is_some();
        self.record_profile(actor, ActivityKind::ProfilePinSet, &profile, Some(changed))
            .await;
        Ok(profile.into())
    }

    /// Unlocks a profile. Nobody is moved: an unlocked profile hides nothing.
    pub async fn remove_profile_pin(
        &self,
        actor: &Actor<'_>,
        id: ProfileId,
        password: String,
    ) -> Result<ProfileView> {
        self.check_account_password(actor, password).await?;
        let now = self.clock.now();
        let (profile, _) = self
            .store
            .set_profile_pin(account_of(actor)?, id, None, now)
            .await?
            .ok_or(Error::NotFound)?;
        self.record_profile(actor, ActivityKind::ProfilePinRemoved, &profile, None)
            .await;
        self.publish(Event::DevicesChanged {
            account_id: account_of(actor)?,
        })
        .await;
        Ok(profile.into())
    }

    /// Turns "require the default profile's PIN to add profiles" on or off.
    /// Turning it on needs the default profile to be locked (that PIN is
    /// the one asked for).
    pub async fn set_require_pin_to_add(
        &self,
        actor: &Actor<'_>,
        password: String,
        on: bool,
    ) -> Result<ProfileList> {
        self.check_account_password(actor, password).await?;
        if !self
            .store
            .set_require_pin_to_add(account_of(actor)?, on)
            .await?
        {
            return Err(Error::DefaultProfileUnlocked);
        }
        self.profiles(account_of(actor)?).await
    }

    /// Puts the calling device on a profile (with its PIN when locked).
    pub async fn switch_profile(
        &self,
        session: &CachedSession,
        id: ProfileId,
        pin: Option<&str>,
    ) -> Result<ProfileRefView> {
        let pin = pin.map(parse_pin).transpose()?;
        let profile = self
            .store
            .profile(session.account_id, id)
            .await?
            .ok_or(Error::NotFound)?;
        self.check_pin(&profile, pin).await?;
        match self
            .store
            .switch_profile(
                session.account_id,
                session.id,
                id,
                profile.pin_hash.as_deref(),
            )
            .await?
        {
            SwitchOutcome::Switched(profile) => {
                session.set_profile(Some(profile.id));
                self.publish(Event::SessionUpdated {
                    session_id: session.id,
                    account_id: session.account_id,
                })
                .await;
                self.publish(Event::DevicesChanged {
                    account_id: session.account_id,
                })
                .await;
                Ok(ProfileRefView {
                    profile_id: profile.id,
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

    /// Checks `pin` against a locked profile, throttling wrong ones.
    async fn check_pin(&self, profile: &ProfileRecord, pin: Option<Pin>) -> Result<()> {
        let Some(hash) = &profile.pin_hash else {
            return Ok(());
        };
        let pin = pin.ok_or(Error::PinRequired)?;
        let _one_at_a_time = self
            .pin_throttle
            .begin(profile.id)
            .map_err(|retry_after| Error::TooManyPinAttempts { retry_after })?;
        if self
            .hasher
            .verify(pin.expose().to_owned(), Some(hash.clone()))
            .await?
        {
            return Ok(());
        }
        match self.pin_throttle.wrong(profile.id) {
            Ok(()) => Err(Error::WrongPin),
            Err(retry_after) => Err(Error::TooManyPinAttempts { retry_after }),
        }
    }

    /// The account password, confirmed for a PIN change; throttled exactly
    /// as sign-in is (same limits, same budget), since it is the same secret.
    async fn check_account_password(&self, actor: &Actor<'_>, password: String) -> Result<()> {
        let account = self
            .store
            .account(account_of(actor)?)
            .await?
            .ok_or(Error::NotFound)?;
        let email: &Email = &account.email;
        let client = actor.ip.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        self.throttle
            .check(client, email)
            .map_err(|retry_after| Error::TooManyAttempts { retry_after })?;
        if self
            .hasher
            .verify(password, Some(account.password_hash))
            .await?
        {
            Ok(())
        } else {
            Err(Error::WrongPassword)
        }
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
            if let Lookup::Active(cached) = self.sessions.lookup(*session_id) {
                cached.leave_profile(profile_id);
            }
        }
        for ended in &eviction.ended {
            self.announce_stream_end(*ended).await;
        }
        self.record_streams_ended(&eviction.ended, None).await;
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

    async fn record_profile(
        &self,
        actor: &Actor<'_>,
        kind: ActivityKind,
        profile: &ProfileRecord,
        pin_changed: Option<bool>,
    ) {
        let Some(session) = actor.session else {
            return;
        };
        let mut detail = serde_json::json!({
            "profile_id": profile.id,
            "name": profile.name,
        });
        if let Some(changed) = pin_changed {
            detail["changed"] = changed.into();
        }
        self.record(NewActivity::by(session, kind, actor.ip).detail(detail))
            .await;
    }
}
