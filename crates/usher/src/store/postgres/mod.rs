//! The PostgreSQL engine (cluster mode): every storage trait over one sqlx
//! `PgPool`. Several nodes share the database, so whatever must be ordered is
//! ordered by PostgreSQL's locks, never by a lock in the process.
//!
//! # Why stream admission is exact
//!
//! A start counts the account's live streams and inserts in one transaction,
//! and starts of one account never interleave. The transaction first locks
//! the account's row (`SELECT … FOR UPDATE`), so concurrent starts of one
//! account, on any number of nodes, queue on that lock; each statement after
//! it runs in READ COMMITTED with a fresh snapshot, so the count sees every
//! start and stop committed before the lock was granted. The device's session
//! row is locked next, and its state read under that lock: a sign-out (which
//! ends the session's stream in its own transaction) is either seen as done,
//! or waits until the start commits and then ends the new stream.
//!
//! Leases are judged by the clock of the node deciding. So that a node whose
//! clock runs behind cannot renew a lease another node already counted as
//! lapsed, a start first ends the account's lapsed streams durably; a
//! heartbeat only extends a stream that has not ended (see `streams.rs`).
//!
//! # Why the profile limit is exact
//!
//! Every profile write begins by locking the account's row, as a start does,
//! so profile writes and admissions of one account never interleave: the
//! count before an insert is the count at its commit, and a start either
//! commits before a PIN lock (and its stream is ended by it) or reads the
//! session's profile after it (and is refused). See `profiles.rs`.
//!
//! # Why the revocation log is read in order
//!
//! Nodes catch up from the log by `seq`, so entries must become visible in
//! `seq` order. PostgreSQL assigns sequence values at insert, not at commit:
//! two revoking transactions could commit out of order, and a node reading
//! in between would skip the earlier one for ever. A transaction-scoped
//! advisory lock, taken first (before any row lock, so no lock-order cycle is
//! possible), serialises log writers. See `revocations.rs`.
//!
//! Lock order, everywhere: the log's advisory lock, then the account row,
//! then session rows. The one exception, a reused refresh token, holds only
//! the token's row when it takes the advisory lock; no log writer ever waits
//! for a token row, so no cycle forms.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Postgres, Transaction};

use super::{SharedStore, Store, StoreResult};

mod accounts;
mod activity;
mod errors;
mod keys;
mod profiles;
mod proofs;
mod revocations;
mod rows;
mod sessions;
mod streams;
mod web_keys;

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A transaction on the pool.
type Tx = Transaction<'static, Postgres>;

/// The store on a PostgreSQL database.
pub struct PgStore {
    pool: PgPool,
    description: String,
}

impl PgStore {
    /// Connects to `postgres://…` (or `postgresql://…`) and runs migrations.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // While PostgreSQL is away, requests that need it wait this long
            // before answering 503 with Retry-After.
            .acquire_timeout(Duration::from_secs(2))
            .connect(url)
            .await?;
        MIGRATIONS.run(&pool).await?;
        Ok(Self {
            pool,
            description: format!("PostgreSQL {}", redact(url)),
        })
    }

    /// Opens the store as the service's shared handle.
    pub async fn open_shared(url: &str) -> anyhow::Result<SharedStore> {
        Ok(Arc::new(Self::open(url).await?))
    }

    async fn begin(&self) -> StoreResult<Tx> {
        Ok(self.pool.begin().await?)
    }
}

/// A database URL without its password, for logs.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "(unparseable URL)".into(),
    }
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    /// sqlx's pool tells how many connections are open and idle, not how
    /// many callers wait for one.
    fn pool_use(&self) -> crate::store::PoolUse {
        let open = self.pool.size();
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        crate::store::PoolUse {
            open,
            busy: open.saturating_sub(idle),
            max: self.pool.options().get_max_connections(),
            waiting: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn describes_the_url_without_its_password() {
        assert_eq!(
            redact("postgres://usher:s3cret@db.internal:5432/usher"),
            "postgres://usher:***@db.internal:5432/usher"
        );
        assert_eq!(
            redact("postgres://db.internal/usher"),
            "postgres://db.internal/usher"
        );
    }
}
