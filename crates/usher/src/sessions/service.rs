//! Device sessions: sign-in, token refresh, the per-request check, sign-out.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::activity::{ActivityDevice, ActivityKind, NewActivity};
use crate::alerts::SignIn;
use crate::auth::refresh;
use crate::auth::tokens::TokenError;
use crate::core::{Actor, Usher};
use crate::domain::{AccountId, DeviceInfo, Email, Millis, SessionId, SignOutReason};
use crate::error::{Error, Result};
use crate::sessions::cache::{CachedSession, Lookup};
use crate::store::{CreateSessionOutcome, Credential, NewSession, RefreshOutcome};

/// Tokens handed to a device at sign-in and on every refresh.
#[derive(Debug)]
pub struct TokenPair {
    pub session_id: SessionId,
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: String,
}

impl Usher {
    /// Signs a device in.
    pub async fn sign_in(
        &self,
        email: &str,
        password: String,
        device: DeviceInfo,
        ip: Option<IpAddr>,
    ) -> Result<TokenPair> {
        let account = self.check_credentials(email, password, &device, ip).await?;
        let (refresh_token, hash) = refresh::generate();
        let session_id = self
            .create_session(account, device, ip, Credential::RefreshToken { hash })
            .await?;
        let access = self
            .tokens
            .issue(session_id, account, self.clock.now())
            .map_err(Error::Internal)?;
        Ok(TokenPair {
            session_id,
            access_token: access.token,
            expires_in: access.expires_in,
            refresh_token,
        })
    }

    /// The account whose email and password these are, throttled per
    /// account and per client address. A wrong password for an existing
    /// account is recorded in its history.
    pub(crate) async fn check_credentials(
        &self,
        email: &str,
        password: String,
        device: &DeviceInfo,
        ip: Option<IpAddr>,
    ) -> Result<AccountId> {
        // A malformed address cannot belong to an account; answer as for any
        // wrong credentials so the form of the answer reveals nothing.
        let email = Email::parse(email).map_err(|_| Error::InvalidCredentials)?;
        let client = ip.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        self.throttle
            .check(client, &email)
            .map_err(|retry_after| Error::TooManyAttempts { retry_after })?;
        let account = self.store.account_by_email(&email).await?;
        let stored = account.as_ref().map(|a| a.password_hash.clone());
        let verified = self.hasher.verify(password, stored).await?;
        let account = account.ok_or(Error::InvalidCredentials)?;
        if !verified {
            self.record_failed_sign_in(account.id, device, ip, "wrong_password")
                .await;
            return Err(Error::InvalidCredentials);
        }
        Ok(account.id)
    }

    async fn record_failed_sign_in(
        &self,
        account_id: AccountId,
        device: &DeviceInfo,
        ip: Option<IpAddr>,
        reason: &'static str,
    ) {
        self.record_detached(NewActivity {
            account_id,
            kind: ActivityKind::SignInFailed,
            device: Some(ActivityDevice {
                session_id: None,
                name: device.name.as_str().to_owned(),
                kind: device.kind,
            }),
            ip,
            detail: serde_json::json!({ "reason": reason }),
        })
        .await;
    }

    /// Stores a new session unless the plan's device cap forbids it.
    pub(crate) async fn create_session(
        &self,
        account_id: AccountId,
        device: DeviceInfo,
        ip: Option<IpAddr>,
        credential: Credential,
    ) -> Result<SessionId> {
        let via = match credential {
            Credential::RefreshToken { .. } => "app",
            Credential::BrowserSecret { .. } => "browser",
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
            self.record_failed_sign_in(account_id, &session.device, ip, "device_limit_reached")
                .await;
            let devices = devices
                .into_iter()
                .map(|d| self.device_view(d, None, &[]))
                .collect();
            return Err(Error::DeviceLimitReached { limit, devices });
        }
        self.publish(crate::bus::Event::DevicesChanged { account_id })
            .await;
        self.signed_in(SignIn {
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
                let cached = match self.sessions.lookup(session.id) {
                    Lookup::Active(cached) => cached.last_active(),
                    _ => session.last_active_at,
                };
                if self.is_idle(session.last_active_at.max(cached), now) {
                    self.revoke(
                        session.account_id,
                        session.id,
                        SignOutReason::IdleExpired,
                        Actor::usher(None),
                    )
                    .await?;
                    return Err(Error::SessionRevoked(SignOutReason::IdleExpired));
                }
                let access = self
                    .tokens
                    .issue(session.id, session.account_id, now)
                    .map_err(Error::Internal)?;
                if let Lookup::Active(cached) = self.sessions.lookup(session.id) {
                    self.sessions.touch(&cached, now, ip);
                }
                Ok(TokenPair {
                    session_id: session.id,
                    access_token: access.token,
                    expires_in: access.expires_in,
                    refresh_token,
                })
            }
        }
    }

    fn idle_timeout_ms(&self) -> i64 {
        Duration::from_secs(self.config.sessions.idle_timeout_secs).as_millis() as i64
    }

    fn is_idle(&self, last_active: i64, now: i64) -> bool {
        now - last_active > self.idle_timeout_ms()
    }

    /// The per-request check: a valid access token of a session that is still
    /// signed in. Touches no database unless this node has never seen the session.
    pub async fn authenticate(
        &self,
        token: &str,
        ip: Option<IpAddr>,
    ) -> Result<Arc<CachedSession>> {
        let now = self.clock.now();
        let verified = match self.tokens.verify(token, now).await {
            Ok(verified) => verified,
            Err(TokenError::Expired { session_id }) => {
                return Err(self.why_expired_token_fails(session_id).await)
            }
            Err(e) => return Err(e.into()),
        };
        let session = self.active_session(verified.session_id).await?;
        if session.account_id != verified.account_id {
            return Err(Error::Token(TokenError::Invalid));
        }
        self.admit(session, now, ip).await
    }

    /// The session, if it is still signed in (from memory after first sight).
    pub(crate) async fn active_session(&self, id: SessionId) -> Result<Arc<CachedSession>> {
        let session = match self.sessions.lookup(id) {
            Lookup::Active(s) => s,
            Lookup::Revoked(r) => return Err(Error::SessionRevoked(r.reason)),
            Lookup::Unknown => self.load_session(id).await?,
        };
        match session.revoked() {
            Some(r) => Err(Error::SessionRevoked(r.reason)),
            None => Ok(session),
        }
    }

    /// Lets a proven session through: ends it if it sat idle too long,
    /// otherwise records the use.
    pub(crate) async fn admit(
        &self,
        session: Arc<CachedSession>,
        now: Millis,
        ip: Option<IpAddr>,
    ) -> Result<Arc<CachedSession>> {
        if self.is_idle(session.last_active(), now) {
            self.revoke(
                session.account_id,
                session.id,
                SignOutReason::IdleExpired,
                Actor::usher(None),
            )
            .await?;
            return Err(Error::SessionRevoked(SignOutReason::IdleExpired));
        }
        self.sessions.touch(&session, now, ip);
        Ok(session)
    }

    /// A device back after a while presents an expired token: if its session
    /// was signed out meanwhile, say so (with the reason) rather than let it
    /// refresh only to learn that then.
    async fn why_expired_token_fails(&self, id: SessionId) -> Error {
        let expired = Error::Token(TokenError::Expired { session_id: id });
        let revoked = match self.sessions.lookup(id) {
            Lookup::Revoked(r) => Some(r),
            Lookup::Active(s) => s.revoked(),
            Lookup::Unknown => match self.store.session(id).await {
                Ok(Some(record)) => record.revoked,
                _ => None,
            },
        };
        revoked.map_or(expired, |r| Error::SessionRevoked(r.reason))
    }

    async fn load_session(&self, id: SessionId) -> Result<Arc<CachedSession>> {
        let record = self
            .store
            .session(id)
            .await?
            .ok_or(Error::Token(TokenError::Invalid))?;
        match self.sessions.insert_loaded(record) {
            Lookup::Active(s) => Ok(s),
            Lookup::Revoked(r) => Err(Error::SessionRevoked(r.reason)),
            Lookup::Unknown => Err(Error::Internal(anyhow::anyhow!(
                "session vanished from cache"
            ))),
        }
    }

    /// Signs one session of the account out, as caused by `by`. False when
    /// it is not an active session of this account (answered with 404).
    pub async fn revoke(
        &self,
        account: AccountId,
        id: SessionId,
        reason: SignOutReason,
        by: Actor<'_>,
    ) -> Result<bool> {
        let now = self.clock.now();
        match self.store.revoke_session(account, id, reason, now).await? {
            Some(revoked) => {
                self.announce_revocations(&[revoked], by).await;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// "Sign out of all devices", optionally keeping the calling one.
    pub async fn sign_out_all(
        &self,
        current: &CachedSession,
        include_current: bool,
        ip: Option<IpAddr>,
    ) -> Result<usize> {
        let keep = (!include_current).then_some(current.id);
        let now = self.clock.now();
        let revoked = self
            .store
            .revoke_account_sessions(current.account_id, keep, SignOutReason::AllDevices, now)
            .await?;
        self.announce_revocations(&revoked, Actor::device(current, ip))
            .await;
        Ok(revoked.len())
    }

    /// Writes the activity recorded since the last flush in one batch.
    pub async fn flush_activity(&self) {
        let batch = self.sessions.take_activity();
        if batch.is_empty() {
            return;
        }
        if let Err(e) = self.store.record_activity(&batch).await {
            tracing::warn!(error = %e, sessions = batch.len(), "could not record activity; will retry");
            self.sessions.requeue(&batch);
        }
    }

    /// Signs out sessions unused for longer than the idle period.
    pub async fn expire_idle_sessions(&self) -> Result<usize> {
        // Judge at a time taken before writing recent use: a use after that
        // time is either in this flush or was itself refused as idle.
        let now = self.clock.now();
        self.flush_activity().await;
        let mut total = 0;
        loop {
            let revoked = self
                .store
                .revoke_idle(now - self.idle_timeout_ms(), now)
                .await?;
            if revoked.is_empty() {
                return Ok(total);
            }
            total += revoked.len();
            self.announce_revocations(&revoked, Actor::usher(None))
                .await;
        }
    }
}
