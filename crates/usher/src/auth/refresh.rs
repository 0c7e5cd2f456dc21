//! Refresh tokens: 256 random bits, handed out once, stored only as SHA-256.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

const PREFIX: &str = "urt_";

/// A new refresh token and the hash to store.
pub fn generate() -> (String, String) {
    generate_prefixed(PREFIX)
}

/// A new secret of this kind (`prefix`, then 256 random bits) and the hash
/// to store: refresh tokens, device proofs.
pub fn generate_prefixed(prefix: &str) -> (String, String) {
    let token = format!("{prefix}{}", random());
    let hash = hash(&token);
    (token, hash)
}

/// 256 random bits, base64url: every secret usher hands out starts here
/// (tokens, proofs, browser secrets, pre-session ids, the sign-in key).
pub fn random() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form. A plain hash suffices: the token has 256 bits of entropy,
/// so there is nothing to brute-force that a slow hash would protect.
pub fn hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Cheap shape check so garbage never reaches the store.
pub fn looks_valid(token: &str) -> bool {
    looks_prefixed(PREFIX, token)
}

/// Whether `token` has the shape of a secret made by [`generate_prefixed`].
pub fn looks_prefixed(prefix: &str, token: &str) -> bool {
    token.len() == prefix.len() + 43
        && token.starts_with(prefix)
        && token[prefix.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_well_formed() {
        let (a, ha) = generate();
        let (b, _) = generate();
        assert_ne!(a, b);
        assert!(looks_valid(&a));
        assert_eq!(hash(&a), ha);
        assert!(!looks_valid("urt_short"));
    }
}
