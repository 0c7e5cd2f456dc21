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
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher as _, SaltString};
use futures_util::{StreamExt, TryStreamExt};
use usher::auth::tokens::TokenService;
use usher::domain::{AccountId, DeviceInfo, DeviceType, Email, PlanName, SessionId};
use usher::store::{AccountRecord, CreateSessionOutcome, Credential, NewSession, SharedStore};

/// The seeded account's credentials; sign-ins through the API use them.
pub const EMAIL: &str = "bench@example.com";
pub const PASSWORD: &str = "bench: correct horse battery staple";
/// Must match the server's `issuer` (its default).
const ISSUER: &str = "usher";
/// Lifetime of the minted tokens: longer than any run.
const TOKEN_TTL_SECS: u64 = 3600;

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

/// Creates the account and `count` sessions in `<data_dir>/usher.db` (the
/// database `usher serve --data-dir <data_dir>` opens), `concurrency` at a time.
pub async fn seed(data_dir: &Path, count: usize, concurrency: usize) -> anyhow::Result<Seeded> {
    let started = Instant::now();
    let url = format!("sqlite://{}", data_dir.join("usher.db").display());
    let store: SharedStore = usher::store::open(&url).await?;
    let now = chrono::Utc::now().timestamp_millis();
    let account_id = AccountId::new();
    store
        .create_account(&AccountRecord {
            id: account_id,
            email: Email::parse(EMAIL).map_err(|e| anyhow::anyhow!("{e}"))?,
            password_hash: default_cost_hash(PASSWORD)?,
            plan: PlanName("basic".into()),
            created_at: now,
        })
        .await
        .context("creating the bench account")?;
    let tokens =
        Arc::new(TokenService::load(Arc::clone(&store), ISSUER.into(), TOKEN_TTL_SECS, now).await?);
    // The server's default plans: the seeded account is on `basic`.
    let plans = usher::Config::default().plans();
    let sessions: Vec<SeededSession> = futures_util::stream::iter(0..count)
        .map(|i| {
            let plans = &plans;
            let store = Arc::clone(&store);
            let tokens = Arc::clone(&tokens);
            async move {
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
                    now,
                };
                match store.create_session(&session, plans).await? {
                    CreateSessionOutcome::Created => {}
                    CreateSessionOutcome::DeviceLimitReached { limit, .. } => {
                        anyhow::bail!("the default plan caps devices at {limit}")
                    }
                }
                let issued = tokens.issue(session.id, account_id, now)?;
                anyhow::Ok(SeededSession {
                    id: session.id,
                    access_token: issued.token,
                })
            }
        })
        .buffered(concurrency.max(1))
        .try_collect()
        .await?;
    Ok(Seeded {
        sessions,
        took: started.elapsed(),
    })
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
