//! Browser sessions for the account pages.
//!
//! A browser that signs in becomes a device session of type `browser` like
//! any other: listed, renamable, signed out remotely, expired when idle. It
//! proves itself with a cookie `<session id>.<secret>`; the secret (256
//! random bits) is kept only as SHA-256 and, unlike a refresh token, does not
//! rotate. Forms carry a CSRF token derived from that hash, which only the
//! server knows.
//!
//! Nothing about a session is told to a cookie that does not prove it: an
//! unknown id, a wrong secret and a signed-out session's id with a wrong
//! secret get the same answer; only the browser holding the secret learns
//! that (and why) it was signed out. An id the store does not know is
//! remembered, so presenting it again costs no database read.
//!
//! Before sign-in there is no session: the sign-in form's CSRF token is a
//! MAC of a random pre-session id (the browser's own `__Host-` cookie, which
//! no sibling subdomain can plant) under a key every node shares, so a token
//! fits only the pre-session it was made for.

use std::net::IpAddr;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::unknown::{UnknownSessions, CAPACITY};
use crate::auth::refresh;
use crate::auth::tokens::TokenError;
use crate::domain::{DeviceInfo, DeviceType, Millis, SessionId};
use crate::error::{Error, Result};
use crate::sessions::cache::{CachedSession, Lookup, TombstoneSecret};
use crate::sessions::Sessions;
use crate::store::{Credential, Revocation, Store};

/// The `web_keys` entry the sign-in form's CSRF tokens are MACs under.
const SIGN_IN_KEY: &str = "sign_in_csrf";

/// What [`Sessions`] keeps for browsers: the ids known not to exist and
/// the sign-in form's key.
pub struct BrowserAuth {
    unknown: UnknownSessions,
    /// Never printed (no `Debug`).
    sign_in_key: Vec<u8>,
}

impl BrowserAuth {
    /// Reads the deployment's sign-in key, storing a new one if there is none.
    pub(super) async fn load(store: &dyn Store, now: Millis) -> anyhow::Result<Self> {
        let stored = store.web_key(SIGN_IN_KEY, &refresh::random(), now).await?;
        let sign_in_key = URL_SAFE_NO_PAD
            .decode(stored)
            .ok()
            .filter(|key| key.len() >= 32)
            .ok_or_else(|| anyhow::anyhow!("the stored sign-in key is damaged"))?;
        Ok(Self {
            unknown: UnknownSessions::new(CAPACITY),
            sign_in_key,
        })
    }
}

/// 256 random bits, as cookie-safe text.
/// A new pre-session id, for a browser about to sign in.
pub fn new_presession() -> String {
    refresh::random()
}

/// Whether `value` has the form of a pre-session id (one that does not is
/// replaced, never echoed).
pub fn is_presession(value: &str) -> bool {
    value.len() == 43
        && URL_SAFE_NO_PAD
            .decode(value)
            .is_ok_and(|bytes| bytes.len() == 32)
}

/// What a browser keeps after signing in.
pub struct BrowserSignIn {
    pub session_id: SessionId,
    /// The cookie value, `<session id>.<secret>`.
    pub cookie: String,
    /// The proof of this sign-in, for the device-proof cookie.
    pub device_proof: Option<String>,
}

impl Sessions {
    /// Signs a browser in to the account pages; `device_proof` is the
    /// proof of an earlier sign-in its cookie holds, if any.
    pub async fn sign_in_browser(
        &self,
        email: &str,
        password: String,
        user_agent: &str,
        ip: Option<IpAddr>,
        device_proof: Option<&str>,
    ) -> Result<BrowserSignIn> {
        let device = DeviceInfo::parse(&browser_name(user_agent), DeviceType::Browser, None, None)
            .map_err(|e| Error::Internal(anyhow::anyhow!("browser device name: {e}")))?;
        let (account, presented) = self
            .check_credentials(email, password, &device, ip, device_proof)
            .await?;
        let secret = refresh::random();
        let hash = refresh::hash(&secret);
        let session_id = self
            .create_session(account, device, ip, Credential::BrowserSecret { hash })
            .await?;
        Ok(BrowserSignIn {
            session_id,
            cookie: format!("{session_id}.{secret}"),
            device_proof: self.device_proof_for(account, presented).await,
        })
    }

    /// The browser session a cookie proves, if it is still signed in. A
    /// cookie that proves nothing is `invalid_token`, whatever its id names;
    /// `SessionRevoked` (with why) only for the secret of a signed-out one.
    pub async fn authenticate_browser(
        &self,
        cookie: &str,
        ip: Option<IpAddr>,
    ) -> Result<Arc<CachedSession>> {
        let (id, secret) = cookie.split_once('.').ok_or_else(invalid)?;
        let id: SessionId = id.parse().map_err(|_| invalid())?;
        let presented = refresh::hash(secret);
        let lookup = match self.cache.lookup(id) {
            Lookup::Unknown => self.load_browser(id).await?,
            known => known,
        };
        let session = match lookup {
            Lookup::Active(session) => session,
            Lookup::Revoked(revocation) => {
                return Err(self.why_refused(id, revocation, &presented).await)
            }
            Lookup::Unknown => return Err(invalid()),
        };
        if !proves(&presented, session.web_secret_hash.as_deref()) {
            return Err(invalid());
        }
        // Signed out since, or idle too long: told, as the secret matched.
        self.admit(session, self.clock.now(), ip).await
    }

    /// Reads a session this node has not seen into the cache; `Unknown`
    /// (remembered, so the next time costs no read) when the store has none.
    async fn load_browser(&self, id: SessionId) -> Result<Lookup> {
        if self.browser.unknown.contains(id) {
            return Ok(Lookup::Unknown);
        }
        match self.store.session(id).await? {
            Some(record) => Ok(self.cache.insert_loaded(record)),
            None => {
                self.browser.unknown.remember(id);
                Ok(Lookup::Unknown)
            }
        }
    }

    /// The answer to a cookie naming a signed-out session: why, when it
    /// carries that session's secret; otherwise what any bad cookie gets.
    async fn why_refused(&self, id: SessionId, revocation: Revocation, presented: &str) -> Error {
        let mut secret = self.cache.tombstone_secret(id);
        if matches!(secret, Some(TombstoneSecret::NotLoaded)) {
            // Learnt from another node: the store has the secret's hash.
            if let Ok(Some(record)) = self.store.session(id).await {
                self.cache.insert_loaded(record);
                secret = self.cache.tombstone_secret(id);
            }
        }
        match secret {
            Some(TombstoneSecret::Hash(hash)) if proves(presented, Some(&hash)) => {
                Error::SessionRevoked(revocation.reason)
            }
            _ => invalid(),
        }
    }

    /// The sign-in form's CSRF token for `presession`: a MAC of it under
    /// the deployment's sign-in key.
    pub fn sign_in_csrf(&self, presession: &str) -> String {
        mac(
            &self.browser.sign_in_key,
            &[b"usher sign-in csrf v1\0", presession.as_bytes()],
        )
    }

    /// Whether `presented` is the sign-in form's token for `presession`.
    pub fn sign_in_csrf_ok(&self, presession: &str, presented: &str) -> bool {
        constant_time_eq(
            self.sign_in_csrf(presession).as_bytes(),
            presented.as_bytes(),
        )
    }
}

/// What a cookie that proves nothing gets, whatever its id names.
fn invalid() -> Error {
    Error::Token(TokenError::Invalid)
}

/// Whether the hash of a presented secret is the stored one.
fn proves(presented: &str, stored: Option<&str>) -> bool {
    stored.is_some_and(|stored| constant_time_eq(presented.as_bytes(), stored.as_bytes()))
}

/// The CSRF token of a browser session: an HMAC of a fixed label keyed by
/// the session's secret hash, so it needs no storage and cannot be guessed.
pub fn csrf_token(session: &CachedSession) -> Option<String> {
    let key = session.web_secret_hash.as_deref()?;
    Some(mac(key.as_bytes(), &[b"usher csrf v1"]))
}

/// HMAC-SHA256 of `parts` (one after the other) under `key`, base64url.
fn mac(key: &[u8], parts: &[&[u8]]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    for part in parts {
        mac.update(part);
    }
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Whether `presented` is the session's CSRF token.
pub fn csrf_ok(session: &CachedSession, presented: &str) -> bool {
    csrf_token(session).is_some_and(|t| constant_time_eq(t.as_bytes(), presented.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// A label for the device list ("Firefox on Linux") from a User-Agent. Only
/// a display name: a wrong guess costs nothing, so a few common markers do.
pub fn browser_name(user_agent: &str) -> String {
    let has = |marker: &str| user_agent.contains(marker);
    let browser = if has("Edg/") {
        "Edge"
    } else if has("OPR/") {
        "Opera"
    } else if has("Firefox/") {
        "Firefox"
    } else if has("Chrome/") || has("Chromium/") {
        "Chrome"
    } else if has("Safari/") {
        "Safari"
    } else {
        "Browser"
    };
    let os = if has("Android") {
        Some("Android")
    } else if has("iPhone") || has("iPad") {
        Some("iOS")
    } else if has("Windows") {
        Some("Windows")
    } else if has("Mac OS X") || has("Macintosh") {
        Some("macOS")
    } else if has("CrOS") {
        Some("ChromeOS")
    } else if has("Linux") {
        Some("Linux")
    } else {
        None
    };
    match os {
        Some(os) => format!("{browser} on {os}"),
        None => browser.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_common_browsers() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
        assert_eq!(browser_name(chrome), "Chrome on Linux");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(browser_name(safari), "Safari on iOS");
        assert_eq!(browser_name(""), "Browser");
    }

    #[test]
    fn compares_in_constant_time_but_correctly() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
