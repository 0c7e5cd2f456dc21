//! Access tokens: EdDSA-signed JWTs (`sid` = session id) with a short life.
//!
//! Other services verify them locally with the keys published at
//! `/.well-known/jwks.json`. usher itself verifies each distinct token once and
//! then remembers it: a cached entry is keyed by the *entire* token string, so
//! a hit proves the bytes are identical to ones whose signature was already
//! checked, and only tokens with a valid signature ever enter the cache (an
//! attacker cannot fill it). Revocation is not the cache's concern: every
//! request still checks the session itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use dashmap::DashMap;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::{AccountId, Millis, SessionId};
use crate::store::{SharedStore, SigningKeyRecord};

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

struct KeySet {
    signing_kid: String,
    signing: EncodingKey,
    verifying: HashMap<String, DecodingKey>,
    jwks: serde_json::Value,
}

pub struct TokenService {
    issuer: String,
    ttl_secs: u64,
    store: SharedStore,
    keys: RwLock<Arc<KeySet>>,
    validation: Validation,
    /// Keyed by the whole token. foldhash instead of SipHash: this map is
    /// read on every request, only server-issued tokens are ever inserted,
    /// and the seed is random, so flooding a bucket is not within reach.
    verified: DashMap<Box<str>, Verified, foldhash::quality::RandomState>,
    last_reload: Mutex<Millis>,
}

/// A freshly issued access token.
pub struct Issued {
    pub token: String,
    pub expires_in: u64,
}

impl TokenService {
    /// Loads the signing keys from the store, creating the first one if there is none.
    pub async fn load(
        store: SharedStore,
        issuer: String,
        ttl_secs: u64,
        now: Millis,
    ) -> anyhow::Result<Self> {
        if store.signing_keys().await?.is_empty() {
            store.insert_signing_key(&generate_key(now)?).await?;
        }
        let keys = build_keyset(&store.signing_keys().await?)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        // Expiry is checked against the injectable clock, not by the library.
        validation.validate_exp = false;
        validation.set_issuer(&[&issuer]);
        validation.set_required_spec_claims(&["iss", "sub", "exp"]);
        Ok(Self {
            issuer,
            ttl_secs,
            store,
            keys: RwLock::new(Arc::new(keys)),
            validation,
            verified: DashMap::default(),
            last_reload: Mutex::new(0),
        })
    }

    fn keyset(&self) -> Arc<KeySet> {
        Arc::clone(&self.keys.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Re-reads the keys from the store (new keys from rotation or other nodes).
    pub async fn reload(&self) -> anyhow::Result<()> {
        let keys = build_keyset(&self.store.signing_keys().await?)?;
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keys);
        Ok(())
    }

    pub fn jwks(&self) -> serde_json::Value {
        self.keyset().jwks.clone()
    }

    pub fn issue(
        &self,
        session: SessionId,
        account: AccountId,
        now: Millis,
    ) -> anyhow::Result<Issued> {
        let keys = self.keyset();
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
        header.kid = Some(keys.signing_kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &keys.signing)?;
        Ok(Issued {
            token,
            expires_in: self.ttl_secs,
        })
    }

    /// Checks a token's signature (once per distinct token), issuer and expiry.
    pub async fn verify(&self, token: &str, now: Millis) -> Result<Verified, TokenError> {
        if let Some(hit) = self.verified.get(token) {
            return check_expiry(*hit, now);
        }
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Invalid);
        }
        let kid = jsonwebtoken::decode_header(token)
            .ok()
            .and_then(|h| h.kid)
            .ok_or(TokenError::Invalid)?;
        let mut keys = self.keyset();
        if !keys.verifying.contains_key(&kid) && self.may_reload(now) {
            if let Err(e) = self.reload().await {
                tracing::warn!(error = %e, "could not reload signing keys");
            }
            keys = self.keyset();
        }
        let key = keys.verifying.get(&kid).ok_or(TokenError::Invalid)?;
        let data = jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map_err(|_| TokenError::Invalid)?;
        let verified = Verified {
            session_id: data.claims.sid,
            account_id: data.claims.sub,
            expires_at: data.claims.exp.saturating_mul(1000),
        };
        let result = check_expiry(verified, now);
        if result.is_ok() {
            self.verified.insert(token.into(), verified);
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
        self.verified.retain(|_, v| v.expires_at > now);
    }
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

/// A new Ed25519 key; its `kid` is derived from the public key.
pub fn generate_key(now: Millis) -> anyhow::Result<SigningKeyRecord> {
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
    Ok(SigningKeyRecord {
        kid,
        private_der: der.as_bytes().to_vec(),
        created_at: now,
    })
}

fn build_keyset(records: &[SigningKeyRecord]) -> anyhow::Result<KeySet> {
    let newest = records
        .last()
        .ok_or_else(|| anyhow::anyhow!("no signing key in the store"))?;
    let mut verifying = HashMap::new();
    let mut jwks = Vec::new();
    for record in records {
        let key = ed25519_dalek::SigningKey::from_pkcs8_der(&record.private_der)
            .map_err(|e| anyhow::anyhow!("signing key {} is corrupt: {e}", record.kid))?;
        let x = URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes());
        verifying.insert(record.kid.clone(), DecodingKey::from_ed_components(&x)?);
        jwks.push(serde_json::json!({
            "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
            "kid": record.kid, "x": x,
        }));
    }
    Ok(KeySet {
        signing_kid: newest.kid.clone(),
        signing: EncodingKey::from_ed_der(&newest.private_der),
        verifying,
        jwks: serde_json::json!({ "keys": jwks }),
    })
}
