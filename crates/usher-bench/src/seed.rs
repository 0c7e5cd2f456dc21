//! Signed-in sessions written straight into a fresh store through usher's
//! library, before the server starts: one account, N sessions, and an access
//! token for each, minted with the signing key the server will find in the
//! store. This skips one Argon2 verification per session (about 28 ms of a
//! core each here), which would make seeding 100,000 sessions take 45 minutes.
//!
//! Sessions are written a few at a time, but that hardly helps: the SQLite
//! store has one writer connection, so writes are serial (measured: 10,000
//! sessions in 1.8 s one at a time and in 1.9 s 64 at a time; 100,000 in
//! 20-35 s). Signing their tokens overlaps with the writes.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher as _, SaltString};
use futures_util::{StreamExt, TryStreamExt};
use usher::auth::tokens::{TokenService, TokenSettings};
use usher::domain::{AccountId, DeviceInfo, DeviceType, Email, PlanName, Plans, SessionId};
use usher::store::{AccountRecord, CreateSessionOutcome, Credential, NewSession, SharedStore};

/// The seeded account's credentials; sign-ins through the API use them.
/// The password passes the policy (it may not contain the email's "bench").
pub const EMAIL: &str = "bench@example.com";
pub const PASSWORD: &str = "seeded load: correct horse battery staple";
/// Must match the server's `issuer` (its default).
const ISSUER: &str = "usher";
/// Lifetime of the minted tokens: longer than any run.
pub const TOKEN_TTL_SECS: u64 = 3600;

pub struct SeededSession {
    pub id: SessionId,
    pub access_token: String,
}

pub struct Seeded {
    pub sessions: Vec<SeededSession>,
    /// Wall time of the whole seeding (account, sessions, tokens).
    pub took: Duration,
}

impl Seeded {
    pub fn tokens(&self) -> Vec<String> {
        self.sessions
            .iter()
            .map(|s| s.access_token.clone())
            .collect()
    }
}

/// The SQLite URL of the database `usher serve --data-dir <data_dir>` opens.
pub fn sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("usher.db").display())
}

/// Creates the account and `count` sessions in `<data_dir>/usher.db` (the
/// database `usher serve --data-dir <data_dir>` opens), `concurrency` at a time.
pub async fn seed(data_dir: &Path, count: usize, concurrency: usize) -> anyhow::Result<Seeded> {
    seed_url(&sqlite_url(data_dir), count, concurrency).await
}

/// As [`seed`], into the store at `url` (`sqlite://…` or `postgres://…`).
pub async fn seed_url(url: &str, count: usize, concurrency: usize) -> anyhow::Result<Seeded> {
    let started = Instant::now();
    let seeder = Seeder::open(url).await?;
    // The server's default plans: the seeded account is on `basic`.
    let account_id = seeder.account(EMAIL, "basic").await?;
    let sessions = seeder.sessions(account_id, count, concurrency).await?;
    Ok(Seeded {
        sessions,
        took: started.elapsed(),
    })
}

/// Writes accounts and signed-in sessions into a store, minting each
/// session's access token with the key the server will find there.
pub struct Seeder {
    store: SharedStore,
    tokens: Arc<TokenService>,
    plans: Plans,
    /// One Argon2id hash of [`PASSWORD`] shared by every account: computing
    /// one per account would cost ~28 ms each.
    password_hash: String,
    now: i64,
    /// Numbers device names and refresh-token hashes, unique across accounts.
    next_device: AtomicUsize,
}

impl Seeder {
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let store: SharedStore = usher::store::open(url).await?;
        let now = chrono::Utc::now().timestamp_millis();
        // The benchmarks' own database: its keys are not encrypted.
        let settings = TokenSettings {
            issuer: ISSUER.into(),
            ttl_secs: TOKEN_TTL_SECS,
            kek: None,
        };
        let tokens = Arc::new(TokenService::load(Arc::clone(&store), settings, now).await?);
        Ok(Self {
            store,
            tokens,
            plans: usher::Config::default().plans(),
            password_hash: default_cost_hash(PASSWORD)?,
            now,
            next_device: AtomicUsize::new(0),
        })
    }

    /// The server's default plans (what the seeded accounts are judged by).
    pub fn plans(&self) -> &Plans {
        &self.plans
    }

    /// Creates an account with [`PASSWORD`] on `plan`.
    pub async fn account(&self, email: &str, plan: &str) -> anyhow::Result<AccountId> {
        let id = AccountId::new();
        self.store
            .create_account(&AccountRecord {
                id,
                email: Email::parse(email).map_err(|e| anyhow::anyhow!("{e}"))?,
                password_hash: self.password_hash.clone(),
                plan: PlanName(plan.into()),
                created_at: self.now,
            })
            .await
            .with_context(|| format!("creating the bench account {email}"))?;
        Ok(id)
    }

    /// Signs `count` TVs in to the account, `concurrency` at a time.
    pub async fn sessions(
        &self,
        account_id: AccountId,
        count: usize,
        concurrency: usize,
    ) -> anyhow::Result<Vec<SeededSession>> {
        futures_util::stream::iter(0..count)
            .map(|_| self.session(account_id))
            .buffered(concurrency.max(1))
            .try_collect()
            .await
    }

    async fn session(&self, account_id: AccountId) -> anyhow::Result<SeededSession> {
        let i = self.next_device.fetch_add(1, Ordering::Relaxed);
        let session = NewSession {
            id: SessionId::new(),
            account_id,
            device: DeviceInfo::parse(
                &format!("Bench TV {i:06}"),
                DeviceType::Tv,
                Some("bench"),
                Some("1.0"),
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?,
            ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            // Any unique hex will do: these refresh tokens are never presented.
            credential: Credential::RefreshToken {
                hash: format!("{i:064x}"),
            },
            now: self.now,
        };
        match self.store.create_session(&session, &self.plans).await? {
            CreateSessionOutcome::Created => {}
            CreateSessionOutcome::DeviceLimitReached { limit, .. } => {
                anyhow::bail!("the plan caps devices at {limit}")
            }
        }
        let issued = self.tokens.issue(session.id, account_id, self.now)?;
        Ok(SeededSession {
            id: session.id,
            access_token: issued.token,
        })
    }
}

/// The body of `POST /v1/sessions` signing a phone in to the seeded account.
pub fn sign_in_body(device_name: &str) -> serde_json::Value {
    serde_json::json!({
        "email": EMAIL,
        "password": PASSWORD,
        "device": { "name": device_name, "type": "phone" },
    })
}

/// An Argon2id PHC string at usher's default cost (m=19456 KiB, t=2, p=1),
/// so that sign-ins through the API pay exactly what production pays.
fn default_cost_hash(password: &str) -> anyhow::Result<String> {
    let params = argon2::Params::new(19 * 1024, 2, 1, None).map_err(|e| anyhow::anyhow!("{e}"))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .to_string())
}

#[cfg(test)]
mod tests {
    use usher::domain::{Email, NewPassword};

    #[test]
    fn the_seeded_password_passes_the_policy() {
        let email = Email::parse(super::EMAIL).expect("a valid address");
        assert!(NewPassword::parse(super::PASSWORD.to_owned(), &email).is_ok());
    }
}
