//! The records the store reads and writes, the outcomes of its
//! transactions, and the commands that name a write: plain data, no SQL.

use std::net::IpAddr;

use crate::domain::{
    AccountId, DeviceInfo, DeviceType, Email, Millis, PlanName, ProfileId, ProfileName, SessionId,
    SignOutReason, StreamEndReason, StreamId, StreamTitle,
};

#[derive(Debug, Clone)]
pub struct AccountRecord {
    pub id: AccountId,
    pub email: Email,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub plan: PlanName,
    pub created_at: Millis,
}

/// An account's email as stored, for the start-up re-check of emails.
#[derive(Debug, Clone)]
pub struct StoredEmail {
    pub account: AccountId,
    pub email: Email,
}

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revocation {
    pub reason: SignOutReason,
    pub at: Millis,
}

#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub id: SessionId,
    pub account_id: AccountId,
    pub device: DeviceInfo,
    pub created_at: Millis,
    pub last_active_at: Millis,
    pub last_ip: Option<IpAddr>,
    pub revoked: Option<Revocation>,
    /// SHA-256 of a browser session's cookie secret (browser sessions only).
    pub web_secret_hash: Option<String>,
    /// The profile the device is on; `None` while it must pick one.
    pub profile: Option<ProfileRef>,
}

/// A profile as other records mention it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRef {
    pub id: ProfileId,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: SessionId,
    pub account_id: AccountId,
    pub device: DeviceInfo,
    pub ip: Option<IpAddr>,
    pub credential: Credential,
    pub now: Millis,
}

/// How a session proves itself, stored only as a SHA-256 hash.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A device app: a refresh token that rotates on every use.
    RefreshToken { hash: String },
    /// The account pages in a browser: a cookie secret that does not rotate
    /// (a browser sends requests in parallel, which rotation would take for
    /// theft), protected by HttpOnly/SameSite cookies and CSRF tokens.
    BrowserSecret { hash: String },
}

/// One entry of the durable, ordered revocation log. Nodes catch up from it
/// by `seq` when they may have missed bus messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedSession {
    pub seq: i64,
    pub session_id: SessionId,
    pub account_id: AccountId,
    pub reason: SignOutReason,
    pub at: Millis,
    /// The stream the session was playing, ended in the same transaction
    /// (kept in the log, so a node catching up tells the device about it
    /// before `signed_out`).
    pub ended_stream: Option<StreamId>,
    /// The device signed out, for the activity history (only on the node
    /// that revoked it, like `ended_stream`).
    pub device: Option<RevokedDevice>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedDevice {
    pub name: String,
    pub kind: DeviceType,
    pub last_ip: Option<IpAddr>,
}

/// What presenting a refresh token led to.
#[derive(Debug)]
pub enum RefreshOutcome {
    /// The token was current; it is now rotated and the new one stored. The
    /// record shows the session as it was before (last-active included).
    Rotated(SessionRecord),
    /// The token had already been rotated: the session is now revoked.
    Reused(RevokedSession),
    /// The session had already ended.
    Revoked(SessionRecord),
    /// No such token.
    Unknown,
}

/// A coalesced last-seen touch for one session (when and from where it was
/// last used); not the activity history.
#[derive(Debug, Clone, Copy)]
pub struct LastSeenUpdate {
    pub session_id: SessionId,
    pub last_active_at: Millis,
    pub ip: Option<IpAddr>,
}

/// An Ed25519 token-signing key and its life (no `Debug`: it holds the
/// private key).
#[derive(Clone)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub private_key: StoredPrivateKey,
    pub created_at: Millis,
    /// When it stopped signing; `None` while it is the current key.
    pub retired_at: Option<Millis>,
    /// When it was declared compromised: trusted no more.
    pub revoked_at: Option<Millis>,
}

/// A signing key's private part as stored.
#[derive(Clone, PartialEq, Eq)]
pub enum StoredPrivateKey {
    /// PKCS#8 DER.
    Plain(Vec<u8>),
    /// PKCS#8 DER sealed under the key-encryption key.
    Sealed { nonce: Vec<u8>, ciphertext: Vec<u8> },
    /// Erased when the key was revoked.
    Erased,
}

impl StoredPrivateKey {
    /// From the `private_der` and `sealed_nonce` columns (both engines
    /// store it so): a nonce means sealed, no bytes means erased.
    pub fn from_columns(der: Vec<u8>, nonce: Option<Vec<u8>>) -> Self {
        match nonce {
            Some(nonce) => Self::Sealed {
                nonce,
                ciphertext: der,
            },
            None if der.is_empty() => Self::Erased,
            None => Self::Plain(der),
        }
    }

    /// The `private_der` and `sealed_nonce` columns.
    pub fn columns(&self) -> (&[u8], Option<&[u8]>) {
        match self {
            Self::Plain(der) => (der, None),
            Self::Sealed { nonce, ciphertext } => (ciphertext, Some(nonce)),
            Self::Erased => (&[], None),
        }
    }
}

/// A key declared compromised, and the window in which it signed: the
/// sessions issued a token in it are signed out (`key_revoked`).
#[derive(Debug, Clone)]
pub struct KeyRevocation {
    pub kid: String,
    pub signed_from: Millis,
    pub signed_until: Millis,
    pub now: Millis,
}

/// A device proof as stored: only its hash.
#[derive(Debug, Clone)]
pub struct DeviceProofRecord {
    pub hash: String,
    pub account_id: AccountId,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// A stream as stored.
#[derive(Debug, Clone)]
pub struct StreamRecord {
    pub id: StreamId,
    pub account_id: AccountId,
    pub session_id: SessionId,
    pub title: String,
    pub profile_id: Option<ProfileId>,
    pub started_at: Millis,
    pub lease_expires_at: Millis,
    pub ended: Option<(StreamEndReason, Millis)>,
}

/// A stream that counts against the plan, with the device playing it.
#[derive(Debug, Clone)]
pub struct ActiveStream {
    pub stream: StreamRecord,
    pub device_name: String,
    pub device_type: DeviceType,
    /// The profile it plays on (its current name).
    pub profile: Option<ProfileRef>,
}

#[derive(Debug, Clone)]
pub struct NewStream {
    pub id: StreamId,
    pub account_id: AccountId,
    pub session_id: SessionId,
    pub title: StreamTitle,
    /// The profile the device asked to play on; `None` for the session's own.
    pub profile_id: Option<ProfileId>,
    pub now: Millis,
    pub lease_ms: Millis,
}

/// A stream that has just ended, for telling its device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndedStream {
    pub stream_id: StreamId,
    pub session_id: SessionId,
    pub account_id: AccountId,
    pub reason: StreamEndReason,
}

#[derive(Debug)]
pub enum StartOutcome {
    /// Admitted. `replaced` is the device's previous stream, ended to make
    /// room; `expired` are the account's streams whose leases had lapsed.
    Started {
        stream: StreamRecord,
        replaced: Option<EndedStream>,
        expired: Vec<EndedStream>,
    },
    /// Every slot is taken.
    Full {
        limit: u32,
        active: Vec<ActiveStream>,
    },
    /// The session was signed out meanwhile.
    SessionEnded,
    /// No profile was named and the device is on none.
    ProfileRequired,
    /// The named profile is locked and is not the one the device is on.
    PinRequired,
    /// The named profile is not one of the account's.
    UnknownProfile,
}

#[derive(Debug)]
pub enum HeartbeatOutcome {
    Extended(StreamRecord),
    /// The stream has ended; `expired_now` when this heartbeat found its lease
    /// lapsed and ended it.
    Ended {
        reason: StreamEndReason,
        expired_now: Option<EndedStream>,
    },
    NotFound,
}

#[derive(Debug)]
pub enum StopOutcome {
    Stopped(EndedStream),
    AlreadyEnded,
    NotFound,
}

#[derive(Debug)]
pub enum CreateSessionOutcome {
    Created,
    /// The plan's device cap is reached; these are the signed-in devices.
    DeviceLimitReached {
        limit: u32,
        devices: Vec<SessionRecord>,
    },
}

/// A password change: the new hash and, when `sign_out` is set, every
/// active session of the account revoked in the same transaction.
#[derive(Debug, Clone)]
pub struct PasswordChange {
    pub account: AccountId,
    /// Argon2id PHC string.
    pub new_hash: String,
    pub sign_out: bool,
    pub now: Millis,
}

/// Every active session of an account signed out, but `keep`.
#[derive(Debug, Clone, Copy)]
pub struct AccountSignOut {
    pub account: AccountId,
    pub keep: Option<SessionId>,
    pub reason: SignOutReason,
    pub now: Millis,
}

/// A heartbeat of the session's stream: its lease extended to `now + lease_ms`.
#[derive(Debug, Clone, Copy)]
pub struct Heartbeat {
    pub session: SessionId,
    pub stream: StreamId,
    pub now: Millis,
    pub lease_ms: Millis,
}

/// A profile's PIN set (`Some` Argon2id hash) or removed (`None`).
#[derive(Debug, Clone)]
pub struct PinChange {
    pub account: AccountId,
    pub profile: ProfileId,
    pub pin_hash: Option<String>,
    pub now: Millis,
}

/// A profile as stored.
#[derive(Debug, Clone)]
pub struct ProfileRecord {
    pub id: ProfileId,
    pub account_id: AccountId,
    pub name: String,
    /// Argon2id PHC string of the PIN; `None` when the profile is unlocked.
    pub pin_hash: Option<String>,
    pub is_default: bool,
    pub created_at: Millis,
}

/// An account's profiles, oldest (the default) first, and its setting.
#[derive(Debug, Clone)]
pub struct AccountProfiles {
    pub profiles: Vec<ProfileRecord>,
    pub require_pin_to_add: bool,
}

#[derive(Debug, Clone)]
pub struct NewProfile {
    pub id: ProfileId,
    pub account_id: AccountId,
    pub name: ProfileName,
    pub now: Millis,
}

#[derive(Debug)]
pub enum CreateProfileOutcome {
    Created(ProfileRecord),
    /// The account already has `limit` profiles.
    LimitReached {
        limit: u32,
    },
}

/// Devices sent back to the profile picker, and the streams that ended with
/// it, in the transaction that locked (or deleted) the profile.
#[derive(Debug, Clone, Default)]
pub struct ProfileEviction {
    pub sessions: Vec<SessionId>,
    pub ended: Vec<EndedStream>,
}

#[derive(Debug)]
pub enum DeleteProfileOutcome {
    Deleted(ProfileRecord, ProfileEviction),
    NotFound,
    /// It is the account's only profile.
    LastProfile,
    /// It is the default profile, which stays.
    DefaultProfile,
}

#[derive(Debug)]
pub enum SwitchOutcome {
    Switched(ProfileRecord),
    NotFound,
    /// The PIN changed after the caller checked it.
    PinChanged,
    SessionEnded,
}

/// One device signed out: an active session of this account.
#[derive(Debug, Clone, Copy)]
pub struct SessionSignOut {
    pub account: AccountId,
    pub session: SessionId,
    pub reason: SignOutReason,
    pub now: Millis,
}

/// A stream of the account stopped; `by` is the session asking.
#[derive(Debug, Clone, Copy)]
pub struct StreamStop {
    pub account: AccountId,
    pub stream: StreamId,
    pub by: SessionId,
    pub now: Millis,
}

/// A device put on a profile, if the profile's PIN hash is still
/// `checked_pin_hash` (what the caller verified the PIN against).
#[derive(Debug, Clone)]
pub struct ProfileSwitch {
    pub account: AccountId,
    pub session: SessionId,
    pub profile: ProfileId,
    pub checked_pin_hash: Option<String>,
}

/// How busy the store's connections are, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    /// Connections open now.
    pub open: u32,
    /// Of those, how many are running an operation.
    pub busy: u32,
    /// The most the store opens.
    pub max: u32,
    /// Operations waiting for a connection, when the engine can tell.
    pub waiting: Option<u32>,
}
