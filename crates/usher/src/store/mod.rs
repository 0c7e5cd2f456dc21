//! Storage behind small, domain-shaped traits (the ports), and the two
//! engines that implement all of them: `sqlite` (the embedded default, an
//! SQLite file through rusqlite) and `postgres` (cluster mode, through sqlx's
//! PostgreSQL driver). Every SQL detail lives in an engine's folder; the
//! decisions between statements are in `decide`, shared by both; nothing
//! above this module knows which database is in use.

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::{
    AccountId, DeviceName, Email, Millis, PlanName, Plans, ProfileId, ProfileName, SessionId,
};

pub mod activity;
pub(crate) mod decide;
pub mod postgres;
mod records;
pub mod sqlite;

pub use activity::{
    ActivityQuery, ActivityRecord, ActivityStore, AlertRecord, NewTraits, SignInTraits,
    WebhookDelivery, WebhookFailure,
};
pub use records::*;

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

/// What `usher_database_errors_total` calls each kind of error.
const UNAVAILABLE: &str = "unavailable";
const OTHER: &str = "other";

impl StoreError {
    /// The database could not be reached (counted: `usher_database_errors_total`).
    pub(crate) fn unavailable(e: impl Into<anyhow::Error>) -> Self {
        StoreError::Unavailable(e.into()).counted()
    }

    /// A bug or bad data (counted, as [`StoreError::unavailable`]).
    pub(crate) fn other(e: impl Into<anyhow::Error>) -> Self {
        StoreError::Other(e.into()).counted()
    }

    /// Counts this failure in `usher_database_errors_total` (a conflict is
    /// an answer, not a failure). Each engine counts the errors of its
    /// driver as it converts them, except those of the queries made for the
    /// metrics: a scrape must not move the series it reports.
    pub(crate) fn counted(self) -> Self {
        match &self {
            StoreError::Unavailable(_) => count_error(UNAVAILABLE, 1),
            StoreError::Other(_) => count_error(OTHER, 1),
            StoreError::Conflict => {}
        }
        self
    }
}

/// Errors are rare: counted by name, not through a handle kept for them.
fn count_error(kind: &'static str, n: u64) {
    metrics::counter!(crate::telemetry::series::DATABASE_ERRORS, "kind" => kind).increment(n);
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
    /// The accounts whose stored email may not be in today's normal form,
    /// oldest first: every one with a character outside ASCII, an
    /// upper-case letter or an IDNA label (`xn--`). (A lower-case ASCII
    /// address without one is its own normal form.)
    async fn emails_to_recheck(&self) -> StoreResult<Vec<StoredEmail>>;
    /// Sets the account's email to `to` if it is still `from`; false when
    /// it is not, `Conflict` when another account has `to`.
    async fn rewrite_email(&self, id: AccountId, from: &Email, to: &Email) -> StoreResult<bool>;
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
        sign_out: &SessionSignOut,
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
    async fn stop_stream(&self, stop: &StreamStop) -> StoreResult<StopOutcome>;
    /// Streams that count against the plan now, oldest first.
    async fn live_streams(&self, account: AccountId, now: Millis)
        -> StoreResult<Vec<ActiveStream>>;
    /// Ends streams whose lease has lapsed (tidying; admission does not need it).
    async fn expire_leases(&self, now: Millis) -> StoreResult<Vec<EndedStream>>;
    /// Streams that hold a slot at `now`, in every account (for the
    /// metrics: a failure is not counted as a database error).
    async fn live_stream_count(&self, now: Millis) -> StoreResult<u64>;
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
    async fn switch_profile(&self, switch: &ProfileSwitch) -> StoreResult<SwitchOutcome>;
}

/// Token-signing keys. Nodes re-read them with every read of the
/// revocation log, so a change here reaches every node as a sign-out does.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// All signing keys, oldest first (by `created_at`, then `kid`).
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Adds `key` as the current one: every other key still signing is
    /// retired at `key.created_at`, in the same transaction.
    async fn add_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()>;
    /// Revokes a key, erasing its private part, and signs out
    /// (`key_revoked`) every active session that was issued a token in the
    /// revocation's window, each with its revocation-log row, in one
    /// transaction. `None` when there is no such key or it is revoked already.
    async fn revoke_signing_key(
        &self,
        revocation: &KeyRevocation,
    ) -> StoreResult<Option<Vec<RevokedSession>>>;
    /// Replaces a key's stored private part (a plain one sealed).
    async fn store_private_key(&self, kid: &str, key: &StoredPrivateKey) -> StoreResult<()>;
}

/// Keys the nodes share that sign no token (the sign-in form's CSRF key).
#[async_trait]
pub trait WebKeyStore: Send + Sync {
    /// The key called `name`: `candidate` becomes it unless one is stored
    /// already (another node's, or an earlier start's), which is returned.
    async fn web_key(&self, name: &str, candidate: &str, now: Millis) -> StoreResult<String>;
}

/// Proofs of earlier successful sign-ins handed to devices, by hash.
#[async_trait]
pub trait DeviceProofStore: Send + Sync {
    async fn insert_device_proof(&self, proof: &DeviceProofRecord) -> StoreResult<()>;
    /// The account a proof was handed to, unless it has expired by `now`.
    async fn device_proof_account(&self, hash: &str, now: Millis)
        -> StoreResult<Option<AccountId>>;
    /// Deletes proofs expired by `now`; how many.
    async fn prune_device_proofs(&self, now: Millis) -> StoreResult<u64>;
}

/// Everything usher keeps.
#[async_trait]
pub trait Store:
    AccountStore
    + SessionStore
    + StreamStore
    + ProfileStore
    + KeyStore
    + ActivityStore
    + DeviceProofStore
    + WebKeyStore
{
    /// A cheap round trip, for readiness.
    async fn ping(&self) -> StoreResult<()>;
    /// How busy the store's connections are now (for the metrics; no I/O).
    fn pool_use(&self) -> PoolUse;
    /// Short description for start-up logs (never includes credentials).
    fn describe(&self) -> String;
}

pub type SharedStore = Arc<dyn Store>;

/// Opens the store named by `url` (`sqlite://PATH` or `postgres://…`) and
/// brings its schema up to date. The one place outside the engines' folders
/// that names an engine: it is chosen once, here, and nothing asks later.
pub async fn open(url: &str) -> anyhow::Result<SharedStore> {
    // Shown at 0 from the start.
    count_error(UNAVAILABLE, 0);
    count_error(OTHER, 0);
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::open(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        postgres::PgStore::open_shared(url).await
    } else {
        anyhow::bail!("unsupported database URL (expected sqlite://PATH or postgres://…)")
    }
}
