//! Storage behind small, domain-shaped traits (the ports), and the two
//! engines that implement all of them: `sqlite` (the embedded default, an
//! SQLite file through rusqlite) and `postgres` (cluster mode, through sqlx's
//! PostgreSQL driver). Every SQL detail lives in an engine's folder; the
//! decisions between statements are in `decide`, shared by both; nothing
//! above this module knows which database is in use.

use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::{
    AccountId, DeviceInfo, DeviceName, DeviceType, Email, Millis, PlanName, Plans, ProfileId,
    ProfileName, SessionId, SignOutReason, StreamEndReason, StreamId, StreamTitle,
};

pub mod activity;
pub(crate) mod decide;
pub mod postgres;
pub mod sqlite;

pub use activity::{
    ActivityQuery, ActivityRecord, ActivityStore, AlertRecord, NewTraits, SignInTraits,
    WebhookDelivery,
};

/// What can go wrong in storage, in terms the domain can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was violated (for example, the email is taken).
    #[error("conflict")]
    Conflict,
    /// The database cannot be reached right now; the caller may retry.
    #[error("the database is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else: a bug or corrupt data. Logged, never shown to clients.
    #[error("storage failure")]
    Other(#[source] anyhow::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone)]
pub struct AccountRecord {
    pub id: AccountId,
    pub email: Email,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub plan: PlanName,
    pub created_at: Millis,
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

/// An Ed25519 token-signing key. The private part is PKCS#8 DER.
#[derive(Clone)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub private_der: Vec<u8>,
    pub created_at: Millis,
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

#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates the account; `Conflict` when the email is taken.
    async fn create_account(&self, account: &AccountRecord) -> StoreResult<()>;
    async fn account(&self, id: AccountId) -> StoreResult<Option<AccountRecord>>;
    async fn account_by_email(&self, email: &Email) -> StoreResult<Option<AccountRecord>>;
    /// Returns false when there is no such account.
    async fn set_plan(&self, id: AccountId, plan: &PlanName) -> StoreResult<bool>;
    /// Stores the new hash and, when `revoke` is set, revokes every active
    /// session of the account in the same transaction.
    async fn change_password(&self, change: &PasswordChange) -> StoreResult<Vec<RevokedSession>>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Creates the session unless the account's plan caps signed-in devices
    /// and the cap is reached (checked in the same transaction).
    async fn create_session(
        &self,
        session: &NewSession,
        plans: &Plans,
    ) -> StoreResult<CreateSessionOutcome>;
    async fn session(&self, id: SessionId) -> StoreResult<Option<SessionRecord>>;
    /// Signed-in (not revoked) sessions of the account, oldest first.
    async fn active_sessions(&self, account: AccountId) -> StoreResult<Vec<SessionRecord>>;
    async fn count_active_sessions(&self, account: AccountId) -> StoreResult<u32>;
    /// Renames an active session of this account; `None` when there is none.
    async fn rename_session(
        &self,
        account: AccountId,
        id: SessionId,
        name: &DeviceName,
    ) -> StoreResult<Option<SessionRecord>>;
    /// Revokes an active session of this account; `None` when there is none.
    async fn revoke_session(
        &self,
        account: AccountId,
        id: SessionId,
        reason: SignOutReason,
        now: Millis,
    ) -> StoreResult<Option<RevokedSession>>;
    /// Revokes every active session of the account but `keep`.
    async fn revoke_account_sessions(
        &self,
        sign_out: &AccountSignOut,
    ) -> StoreResult<Vec<RevokedSession>>;
    /// Rotates a refresh token, detecting reuse (see [`RefreshOutcome`]).
    async fn rotate_refresh(
        &self,
        presented_hash: &str,
        new_hash: &str,
        now: Millis,
    ) -> StoreResult<RefreshOutcome>;
    /// Writes coalesced last-seen touches (last active time and address).
    async fn record_last_seen(&self, batch: &[LastSeenUpdate]) -> StoreResult<()>;
    /// Revokes sessions last active before `cutoff` with reason `idle_expired`.
    async fn revoke_idle(&self, cutoff: Millis, now: Millis) -> StoreResult<Vec<RevokedSession>>;
    /// Revocations with `seq` greater than `after`, in order.
    async fn revocations_since(&self, after: i64, limit: u32) -> StoreResult<Vec<RevokedSession>>;
    /// The highest revocation `seq` so far (0 when none).
    async fn last_revocation_seq(&self) -> StoreResult<i64>;
}

/// Stream slots.
///
/// Admission is linearizable per account: an implementation must serialise
/// `start_stream` calls of one account (and their view of sign-outs and stops)
/// so that a count of live streams and the insert that follows it are atomic.
#[async_trait]
pub trait StreamStore: Send + Sync {
    /// Takes a slot for the session if its plan allows, ending the session's
    /// previous stream (`replaced`) first.
    async fn start_stream(&self, stream: &NewStream, plans: &Plans) -> StoreResult<StartOutcome>;
    /// Extends the lease of the session's stream.
    async fn heartbeat(&self, beat: &Heartbeat) -> StoreResult<HeartbeatOutcome>;
    /// Stops a stream of the account; `by` is the session asking.
    async fn stop_stream(
        &self,
        account: AccountId,
        id: StreamId,
        by: SessionId,
        now: Millis,
    ) -> StoreResult<StopOutcome>;
    /// Streams that count against the plan now, oldest first.
    async fn live_streams(&self, account: AccountId, now: Millis)
        -> StoreResult<Vec<ActiveStream>>;
    /// Ends streams whose lease has lapsed (tidying; admission does not need it).
    async fn expire_leases(&self, now: Millis) -> StoreResult<Vec<EndedStream>>;
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

/// Profiles. Every write takes the account's row lock first (as admission
/// does), so counts, PIN changes, device switches and stream starts of one
/// account are serialised.
#[async_trait]
pub trait ProfileStore: Send + Sync {
    async fn profiles(&self, account: AccountId) -> StoreResult<AccountProfiles>;
    async fn profile(
        &self,
        account: AccountId,
        id: ProfileId,
    ) -> StoreResult<Option<ProfileRecord>>;
    /// Adds a profile unless the account has `limit` already (exact under concurrency).
    async fn create_profile(
        &self,
        new: &NewProfile,
        limit: u32,
    ) -> StoreResult<CreateProfileOutcome>;
    async fn rename_profile(
        &self,
        account: AccountId,
        id: ProfileId,
        name: &ProfileName,
    ) -> StoreResult<Option<ProfileRecord>>;
    /// Deletes a profile, evicting the devices on it.
    async fn delete_profile(
        &self,
        account: AccountId,
        id: ProfileId,
        now: Millis,
    ) -> StoreResult<DeleteProfileOutcome>;
    /// Sets (`Some`) or removes (`None`) the PIN. Setting one evicts the
    /// devices on the profile; removing the default's turns
    /// "require PIN to add profiles" off. `None` when there is no such profile.
    async fn set_profile_pin(
        &self,
        change: &PinChange,
    ) -> StoreResult<Option<(ProfileRecord, ProfileEviction)>>;
    /// Sets "require PIN to add profiles"; false (unchanged) when turning it
    /// on while the default profile is unlocked.
    async fn set_require_pin_to_add(&self, account: AccountId, on: bool) -> StoreResult<bool>;
    /// Puts the session on the profile, if the profile's PIN hash is still
    /// `checked_pin_hash` (what the caller verified the PIN against).
    async fn switch_profile(
        &self,
        account: AccountId,
        session: SessionId,
        id: ProfileId,
        checked_pin_hash: Option<&str>,
    ) -> StoreResult<SwitchOutcome>;
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    /// All signing keys, oldest first.
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>>;
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()>;
}

/// Everything usher keeps.
#[async_trait]
pub trait Store:
    AccountStore + SessionStore + StreamStore + ProfileStore + KeyStore + ActivityStore
{
    /// A cheap round trip, for readiness.
    async fn ping(&self) -> StoreResult<()>;
    /// Short description for start-up logs (never includes credentials).
    fn describe(&self) -> String;
}

pub type SharedStore = Arc<dyn Store>;

/// Opens the store named by `url` (`sqlite://PATH` or `postgres://…`) and
/// brings its schema up to date.
pub async fn open(url: &str) -> anyhow::Result<SharedStore> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::open(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        postgres::PgStore::open_shared(url).await
    } else {
        anyhow::bail!("unsupported database URL (expected sqlite://PATH or postgres://…)")
    }
}
