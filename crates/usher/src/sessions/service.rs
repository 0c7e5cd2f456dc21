//! [`Sessions`]: sign-in, token refresh and the session cache's owner. The
//! per-request check is in `check.rs`, sign-outs in `revoke.rs`.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::device_proof::PresentedProof;
use crate::activity::{Activity, ActivityDevice, NewActivity};
use crate::alerts::{AlertedDevice, Alerts, SignIn};
use crate::auth::passwords::PasswordHasher;
use crate::auth::refresh;
use crate::auth::sealing::KeyEncryptionKey;
use crate::auth::throttle::{Proof, SignInThrottle, Throttled};
use crate::auth::tokens::{TokenService, TokenSettings};
use crate::bus::{Event, SharedBus};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::devices::record::{Device, NowPlaying};
use crate::domain::{
    AccountId, ActivityDetail, DeviceInfo, Email, Millis, PasswordCheck, PasswordCheckFailedDetail,
    Plans, SessionId, SignInFailedDetail, SignInFailure, SignInVia, SignOutReason,
};
use crate::error::{Error, Result};
use crate::geo::Geo;
use crate::sessions::browser::BrowserAuth;
use crate::sessions::cache::{Lookup, SessionCache};
use crate::sessions::check::CheckOutcome;
use crate::sessions::freshness::Freshness;
use crate::sessions::Actor;
use crate::store::{
    ActiveStream, CreateSessionOutcome, Credential, NewSession, RefreshOutcome, SessionRecord,
    SharedStore,
};
use crate::telemetry::series::{self, Counters};

/// Tokens handed to a device at sign-in and on every refresh.
#[derive(Debug)]
pub struct TokenPair {
    pub session_id: SessionId,
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: String,
    /// At sign-in: the proof of it to present at later sign-ins (see
    /// `device_proof`); `None` on refresh.
    pub device_proof: Option<String>,
}

/// Device sessions: the only writer of the session cache.
pub struct Sessions {
    pub(super) store: SharedStore,
    pub(super) bus: SharedBus,
    pub(super) clock: SharedClock,
    pub(super) tokens: TokenService,
    pub(super) hasher: Arc<PasswordHasher>,
    throttle: SignInThrottle,
    /// How long a device proof lasts.
    pub(super) device_proof_ms: Millis,
    pub(super) cache: SessionCache,
    plans: Plans,
    geo: Arc<Geo>,
    pub(super) idle_timeout_ms: Millis,
    /// A tombstone must outlive every access token that could name its session.
    tombstone_ms: Millis,
    pub(super) activity: Arc<Activity>,
    alerts: Arc<Alerts>,
    pub(super) freshness: Arc<Freshness>,
    /// Cookie checks' memory and the sign-in form's key (`browser.rs`).
    pub(super) browser: BrowserAuth,
    /// `usher_session_checks_total`, by outcome.
    pub(super) checks: Counters<CheckOutcome>,
    /// `usher_sessions_revoked_total`, by reason.
    pub(super) revoked: Counters<SignOutReason>,
}

/// The handles [`Sessions`] works with.
pub struct SessionPorts {
    pub store: SharedStore,
    pub bus: SharedBus,
    pub clock: SharedClock,
    pub hasher: Arc<PasswordHasher>,
    pub geo: Arc<Geo>,
    pub activity: Arc<Activity>,
    pub alerts: Arc<Alerts>,
    pub freshness: Arc<Freshness>,
}

impl Sessions {
    /// Loads the signing keys and starts with an empty cache.
    pub async fn new(config: &Config, ports: SessionPorts) -> anyhow::Result<Self> {
        let settings = TokenSettings {
            issuer: config.issuer.clone(),
            ttl_secs: config.tokens.access_ttl_secs,
            kek: KeyEncryptionKey::configured(config)?,
        };
        let tokens =
            TokenService::load(Arc::clone(&ports.store), settings, ports.clock.now()).await?;
        let idle_timeout_ms =
            Duration::from_secs(config.sessions.idle_timeout_secs).as_millis() as Millis;
        let browser = BrowserAuth::load(&*ports.store, ports.clock.now()).await?;
        Ok(Self {
            browser,
            store: ports.store,
            bus: ports.bus,
            throttle: SignInThrottle::new(&config.throttle, Arc::clone(&ports.clock)),
            device_proof_ms: Millis::from(config.throttle.device_proof_days) * 24 * 3600 * 1000,
            clock: ports.clock,
            tokens,
            hasher: ports.hasher,
            cache: SessionCache::new(last_seen_resolution(config)),
            plans: config.plans(),
            geo: ports.geo,
            idle_timeout_ms,
            tombstone_ms: (config.tokens.access_ttl_secs as Millis + 60) * 1000,
            activity: ports.activity,
            alerts: ports.alerts,
            freshness: ports.freshness,
            checks: Counters::register(series::SESSION_CHECKS),
            revoked: Counters::register(series::SESSIONS_REVOKED),
        })
    }

    /// Whether this node can show it has seen every revocation lately.
    pub fn freshness(&self) -> &Arc<Freshness> {
        &self.freshness
    }

    /// Signs a device in; `device_proof` is the proof of an earlier sign-in
    /// it presents, if any.
    pub async fn sign_in(
        &self,
        email: &str,
        password: String,
        device: DeviceInfo,
        ip: Option<IpAddr>,
        device_proof: Option<&str>,
    ) -> Result<TokenPair> {
        let (account, presented) = self
            .check_credentials(email, password, &device, ip, device_proof)
            .await?;
        let (refresh_token, hash) = refresh::generate();
        let session_id = self
            .create_session(account, device, ip, Credential::RefreshToken { hash })
            .await?;
        let access = self
            .tokens
            .issue(session_id, account, self.clock.now())
            .map_err(Error::Internal)?;
        let device_proof = self.device_proof_for(account, presented).await;
        Ok(TokenPair {
            session_id,
            access_token: access.token,
            expires_in: access.expires_in,
            refresh_token,
            device_proof,
        })
    }

    /// The account whose email and password these are, and the device
    /// proof the client presented if it is one; throttled as
    /// `auth::throttle` says. A wrong password for an existing account is
    /// recorded in its history.
    pub(super) async fn check_credentials(
        &self,
        email: &str,
        password: String,
        device: &DeviceInfo,
        ip: Option<IpAddr>,
        device_proof: Option<&str>,
    ) -> Result<(AccountId, Option<PresentedProof>)> {
        // A malformed address cannot belong to an account; answer as for any
        // wrong credentials so the form of the answer reveals nothing.
        let email = Email::parse(email).map_err(|_| Error::InvalidCredentials)?;
        let admitted = self.throttle.begin(ip);
        let presented = self.presented_proof(device_proof).await?;
        let account = self.store.account_by_email(&email).await?;
        let proof = presented
            .as_ref()
            .and_then(|p| p.proves(account.as_ref().map(|a| a.id)));
        let pending = admitted.attempt(&email, proof).map_err(too_many)?;
        let stored = account.as_ref().map(|a| a.password_hash.clone());
        let verified = self.hasher.verify(password, stored).await?;
        let Some(account) = account else {
            pending.failed();
            return Err(Error::InvalidCredentials);
        };
        if !verified {
            pending.failed();
            self.record_failed_sign_in(account.id, device, ip, SignInFailure::WrongPassword)
                .await;
            return Err(Error::InvalidCredentials);
        }
        pending.succeeded();
        Ok((account.id, presented))
    }

    /// The account password, re-entered on a signed-in device for a
    /// sensitive change (`during`). Every such check comes here: it spends
    /// the sign-in budgets (the session is the client's proof), a wrong
    /// password is recorded in the history, and a burst of them raises an
    /// alert.
    pub async fn reauthenticate(
        &self,
        by: &Actor<'_>,
        password: String,
        during: PasswordCheck,
    ) -> Result<()> {
        let session = by
            .session
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("a password check without a device")))?;
        let account = self
            .store
            .account(session.account_id)
            .await?
            .ok_or(Error::NotFound)?;
        let pending = self
            .throttle
            .begin(by.ip)
            .attempt(&account.email, Some(Proof::Session(session.id)))
            .map_err(too_many)?;
        if self
            .hasher
            .verify(password, Some(account.password_hash))
            .await?
        {
            pending.succeeded();
            return Ok(());
        }
        pending.failed();
        let detail = ActivityDetail::PasswordCheckFailed(PasswordCheckFailedDetail { during });
        self.activity
            .record(NewActivity::by(session, by.ip, detail))
            .await;
        self.alerts
            .wrong_password(AlertedDevice {
                account_id: session.account_id,
                session_id: session.id,
                device: &session.device(),
                ip: by.ip,
            })
            .await;
        Err(Error::WrongPassword)
    }

    async fn record_failed_sign_in(
        &self,
        account_id: AccountId,
        device: &DeviceInfo,
        ip: Option<IpAddr>,
        reason: SignInFailure,
    ) {
        self.activity
            .record_detached(NewActivity {
                account_id,
                // What the caller sent is theirs, not the owner's: unverified.
                device: Some(ActivityDevice::unverified(device)),
                ip,
                detail: ActivityDetail::SignInFailed(SignInFailedDetail { reason }),
            })
            .await;
    }

    /// Stores a new session unless the plan's device cap forbids it.
    pub(super) async fn create_session(
        &self,
        account_id: AccountId,
        device: DeviceInfo,
        ip: Option<IpAddr>,
        credential: Credential,
    ) -> Result<SessionId> {
        let via = match credential {
            Credential::RefreshToken { .. } => SignInVia::App,
            Credential::BrowserSecret { .. } => SignInVia::Browser,
        };
        let session = NewSession {
            id: SessionId::new(),
            account_id,
            device,
            ip,
            credential,
            now: self.clock.now(),
        };
        if let CreateSessionOutcome::DeviceLimitReached { limit, devices } =
            self.store.create_session(&session, &self.plans).await?
        {
            self.record_failed_sign_in(
                account_id,
                &session.device,
                ip,
                SignInFailure::DeviceLimitReached,
            )
            .await;
            let devices = devices
                .into_iter()
                .map(|d| self.describe(d, None, &[]))
                .collect();
            return Err(Error::DeviceLimitReached { limit, devices });
        }
        self.publish(Event::DevicesChanged { account_id }).await;
        self.alerts
            .signed_in(SignIn {
                account_id,
                session_id: session.id,
                device: &session.device,
                ip,
                via,
            })
            .await;
        Ok(session.id)
    }

    /// Rotates a refresh token. Presenting an already-rotated one revokes the session.
    /// `ip` is the client's address, recorded as the session's last one.
    pub async fn refresh(&self, presented: &str, ip: Option<IpAddr>) -> Result<TokenPair> {
        if !refresh::looks_valid(presented) {
            return Err(Error::InvalidRefreshToken);
        }
        let now = self.clock.now();
        let (refresh_token, new_hash) = refresh::generate();
        match self
            .store
            .rotate_refresh(&refresh::hash(presented), &new_hash, now)
            .await?
        {
            RefreshOutcome::Unknown => Err(Error::InvalidRefreshToken),
            RefreshOutcome::Revoked(session) => Err(Error::SessionRevoked(
                session.revoked.map_or(SignOutReason::Remote, |r| r.reason),
            )),
            RefreshOutcome::Reused(revoked) => {
                tracing::warn!(session = %revoked.session_id, "refresh token reused; session revoked");
                self.announce_revocations(&[revoked], Actor::usher(ip))
                    .await;
                Err(Error::RefreshTokenReused)
            }
            RefreshOutcome::Rotated(session) => {
                // The record carries last-active as it was last written; this
                // node may know of later use not yet flushed.
                let cached = match self.cache.lookup(session.id) {
                    Lookup::Active(cached) => cached.last_active(),
                    _ => session.last_active_at,
                };
                let last_active = session.last_active_at.max(cached);
                self.expire_if_idle(session.account_id, session.id, last_active, now)
                    .await?;
                let access = self
                    .tokens
                    .issue(session.id, session.account_id, now)
                    .map_err(Error::Internal)?;
                if let Lookup::Active(cached) = self.cache.lookup(session.id) {
                    self.cache.touch(&cached, now, ip);
                }
                Ok(TokenPair {
                    session_id: session.id,
                    access_token: access.token,
                    expires_in: access.expires_in,
                    refresh_token,
                    device_proof: None,
                })
            }
        }
    }

    /// One row of the device list; `streams` are the account's live streams.
    pub fn describe(
        &self,
        record: SessionRecord,
        current: Option<SessionId>,
        streams: &[ActiveStream],
    ) -> Device {
        // This node's memory may be fresher than the last batched write. At
        // the same instant too: a refresh writes its time but not its address.
        let (mut last_active, mut ip) = (record.last_active_at, record.last_ip);
        if let Lookup::Active(cached) = self.cache.lookup(record.id) {
            if cached.last_active() >= last_active {
                last_active = cached.last_active();
                ip = cached.last_ip().or(ip);
            }
        }
        Device {
            session_id: record.id,
            device: record.device,
            signed_in_at: record.created_at,
            last_active_at: last_active,
            ip,
            location: ip.and_then(|ip| self.geo.locate(ip)),
            streaming: streams
                .iter()
                .find(|s| s.stream.session_id == record.id)
                .map(|s| NowPlaying {
                    stream_id: s.stream.id,
                    title: s.stream.title.clone(),
                    started_at: s.stream.started_at,
                }),
            profile: record.profile,
            current: Some(record.id) == current,
        }
    }

    /// What the session cache knows of a session (read-only).
    pub fn lookup(&self, id: SessionId) -> Lookup {
        self.cache.lookup(id)
    }

    /// Whether a session may still be signed in, as far as this node knows:
    /// one it has never seen might be (offering its sign-out costs nothing).
    pub fn may_be_signed_in(&self, id: SessionId) -> bool {
        match self.cache.lookup(id) {
            Lookup::Active(s) => s.revoked().is_none(),
            Lookup::Revoked(_) => false,
            Lookup::Unknown => true,
        }
    }

    /// The public signing keys, for `/.well-known/jwks.json`.
    pub fn jwks(&self) -> usher_api::Jwks {
        self.tokens.jwks(self.clock.now())
    }

    /// Periodic tidying: expired cached tokens and tombstones, throttle
    /// buckets, and a re-read of the signing keys.
    pub async fn housekeeping(&self) {
        let now = self.clock.now();
        self.tokens.prune(now);
        self.cache.prune_tombstones(now - self.tombstone_ms);
        self.throttle.tidy();
        self.prune_device_proofs().await;
        if let Err(e) = self.tokens.reload().await {
            tracing::warn!(error = %e, "could not reload signing keys");
        }
    }

    /// Signs the session out (`idle_expired`) if it was last active longer
    /// than the idle timeout ago, and says so as the caller's error.
    pub(super) async fn expire_if_idle(
        &self,
        account: AccountId,
        id: SessionId,
        last_active: Millis,
        now: Millis,
    ) -> Result<()> {
        if now - last_active <= self.idle_timeout_ms {
            return Ok(());
        }
        let reason = SignOutReason::IdleExpired;
        self.revoke(account, id, reason, Actor::usher(None)).await?;
        Err(Error::SessionRevoked(reason))
    }

    pub(super) async fn publish(&self, event: Event) {
        crate::bus::publish(&*self.bus, event).await;
    }
}

/// A refused attempt, as callers are told.
fn too_many(throttled: Throttled) -> Error {
    Error::TooManyAttempts {
        retry_after: throttled.retry_after,
    }
}

/// How stale a stored last-active time may be: a minute, or a hundredth of
/// the idle timeout when that is shorter, so idle expiry stays accurate.
fn last_seen_resolution(config: &Config) -> Millis {
    let idle_ms = config.sessions.idle_timeout_secs.saturating_mul(10) as i64;
    idle_ms.clamp(1, 60_000)
}
