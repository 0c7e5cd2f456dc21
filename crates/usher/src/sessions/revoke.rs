//! Signing sessions out, on this node and every other; and the cached
//! copies that other changes (a rename, a profile) update.

use super::cache::{CachedSession, Lookup};
use super::{Actor, Sessions};
use crate::bus::Event;
use crate::domain::{AccountId, DeviceInfo, ProfileId, SessionId, SignOutReason};
use crate::error::Result;
use crate::store::{AccountSignOut, Revocation, RevokedSession, SessionSignOut};

impl Sessions {
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
        match self
            .store
            .revoke_session(&SessionSignOut {
                account,
                session: id,
                reason,
                now,
            })
            .await?
        {
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
        ip: Option<std::net::IpAddr>,
    ) -> Result<usize> {
        let keep = (!include_current).then_some(current.id);
        let now = self.clock.now();
        let revoked = self
            .store
            .revoke_account_sessions(&AccountSignOut {
                account: current.account_id,
                keep,
                reason: SignOutReason::AllDevices,
                now,
            })
            .await?;
        self.announce_revocations(&revoked, Actor::device(current, ip))
            .await;
        Ok(revoked.len())
    }

    /// Operator task: signs every device of the account out (reason `admin`).
    pub async fn sign_out_account(&self, account: AccountId) -> Result<usize> {
        let now = self.clock.now();
        let revoked = self
            .store
            .revoke_account_sessions(&AccountSignOut {
                account,
                keep: None,
                reason: SignOutReason::Admin,
                now,
            })
            .await?;
        self.announce_revocations(&revoked, Actor::usher(None))
            .await;
        Ok(revoked.len())
    }

    /// Applies committed revocations on this node, tells every node, and
    /// records them in the accounts' histories as caused by `by`.
    ///
    /// The local cache is updated before this returns, so the caller's answer
    /// is only sent once this node refuses the sessions. Publishing failures
    /// are logged, not returned: the revocation is durable, and other nodes
    /// catch up from the store's revocation log.
    pub async fn announce_revocations(&self, revoked: &[RevokedSession], by: Actor<'_>) {
        // The commit has just returned: where every node's propagation
        // histogram starts.
        let committed_us = crate::telemetry::wall_micros();
        for r in revoked {
            self.revoked.increment(r.reason);
            self.mark_revoked(
                r.session_id,
                Revocation {
                    reason: r.reason,
                    at: r.at,
                },
            );
            self.freshness.applied(r.seq);
        }
        for r in revoked {
            if let Some(stream_id) = r.ended_stream {
                self.publish(Event::StreamStopped {
                    stream_id,
                    session_id: r.session_id,
                    account_id: r.account_id,
                    reason: crate::domain::StreamEndReason::SignedOut,
                })
                .await;
            }
            self.publish(Event::SessionRevoked {
                seq: r.seq,
                session_id: r.session_id,
                account_id: r.account_id,
                reason: r.reason,
                at: r.at,
                committed_us: Some(committed_us),
            })
            .await;
        }
        let mut accounts: Vec<_> = revoked.iter().map(|r| r.account_id).collect();
        accounts.sort();
        accounts.dedup();
        for account_id in accounts {
            self.publish(Event::DevicesChanged { account_id }).await;
        }
        self.activity.record_sign_outs(revoked, by).await;
    }

    /// Ends a session on this node: from now on every check refuses it.
    pub fn mark_revoked(&self, id: SessionId, revocation: Revocation) {
        self.cache.mark_revoked(id, revocation);
    }

    /// A renamed device, in this node's copy.
    pub fn device_changed(&self, id: SessionId, device: DeviceInfo) {
        if let Lookup::Active(cached) = self.cache.lookup(id) {
            cached.set_device(device);
        }
    }

    /// Puts a signed-in device on `profile` in this node's copy.
    pub fn put_on_profile(&self, session: &CachedSession, profile: ProfileId) {
        session.set_profile(Some(profile));
    }

    /// Takes a device off `profile` in this node's copy, if it is still on
    /// it (a later switch to another profile stands).
    pub fn leave_profile(&self, id: SessionId, profile: ProfileId) {
        if let Lookup::Active(cached) = self.cache.lookup(id) {
            cached.leave_profile(profile);
        }
    }

    /// Re-reads a session another node changed (renamed, moved to another
    /// profile), if this node holds it.
    pub async fn reload_cached(&self, id: SessionId) {
        let Lookup::Active(cached) = self.cache.lookup(id) else {
            return;
        };
        match self.store.session(id).await {
            Ok(Some(record)) => {
                cached.set_profile(record.profile.map(|p| p.id));
                cached.set_device(record.device);
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "could not refresh a renamed session"),
        }
    }

    /// Writes the last-seen times and addresses recorded since the last
    /// flush in one batch.
    pub async fn flush_last_seen(&self) {
        let batch = self.cache.take_last_seen();
        if batch.is_empty() {
            return;
        }
        if let Err(e) = self.store.record_last_seen(&batch).await {
            tracing::warn!(error = %e, sessions = batch.len(), "could not record last-seen times; will retry");
            self.cache.requeue(&batch);
        }
    }

    /// Signs out sessions unused for longer than the idle period.
    pub async fn expire_idle_sessions(&self) -> Result<usize> {
        // Judge at a time taken before writing recent use: a use after that
        // time is either in this flush or was itself refused as idle.
        let now = self.clock.now();
        self.flush_last_seen().await;
        let mut total = 0;
        loop {
            let revoked = self
                .store
                .revoke_idle(now - self.idle_timeout_ms, now)
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
