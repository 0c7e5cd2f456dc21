//! The signing keys' life, and the set a node signs and verifies with.
//!
//! A key is *current* (it signs) until it is retired, by `usher keys
//! retire` or `rotate`. It then stays published in the JWKS and trusted for
//! the tokens it signed until they have all expired: its `retire_at` is its
//! last signing time plus the access-token lifetime plus [`LEEWAY_MS`] twice
//! (once for a node that signs with it until it next reads the keys, about a
//! second, and clocks that differ; once for the `exp − iat` leeway). After
//! that it is *retired*: not published, and a token it signed can only be
//! told that it has expired. A *revoked* key is trusted no more at once.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use jsonwebtoken::{DecodingKey, EncodingKey};

use super::sealing::{private_der, KeyEncryptionKey};
use crate::domain::Millis;
use crate::store::SigningKeyRecord;

/// Slack for nodes and clocks (see the module's doc).
pub const LEEWAY_MS: Millis = 60_000;

/// Where a key is in its life at some moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// It signs new tokens.
    Current,
    /// It signs no more and is trusted for its tokens until `retire_at`.
    Retiring {
        signs_until: Millis,
        retire_at: Millis,
    },
    /// Every token it signed has expired: not published, not trusted.
    Retired {
        signs_until: Millis,
        retire_at: Millis,
    },
    /// Declared compromised at `at`: trusted no more. It signed until
    /// `signs_until` (at the latest `at`).
    Revoked { at: Millis, signs_until: Millis },
}

impl KeyState {
    pub fn name(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Retiring { .. } => "retiring",
            Self::Retired { .. } => "retired",
            Self::Revoked { .. } => "revoked",
        }
    }
}

/// A key's times, as its life needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyLife {
    pub created_at: Millis,
    /// When it stopped signing (`None`: it signs).
    pub signs_until: Option<Millis>,
    pub revoked_at: Option<Millis>,
}

impl KeyLife {
    /// The lives of `records` (oldest first). Of two keys never retired
    /// (two operators rotating at once), the older is taken to have stopped
    /// signing when the newer was added, so every node signs with the same.
    pub fn of(records: &[SigningKeyRecord]) -> Vec<KeyLife> {
        records
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let superseded = records[i + 1..]
                    .iter()
                    .find(|newer| newer.retired_at.is_none() && newer.revoked_at.is_none())
                    .map(|newer| newer.created_at);
                KeyLife {
                    created_at: r.created_at,
                    signs_until: r.retired_at.or(superseded),
                    revoked_at: r.revoked_at,
                }
            })
            .collect()
    }

    /// When a key that stopped signing at `signs_until` is trusted no more.
    pub fn retire_at(signs_until: Millis, ttl_ms: Millis) -> Millis {
        signs_until + ttl_ms + 2 * LEEWAY_MS
    }

    pub fn state(&self, ttl_ms: Millis, now: Millis) -> KeyState {
        if let Some(at) = self.revoked_at {
            let signs_until = self.signs_until.map_or(at, |s| s.min(at));
            return KeyState::Revoked { at, signs_until };
        }
        match self.signs_until {
            None => KeyState::Current,
            Some(signs_until) => {
                let retire_at = Self::retire_at(signs_until, ttl_ms);
                if now < retire_at {
                    KeyState::Retiring {
                        signs_until,
                        retire_at,
                    }
                } else {
                    KeyState::Retired {
                        signs_until,
                        retire_at,
                    }
                }
            }
        }
    }
}

/// A key this node verifies with.
pub struct Verifier {
    pub decoding: DecodingKey,
    /// The public key, base64url, as the JWKS publishes it.
    x: String,
    /// When it stopped signing: a token it signed later is forged.
    pub signs_until: Option<Millis>,
    /// When it leaves the JWKS (every token it signed has expired by then).
    retire_at: Option<Millis>,
}

/// The key this node signs with.
pub struct Signer {
    pub kid: String,
    pub key: EncodingKey,
}

/// The keys a node signs and verifies with; revoked keys are not in it.
pub struct KeySet {
    pub signer: Option<Signer>,
    verifiers: HashMap<String, Verifier>,
    /// Kids oldest first, for the JWKS.
    order: Vec<String>,
    /// What the set was built from, to tell whether a re-read changed it.
    built_from: Vec<(String, Option<Millis>, Option<Millis>)>,
}

impl KeySet {
    /// The set `records` make. A key that cannot be opened fails the build
    /// when `strict` (start-up: the operator must fix the KEK); otherwise it
    /// is left out and logged (a node keeps running without it).
    pub fn build(
        records: &[SigningKeyRecord],
        kek: Option<&KeyEncryptionKey>,
        ttl_ms: Millis,
        strict: bool,
    ) -> anyhow::Result<Self> {
        let mut set = KeySet {
            signer: None,
            verifiers: HashMap::new(),
            order: Vec::new(),
            built_from: fingerprint(records),
        };
        for (record, life) in records.iter().zip(KeyLife::of(records)) {
            if life.revoked_at.is_some() {
                continue;
            }
            let opened = private_der(&record.kid, &record.private_key, kek)
                .map_err(anyhow::Error::from)
                .and_then(|der| set.add(record, life, ttl_ms, &der));
            match opened {
                Ok(()) => {}
                Err(e) if strict => return Err(e),
                Err(e) => tracing::error!(error = %e, "a signing key is left out"),
            }
        }
        Ok(set)
    }

    fn add(
        &mut self,
        record: &SigningKeyRecord,
        life: KeyLife,
        ttl_ms: Millis,
        der: &[u8],
    ) -> anyhow::Result<()> {
        let key = ed25519_dalek::SigningKey::from_pkcs8_der(der)
            .map_err(|e| anyhow::anyhow!("signing key {} is corrupt: {e}", record.kid))?;
        let x = URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes());
        if life.signs_until.is_none() {
            self.signer = Some(Signer {
                kid: record.kid.clone(),
                key: EncodingKey::from_ed_der(der),
            });
        }
        self.verifiers.insert(
            record.kid.clone(),
            Verifier {
                decoding: DecodingKey::from_ed_components(&x)?,
                x,
                signs_until: life.signs_until,
                retire_at: life.signs_until.map(|s| KeyLife::retire_at(s, ttl_ms)),
            },
        );
        self.order.push(record.kid.clone());
        Ok(())
    }

    /// Whether `records` describe the keys this set was built from.
    pub fn built_from(&self, records: &[SigningKeyRecord]) -> bool {
        self.built_from == fingerprint(records)
    }

    pub fn verifier(&self, kid: &str) -> Option<&Verifier> {
        self.verifiers.get(kid)
    }

    /// The same set without `kid` (revoked, heard of before the store says so).
    pub fn without(&self, kid: &str) -> Option<Self> {
        if !self.verifiers.contains_key(kid) {
            return None;
        }
        let verifiers = self
            .verifiers
            .iter()
            .filter(|(k, _)| k.as_str() != kid)
            .map(|(k, v)| {
                let copy = Verifier {
                    decoding: v.decoding.clone(),
                    x: v.x.clone(),
                    signs_until: v.signs_until,
                    retire_at: v.retire_at,
                };
                (k.clone(), copy)
            })
            .collect();
        let signer = self
            .signer
            .as_ref()
            .filter(|s| s.kid != kid)
            .map(|s| Signer {
                kid: s.kid.clone(),
                key: s.key.clone(),
            });
        Some(KeySet {
            signer,
            verifiers,
            order: self.order.iter().filter(|k| *k != kid).cloned().collect(),
            // Never equal to a re-read: the next one rebuilds the set.
            built_from: Vec::new(),
        })
    }

    /// The public keys other services may verify with at `now`: the
    /// current key and those retiring.
    pub fn jwks(&self, now: Millis) -> usher_api::Jwks {
        let keys = self
            .order
            .iter()
            .filter_map(|kid| Some((kid, self.verifiers.get(kid)?)))
            .filter(|(_, v)| v.retire_at.is_none_or(|at| now < at))
            .map(|(kid, v)| usher_api::Jwk::ed25519(kid, &v.x))
            .collect();
        usher_api::Jwks { keys }
    }
}

fn fingerprint(records: &[SigningKeyRecord]) -> Vec<(String, Option<Millis>, Option<Millis>)> {
    records
        .iter()
        .map(|r| (r.kid.clone(), r.retired_at, r.revoked_at))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoredPrivateKey;

    const TTL: Millis = 900_000;

    fn record(kid: &str, created_at: Millis, retired_at: Option<Millis>) -> SigningKeyRecord {
        SigningKeyRecord {
            kid: kid.into(),
            private_key: StoredPrivateKey::Erased,
            created_at,
            retired_at,
            revoked_at: None,
        }
    }

    #[test]
    fn a_key_signs_then_is_trusted_until_its_tokens_expire() {
        let life = KeyLife {
            created_at: 0,
            signs_until: None,
            revoked_at: None,
        };
        assert_eq!(life.state(TTL, 5), KeyState::Current);
        let retired = KeyLife {
            signs_until: Some(1_000),
            ..life
        };
        let retire_at = 1_000 + TTL + 2 * LEEWAY_MS;
        assert_eq!(
            retired.state(TTL, retire_at - 1),
            KeyState::Retiring {
                signs_until: 1_000,
                retire_at
            }
        );
        assert_eq!(
            retired.state(TTL, retire_at),
            KeyState::Retired {
                signs_until: 1_000,
                retire_at
            }
        );
        let revoked = KeyLife {
            revoked_at: Some(7),
            ..retired
        };
        assert_eq!(
            revoked.state(TTL, 8),
            KeyState::Revoked {
                at: 7,
                signs_until: 7
            }
        );
    }

    #[test]
    fn of_two_keys_never_retired_the_newer_signs() {
        let records = [
            record("a", 10, Some(20)),
            record("b", 20, None),
            record("c", 30, None),
            // Added at the same millisecond as `c` and retired by it.
            record("b2", 30, Some(30)),
        ];
        let lives = KeyLife::of(&records);
        let signs_until: Vec<_> = lives.iter().map(|l| l.signs_until).collect();
        assert_eq!(signs_until, [Some(20), Some(30), None, Some(30)]);
    }
}
