//! Signing keys at rest: sealed under a key-encryption key (KEK) from the
//! environment (`USHER_KEY_ENCRYPTION_KEY`) or a file
//! (`keys.encryption_key_file`), so a copy of the database alone cannot
//! mint tokens.
//!
//! XChaCha20-Poly1305 with a random 192-bit nonce per key (random nonces
//! that long never repeat in practice) and the `kid` as associated data, so
//! a sealed key moved to another row does not open.

use std::path::Path;

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::config::Config;
use crate::store::StoredPrivateKey;

/// The variable that carries the key-encryption key.
pub const KEK_VARIABLE: &str = "USHER_KEY_ENCRYPTION_KEY";

/// How an operator makes a key-encryption key.
const HOW_TO_MAKE_ONE: &str = "make one with `openssl rand -base64 32`";

/// The key-encryption key. No `Debug`: it is a secret.
#[derive(Clone)]
pub struct KeyEncryptionKey(XChaCha20Poly1305);

/// What can be wrong with a stored signing key's private part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error(
        "signing key {kid} is encrypted, but no key-encryption key is configured \
         (set {KEK_VARIABLE} or keys.encryption_key_file)"
    )]
    NoKek { kid: String },
    #[error(
        "signing key {kid} cannot be decrypted with the configured key-encryption key \
         (it is not the key it was encrypted with, or the stored key is damaged)"
    )]
    WrongKek { kid: String },
    #[error("signing key {kid} was erased when it was revoked")]
    Erased { kid: String },
}

impl KeyEncryptionKey {
    /// The key the configuration names, if any: the variable's value or the
    /// file's content, base64 of 32 bytes.
    pub fn configured(config: &Config) -> anyhow::Result<Option<Self>> {
        match (&config.key_encryption_key, &config.keys.encryption_key_file) {
            (Some(_), Some(_)) => {
                anyhow::bail!("both {KEK_VARIABLE} and keys.encryption_key_file are set: use one")
            }
            (Some(value), None) => Self::parse(&value.0)
                .map(Some)
                .map_err(|why| anyhow::anyhow!("{KEK_VARIABLE} is not usable: {why}")),
            (None, Some(file)) => Self::read(file).map(Some),
            (None, None) => Ok(None),
        }
    }

    fn read(file: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(file).map_err(|e| {
            anyhow::anyhow!(
                "cannot read keys.encryption_key_file {}: {e}",
                file.display()
            )
        })?;
        warn_if_shared(file);
        Self::parse(&text).map_err(|why| {
            anyhow::anyhow!(
                "keys.encryption_key_file {} is not usable: {why}",
                file.display()
            )
        })
    }

    /// Base64 (standard alphabet, padded or not) of exactly 32 bytes.
    fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim().trim_end_matches('=');
        let bytes = STANDARD_NO_PAD
            .decode(text)
            .map_err(|_| format!("it is not base64; {HOW_TO_MAKE_ONE}"))?;
        if bytes.len() != 32 {
            return Err(format!(
                "it is {} bytes, not 32; {HOW_TO_MAKE_ONE}",
                bytes.len()
            ));
        }
        let cipher = XChaCha20Poly1305::new_from_slice(&bytes)
            .map_err(|_| format!("it is not a 32-byte key; {HOW_TO_MAKE_ONE}"))?;
        Ok(Self(cipher))
    }

    /// `der` sealed for key `kid`.
    pub fn seal(&self, kid: &str, der: &[u8]) -> StoredPrivateKey {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: der,
            aad: kid.as_bytes(),
        };
        let ciphertext = self
            .0
            .encrypt(&nonce, payload)
            .expect("XChaCha20-Poly1305 seals any message shorter than 256 GiB");
        StoredPrivateKey::Sealed {
            nonce: nonce.to_vec(),
            ciphertext,
        }
    }

    fn open(&self, kid: &str, nonce: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, SealError> {
        let wrong = || SealError::WrongKek {
            kid: kid.to_owned(),
        };
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| wrong())?;
        let payload = Payload {
            msg: ciphertext,
            aad: kid.as_bytes(),
        };
        self.0
            .decrypt(&XNonce::from(nonce), payload)
            .map_err(|_| wrong())
    }
}

/// The PKCS#8 DER of a stored key, opened with `kek` if it is sealed.
pub fn private_der(
    kid: &str,
    stored: &StoredPrivateKey,
    kek: Option<&KeyEncryptionKey>,
) -> Result<Vec<u8>, SealError> {
    match stored {
        StoredPrivateKey::Plain(der) => Ok(der.clone()),
        StoredPrivateKey::Sealed { nonce, ciphertext } => kek
            .ok_or_else(|| SealError::NoKek {
                kid: kid.to_owned(),
            })?
            .open(kid, nonce, ciphertext),
        StoredPrivateKey::Erased => Err(SealError::Erased {
            kid: kid.to_owned(),
        }),
    }
}

/// A key file others can read is worth a warning, not a refusal (a
/// container's secret mount may be 0644 inside a private volume).
#[cfg(unix)]
fn warn_if_shared(file: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(file) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                file = %file.display(),
                mode = format!("{mode:o}"),
                "keys.encryption_key_file is readable by other users; make it 0600"
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_file: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    fn generate_base64() -> String {
        STANDARD.encode(XChaCha20Poly1305::generate_key(&mut OsRng))
    }

    fn kek() -> KeyEncryptionKey {
        KeyEncryptionKey::parse(&generate_base64()).unwrap()
    }

    #[test]
    fn a_sealed_key_opens_only_with_its_kek_and_its_kid() {
        let kek = kek();
        let sealed = kek.seal("kid1", b"secret der");
        assert!(!matches!(sealed, StoredPrivateKey::Plain(_)));
        assert_eq!(
            private_der("kid1", &sealed, Some(&kek)).unwrap(),
            b"secret der"
        );
        let wrong_kid = private_der("kid2", &sealed, Some(&kek));
        assert!(matches!(wrong_kid, Err(SealError::WrongKek { .. })));
        let other = self::kek();
        let wrong_kek = private_der("kid1", &sealed, Some(&other));
        assert!(matches!(wrong_kek, Err(SealError::WrongKek { .. })));
        let none = private_der("kid1", &sealed, None);
        assert!(matches!(none, Err(SealError::NoKek { .. })));
    }

    #[test]
    fn a_kek_is_base64_of_32_bytes() {
        let good = generate_base64();
        assert!(KeyEncryptionKey::parse(&good).is_ok());
        assert!(KeyEncryptionKey::parse(&format!("  {good}\n")).is_ok());
        assert!(KeyEncryptionKey::parse(good.trim_end_matches('=')).is_ok());
        let short = STANDARD.encode([1u8; 16]);
        let err = KeyEncryptionKey::parse(&short).err().unwrap();
        assert!(err.contains("16 bytes, not 32"), "{err}");
        assert!(KeyEncryptionKey::parse("not base64!").is_err());
        assert!(KeyEncryptionKey::parse("").is_err());
    }
}
