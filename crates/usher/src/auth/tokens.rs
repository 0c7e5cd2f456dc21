//! Access tokens: EdDSA-signed JWTs (`sid` = session id) with a short life.
//!
//! Other services verify them locally with the keys published at
//! `/.well-known/jwks.json`. usher itself verifies each distinct token once and
//! then remembers it: a cached entry is keyed by the *entire* token string, so
//! a hit proves the bytes are identical to ones whose signature was already
//! checked, and only tokens with a valid signature ever enter the cache (an
//! attacker cannot fill it). A session's revocation is not the cache's
//! concern (every request still checks the session itself); a key's is:
//! when a key leaves the set, so do the tokens it signed.
//!
//! A token must also have the times of one usher issued (see [`times_fit`]),
//! so a stolen or retired key cannot mint a token that lives until 2100.

use std::sync::{Arc, Mutex, RwLock};

use dashmap::DashMap;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::keyring::{KeyLife, KeySet, LEEWAY_MS};
use super::sealing::KeyEncryptionKey;
use crate::domain::{AccountId, Millis, SessionId};
use crate::store::{SharedStore, SigningKeyRecord, StoredPrivateKey};

/// Longest token we will even look at; real ones are about 300 bytes.
const MAX_TOKEN_BYTES: usize = 2048;
/// Unknown `kid`s trigger a key reload at most this often (ms).
const RELOAD_BACKOFF_MS: Millis = 1_000;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    sub: AccountId,
    sid: SessionId,
    iat: i64,
    exp: i64,
    /// Unique per token, for services that keep deny-lists by token.
    jti: String,
}

/// What a valid access token proves.
#[derive(Debug, Clone, Copy)]
pub struct Verified {
    pub session_id: SessionId,
    pub account_id: AccountId,
    /// Expiry, in ms.
    pub expires_at: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the access token is not valid")]
    Invalid,
    /// Signed by us but past its expiry; names its session so the caller can
    /// tell a device that was signed out meanwhile why, rather than just
    /// "expired".
    #[error("the access token has expired")]
    Expired { session_id: SessionId },
}

/// A verified token in the cache, with the key that signed it (dropped
/// when that key is revoked).
struct CachedToken {
    verified: Verified,
    kid: Arc<str>,
}

/// What tokens are issued with.
pub struct TokenSettings {
    pub issuer: String,
    pub ttl_secs: u64,
    /// Seals new signing keys and opens sealed ones.
    pub kek: Option<KeyEncryptionKey>,
}

pub struct TokenService {
    issuer: String,
    ttl_secs: u64,
    kek: Option<KeyEncryptionKey>,
    store: SharedStore,
    keys: RwLock<Arc<KeySet>>,
    validation: Validation,
    /// Keyed by the whole token. foldhash instead of SipHash: this map is
    /// read on every request, only server-issued tokens are ever inserted,
    /// and the seed is random, so flooding a bucket is not within reach.
    verified: DashMap<Box<str>, CachedToken, foldhash::quality::RandomState>,
    last_reload: Mutex<Millis>,
    /// Keys heard revoked: never trusted again, even by a set built from a
    /// store read that began before the revocation committed.
    forgotten: Mutex<Vec<Arc<str>>>,
}

/// A freshly issued access token.
pub struct Issued {
    pub token: String,
    pub expires_in: u64,
}

impl TokenService {
    /// Loads the signing keys from the store, refusing to start when one
    /// cannot be opened (a missing or wrong key-encryption key). With a KEK,
    /// plain keys are sealed first; a current key is made if there is none.
    pub async fn load(
        store: SharedStore,
        settings: TokenSettings,
        now: Millis,
    ) -> anyhow::Result<Self> {
        let TokenSettings {
            issuer,
            ttl_secs,
            kek,
        } = settings;
        let ttl_ms = ttl_secs as Millis * 1000;
        let records = store.signing_keys().await?;
        KeySet::build(&records, kek.as_ref(), ttl_ms, true)?;
        if let Some(kek) = &kek {
            seal_plain_keys(&store, kek, &records).await?;
        }
        let signing = KeyLife::of(&records)
            .iter()
            .any(|life| life.signs_until.is_none() && life.revoked_at.is_none());
        if !signing {
            store.add_signing_key(&new_key(now, kek.as_ref())?).await?;
        }
        let keys = KeySet::build(&store.signing_keys().await?, kek.as_ref(), ttl_ms, true)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        // Expiry is checked against the injectable clock, not by the library.
        validation.validate_exp = false;
        validation.set_issuer(&[&issuer]);
        validation.set_required_spec_claims(&["iss", "sub", "exp"]);
        Ok(Self {
            issuer,
            ttl_secs,
            kek,
            store,
            keys: RwLock::new(Arc::new(keys)),
            validation,
            verified: DashMap::default(),
            last_reload: Mutex::new(0),
            forgotten: Mutex::new(Vec::new()),
        })
    }

    fn keyset(&self) -> Arc<KeySet> {
        Arc::clone(&self.keys.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The access-token lifetime, in ms.
    pub fn ttl_ms(&self) -> Millis {
        self.ttl_secs as Millis * 1000
    }

    /// A new signing key (sealed when a KEK is configured), not yet stored.
    pub fn new_key(&self, now: Millis) -> anyhow::Result<SigningKeyRecord> {
        new_key(now, self.kek.as_ref())
    }

    /// Re-reads the keys from the store (rotations, retirements and
    /// revocations, by this node or another).
    pub async fn reload(&self) -> anyhow::Result<()> {
        let records = self.store.signing_keys().await?;
        self.keys_read(&records);
        Ok(())
    }

    /// Uses the keys as just read from the store, if they changed.
    pub fn keys_read(&self, records: &[SigningKeyRecord]) {
        if self.keyset().built_from(records) {
            return;
        }
        match KeySet::build(records, self.kek.as_ref(), self.ttl_ms(), false) {
            Ok(mut keys) => {
                let forgotten = self
                    .forgotten
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                for kid in &forgotten {
                    if let Some(without) = keys.without(kid) {
                        keys = without;
                    }
                }
                self.install(keys)
            }
            Err(e) => tracing::error!(error = %e, "could not use the signing keys read"),
        }
    }

    /// Stops trusting `kid` at once (a revocation heard before the store
    /// shows it).
    pub fn forget(&self, kid: &str) {
        let mut forgotten = self.forgotten.lock().unwrap_or_else(|e| e.into_inner());
        if !forgotten.iter().any(|k| &**k == kid) {
            forgotten.push(kid.into());
        }
        drop(forgotten);
        if let Some(keys) = self.keyset().without(kid) {
            self.install(keys);
        }
    }

    /// Swaps the key set in, then drops cached tokens of keys no longer in
    /// it (in that order: see `verify`).
    fn install(&self, keys: KeySet) {
        let keys = Arc::new(keys);
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::clone(&keys);
        self.verified
            .retain(|_, cached| keys.verifier(&cached.kid).is_some());
    }

    pub fn jwks(&self, now: Millis) -> usher_api::Jwks {
        self.keyset().jwks(now)
    }

    pub fn issue(
        &self,
        session: SessionId,
        account: AccountId,
        now: Millis,
    ) -> anyhow::Result<Issued> {
        let keys = self.keyset();
        let signer = keys
            .signer
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("no current signing key"))?;
        let iat = now / 1000;
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: account,
            sid: session,
            iat,
            exp: iat + self.ttl_secs as i64,
            jti: uuid::Uuid::new_v4().simple().to_string(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(signer.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &signer.key)?;
        Ok(Issued {
            token,
            expires_in: self.ttl_secs,
        })
    }

    /// Checks a token's signature (once per distinct token), issuer, times
    /// and expiry.
    pub async fn verify(&self, token: &str, now: Millis) -> Result<Verified, TokenError> {
        if let Some(hit) = self.verified.get(token) {
            return check_expiry(hit.verified, now);
        }
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Invalid);
        }
        let kid = jsonwebtoken::decode_header(token)
            .ok()
            .and_then(|h| h.kid)
            .ok_or(TokenError::Invalid)?;
        let mut keys = self.keyset();
        if keys.verifier(&kid).is_none() && self.may_reload(now) {
            if let Err(e) = self.reload().await {
                tracing::warn!(error = %e, "could not reload signing keys");
            }
            keys = self.keyset();
        }
        let key = keys.verifier(&kid).ok_or(TokenError::Invalid)?;
        let claims = jsonwebtoken::decode::<Claims>(token, &key.decoding, &self.validation)
            .map_err(|_| TokenError::Invalid)?
            .claims;
        if !times_fit(claims.iat, claims.exp, self.ttl_secs, key.signs_until, now) {
            return Err(TokenError::Invalid);
        }
        let verified = Verified {
            session_id: claims.sid,
            account_id: claims.sub,
            expires_at: claims.exp.saturating_mul(1000),
        };
        let result = check_expiry(verified, now);
        if result.is_ok() {
            let kid: Arc<str> = kid.into();
            let cached = CachedToken {
                verified,
                kid: Arc::clone(&kid),
            };
            self.verified.insert(token.into(), cached);
            // A key set installed since `keys` was read has purged the
            // cache before or after this insert: if after, undo it here.
            if self.keyset().verifier(&kid).is_none() {
                self.verified.remove(token);
                return Err(TokenError::Invalid);
            }
        }
        result
    }

    fn may_reload(&self, now: Millis) -> bool {
        let mut last = self.last_reload.lock().unwrap_or_else(|e| e.into_inner());
        if now - *last >= RELOAD_BACKOFF_MS {
            *last = now;
            true
        } else {
            false
        }
    }

    /// Drops expired entries from the verification cache.
    pub fn prune(&self, now: Millis) {
        self.verified
            .retain(|_, cached| cached.verified.expires_at > now);
    }
}

/// Whether a token's times are those of a token usher issued with `key`:
/// it lives no longer than the access-token lifetime, was not issued in the
/// future, nor after its key stopped signing (each with [`LEEWAY_MS`]). A
/// token that fails is forged with a stolen key, or from a server that
/// should not be trusted; either way it is invalid, not expired. Since a
/// key's `retire_at` comes after the expiry of every token that fits, a
/// retired key's tokens can only be expired.
fn times_fit(iat: i64, exp: i64, ttl_secs: u64, signs_until: Option<Millis>, now: Millis) -> bool {
    let leeway_secs = LEEWAY_MS / 1000;
    let issued_ms = iat.saturating_mul(1000);
    exp.saturating_sub(iat) <= ttl_secs as i64 + leeway_secs
        && issued_ms <= now + LEEWAY_MS
        && signs_until.is_none_or(|until| issued_ms <= until + LEEWAY_MS)
}

fn check_expiry(v: Verified, now: Millis) -> Result<Verified, TokenError> {
    if now >= v.expires_at {
        Err(TokenError::Expired {
            session_id: v.session_id,
        })
    } else {
        Ok(v)
    }
}

/// Seals every plain key under `kek` (start-up with a KEK configured).
async fn seal_plain_keys(
    store: &SharedStore,
    kek: &KeyEncryptionKey,
    records: &[SigningKeyRecord],
) -> anyhow::Result<()> {
    for record in records {
        if let StoredPrivateKey::Plain(der) = &record.private_key {
            store
                .store_private_key(&record.kid, &kek.seal(&record.kid, der))
                .await?;
            tracing::info!(kid = %record.kid, "encrypted a signing key with the key-encryption key");
        }
    }
    Ok(())
}

/// A new Ed25519 key; its `kid` is derived from the public key.
fn new_key(now: Millis, kek: Option<&KeyEncryptionKey>) -> anyhow::Result<SigningKeyRecord> {
    let signing = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let der = signing
        .to_pkcs8_der()
        .map_err(|e| anyhow::anyhow!("encoding the signing key: {e}"))?;
    let public = signing.verifying_key().to_bytes();
    let kid: String = Sha256::digest(public)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    let private_key = match kek {
        Some(kek) => kek.seal(&kid, der.as_bytes()),
        None => StoredPrivateKey::Plain(der.as_bytes().to_vec()),
    };
    Ok(SigningKeyRecord {
        kid,
        private_key,
        created_at: now,
        retired_at: None,
        revoked_at: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: u64 = 900;
    const NOW: Millis = 1_800_000_000_000;

    #[test]
    fn a_token_lives_no_longer_than_the_lifetime() {
        let iat = NOW / 1000;
        assert!(times_fit(iat, iat + 900, TTL, None, NOW));
        assert!(times_fit(iat, iat + 960, TTL, None, NOW));
        assert!(!times_fit(iat, iat + 961, TTL, None, NOW));
        // `exp` in 2100.
        assert!(!times_fit(iat, 4_102_444_800, TTL, None, NOW));
        assert!(!times_fit(i64::MIN, i64::MAX, TTL, None, NOW));
    }

    #[test]
    fn a_token_is_not_issued_in_the_future_nor_after_its_key_stopped_signing() {
        let iat = NOW / 1000;
        assert!(times_fit(iat + 60, iat + 960, TTL, None, NOW));
        assert!(!times_fit(iat + 61, iat + 961, TTL, None, NOW));
        let stopped = Some(NOW - 120_000);
        assert!(times_fit(iat - 60, iat + 840, TTL, stopped, NOW));
        assert!(!times_fit(iat - 59, iat + 841, TTL, stopped, NOW));
    }
}
