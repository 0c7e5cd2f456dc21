//! Browser sessions for the account pages.
//!
//! A browser that signs in becomes a device session of type `browser` like
//! any other: listed, renamable, signed out remotely, expired when idle. It
//! proves itself with a cookie `<session id>.<secret>`; the secret (256
//! random bits) is kept only as SHA-256 and, unlike a refresh token, does not
//! rotate. Forms carry a CSRF token derived from that hash, which only the
//! server knows.

use std::net::IpAddr;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::auth::refresh;
use crate::domain::{DeviceInfo, DeviceType, SessionId};
use crate::error::{Error, Result};
use crate::sessions::cache::CachedSession;
use crate::sessions::Sessions;
use crate::store::Credential;

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
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let secret = URL_SAFE_NO_PAD.encode(secret);
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

    /// The browser session a cookie proves, if it is still signed in.
    pub async fn authenticate_browser(
        &self,
        cookie: &str,
        ip: Option<IpAddr>,
    ) -> Result<Arc<CachedSession>> {
        let invalid = || Error::Token(crate::auth::tokens::TokenError::Invalid);
        let (id, secret) = cookie.split_once('.').ok_or_else(invalid)?;
        let id: SessionId = id.parse().map_err(|_| invalid())?;
        let session = self.active_session(id).await?;
        let expected = session.web_secret_hash.as_deref().ok_or_else(invalid)?;
        if !constant_time_eq(refresh::hash(secret).as_bytes(), expected.as_bytes()) {
            return Err(invalid());
        }
        self.admit(session, self.clock.now(), ip).await
    }
}

/// The CSRF token of a browser session: an HMAC of a fixed label keyed by
/// the session's secret hash, so it needs no storage and cannot be guessed.
pub fn csrf_token(session: &CachedSession) -> Option<String> {
    let key = session.web_secret_hash.as_deref()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).ok()?;
    mac.update(b"usher csrf v1");
    Some(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
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
