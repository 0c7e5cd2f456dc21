//! The per-request session check: a valid access token of a session that
//! is still signed in, answered from memory after a node's first sight.

use std::net::IpAddr;
use std::sync::Arc;

use super::cache::{CachedSession, Lookup};
use super::Sessions;
use crate::auth::tokens::TokenError;
use crate::domain::{Millis, SessionId};
use crate::error::{Error, Result};
use crate::telemetry::series::label_enum;

label_enum! {
    /// How a session check ended, for `usher_session_checks_total`.
    pub enum CheckOutcome, key "outcome" {
        Ok => "ok",
        /// The session was signed out.
        Revoked => "revoked",
        /// The token has expired (the device should refresh).
        Expired => "expired",
        /// The token is not one of ours, or names no session.
        Invalid => "invalid",
        /// This node cannot show it is caught up (`503 stale_node`).
        StaleNode => "stale_node",
        /// The store was needed and did not answer.
        Unavailable => "unavailable",
        Error => "error",
    }
}

impl CheckOutcome {
    fn of<T>(result: &Result<T>) -> Self {
        match result {
            Ok(_) => Self::Ok,
            Err(Error::SessionRevoked(_)) => Self::Revoked,
            Err(Error::Token(TokenError::Expired { .. })) => Self::Expired,
            Err(Error::Token(TokenError::Invalid)) => Self::Invalid,
            Err(Error::StaleNode) => Self::StaleNode,
            Err(Error::Unavailable(_)) => Self::Unavailable,
            Err(_) => Self::Error,
        }
    }
}

impl Sessions {
    /// The per-request check. Touches no database unless this node has
    /// never seen the session.
    pub async fn check(&self, token: &str, ip: Option<IpAddr>) -> Result<Arc<CachedSession>> {
        let result = self.check_token(token, ip).await;
        self.checks.increment(CheckOutcome::of(&result));
        result
    }

    async fn check_token(&self, token: &str, ip: Option<IpAddr>) -> Result<Arc<CachedSession>> {
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
    pub(super) async fn active_session(&self, id: SessionId) -> Result<Arc<CachedSession>> {
        let session = match self.cache.lookup(id) {
            Lookup::Active(s) => s,
            Lookup::Revoked(r) => return Err(Error::SessionRevoked(r.reason)),
            Lookup::Unknown => self.load_session(id).await?,
        };
        match session.revoked() {
            Some(r) => Err(Error::SessionRevoked(r.reason)),
            None => Ok(session),
        }
    }

    /// Lets a proven session through, if this node can show it has seen
    /// every revocation lately (it refuses rather than guess); ends it if it
    /// sat idle too long, otherwise records the use.
    pub(super) async fn admit(
        &self,
        session: Arc<CachedSession>,
        now: Millis,
        ip: Option<IpAddr>,
    ) -> Result<Arc<CachedSession>> {
        self.freshness.ensure_fresh().await?;
        // The proof may have come with this very sign-out.
        if let Some(r) = session.revoked() {
            return Err(Error::SessionRevoked(r.reason));
        }
        self.expire_if_idle(session.account_id, session.id, session.last_active(), now)
            .await?;
        self.cache.touch(&session, now, ip);
        Ok(session)
    }

    /// A device back after a while presents an expired token: if its session
    /// was signed out meanwhile, say so (with the reason) rather than let it
    /// refresh only to learn that then.
    async fn why_expired_token_fails(&self, id: SessionId) -> Error {
        let expired = Error::Token(TokenError::Expired { session_id: id });
        let revoked = match self.cache.lookup(id) {
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
        match self.cache.insert_loaded(record) {
            Lookup::Active(s) => Ok(s),
            Lookup::Revoked(r) => Err(Error::SessionRevoked(r.reason)),
            Lookup::Unknown => Err(Error::Internal(anyhow::anyhow!(
                "session vanished from cache"
            ))),
        }
    }
}
