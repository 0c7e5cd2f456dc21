//! Token-signing keys as the operator manages them (`usher keys …`):
//! rotate, retire, revoke. A key's life is in `auth::keyring`; this file
//! writes its changes and tells this node and the others (which also re-read
//! the keys with every read of the revocation log).

use super::{Actor, Sessions};
use crate::auth::keyring::{KeyLife, KeyState, LEEWAY_MS};
use crate::bus::Event;
use crate::domain::Millis;
use crate::error::{Error, Result};
use crate::store::{KeyRevocation, SigningKeyRecord};

/// A signing key as `usher keys list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    pub kid: String,
    pub created_at: Millis,
    pub state: KeyState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetireOutcome {
    /// It stopped signing now and `replaced_by` signs instead; it is
    /// trusted for the tokens it signed until `retire_at`.
    Retired {
        replaced_by: String,
        retire_at: Millis,
    },
    /// It is not the current key: it already stopped signing.
    NotCurrent(KeyState),
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeOutcome {
    /// Trusted no more; `replaced_by` signs instead when it was the current
    /// key, and `signed_out` sessions had been issued a token while it signed.
    Revoked {
        replaced_by: Option<String>,
        signed_out: usize,
    },
    AlreadyRevoked,
    Unknown,
}

impl Sessions {
    /// Every signing key, oldest first, and where it is in its life.
    pub async fn signing_keys(&self) -> Result<Vec<SigningKey>> {
        let records = self.store.signing_keys().await?;
        let (ttl, now) = (self.tokens.ttl_ms(), self.clock.now());
        Ok(records
            .iter()
            .zip(KeyLife::of(&records))
            .map(|(record, life)| SigningKey {
                kid: record.kid.clone(),
                created_at: record.created_at,
                state: life.state(ttl, now),
            })
            .collect())
    }

    /// Makes a new key current; the current one retires now. Returns the
    /// new key's id.
    pub async fn rotate_signing_key(&self) -> Result<String> {
        Ok(self.add_current_key().await?.kid)
    }

    /// Stops the current key signing now (a new one is made current). It
    /// stays published and trusted until every token it signed has expired.
    pub async fn retire_signing_key(&self, kid: &str) -> Result<RetireOutcome> {
        let keys = self.signing_keys().await?;
        let Some(key) = keys.iter().find(|k| k.kid == kid) else {
            return Ok(RetireOutcome::Unknown);
        };
        if key.state != KeyState::Current {
            return Ok(RetireOutcome::NotCurrent(key.state));
        }
        let new = self.add_current_key().await?;
        Ok(RetireOutcome::Retired {
            replaced_by: new.kid,
            retire_at: KeyLife::retire_at(new.created_at, self.tokens.ttl_ms()),
        })
    }

    /// A compromised key: trusted no more, on this node at once and on the
    /// others as soon as they hear of it or next read the keys; and every
    /// session that was issued a token while it signed is signed out
    /// (`key_revoked`). Sessions are found by time: those issued a token
    /// (at sign-in or refresh) between the key's creation and its last
    /// signing time, each widened by [`LEEWAY_MS`] for clocks and nodes that
    /// learnt of a rotation late. A session another key signed for in those
    /// minutes is signed out too: too many rather than one too few.
    pub async fn revoke_signing_key(&self, kid: &str) -> Result<RevokeOutcome> {
        let records = self.store.signing_keys().await?;
        let Some((record, life)) = records
            .iter()
            .zip(KeyLife::of(&records))
            .find(|(r, _)| r.kid == kid)
        else {
            return Ok(RevokeOutcome::Unknown);
        };
        if life.revoked_at.is_some() {
            return Ok(RevokeOutcome::AlreadyRevoked);
        }
        // The current key is replaced first, so that some key always signs.
        let replaced_by = match life.signs_until {
            None => Some(self.add_current_key().await?.kid),
            Some(_) => None,
        };
        let now = self.clock.now();
        let revocation = KeyRevocation {
            kid: kid.to_owned(),
            signed_from: record.created_at - LEEWAY_MS,
            signed_until: life.signs_until.unwrap_or(now) + LEEWAY_MS,
            now,
        };
        let Some(revoked) = self.store.revoke_signing_key(&revocation).await? else {
            return Ok(RevokeOutcome::AlreadyRevoked);
        };
        self.tokens.forget(kid);
        self.reload_keys().await;
        self.publish(Event::KeyRevoked {
            kid: kid.to_owned(),
        })
        .await;
        self.announce_revocations(&revoked, Actor::usher(None))
            .await;
        tracing::warn!(kid, signed_out = revoked.len(), "revoked a signing key");
        Ok(RevokeOutcome::Revoked {
            replaced_by,
            signed_out: revoked.len(),
        })
    }

    /// The keys as just read from the store (with the revocation log).
    pub fn signing_keys_read(&self, records: &[SigningKeyRecord]) {
        self.tokens.keys_read(records);
    }

    /// Another node revoked `kid`: trust it no more, before the store says so.
    pub fn forget_signing_key(&self, kid: &str) {
        self.tokens.forget(kid);
    }

    async fn add_current_key(&self) -> Result<SigningKeyRecord> {
        let key = self
            .tokens
            .new_key(self.clock.now())
            .map_err(Error::Internal)?;
        self.store.add_signing_key(&key).await?;
        self.reload_keys().await;
        tracing::info!(kid = %key.kid, "a new signing key is current");
        Ok(key)
    }

    /// This node signs with the current key from now on; should the read
    /// fail, the next read of the revocation log brings it.
    async fn reload_keys(&self) {
        if let Err(e) = self.tokens.reload().await {
            tracing::warn!(error = %e, "could not reload signing keys");
        }
    }
}
