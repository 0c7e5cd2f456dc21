//! The SQL store, one implementation for both engines: an SQLite file (the
//! embedded default) or PostgreSQL (cluster mode), through sqlx's `Any`
//! driver. The statements are written in the SQL both engines share (`$N`
//! parameters, `RETURNING`, partial indexes); the few differences are in
//! [`Dialect`] and in each engine's migrations.
//!
//! SQLite: writes are serial, one transaction at a time (SQLite has one
//! writer anyway; serialising in the process avoids `SQLITE_BUSY` retries).
//! The hot ones (streams, activity history, last-active updates) run as jobs
//! on the writer thread, with group commit (`direct.rs`); the rest on sqlx's
//! one writer connection, each first pausing the writer thread. Reads use a
//! small read-only pool so they never queue behind writes. PostgreSQL: one pool; the statements that must
//! serialise per account take row locks (see `streams.rs`).

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use sqlx::{Any, AnyConnection, Executor, Transaction};

use super::*;

mod accounts;
mod activity;
mod direct;
mod keys;
mod profiles;
mod rows;
mod sessions;
mod streams;

use rows::classify;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// What differs between the engines at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Row-lock suffix for a `SELECT` whose rows the transaction will change
    /// or whose state it depends on. SQLite needs none: its write
    /// transactions are serial (see `direct.rs`).
    pub(crate) fn for_update(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }

    /// Row-lock suffix for a `SELECT` that claims work several nodes share:
    /// rows another transaction holds are skipped rather than waited for.
    pub(crate) fn skip_locked(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }
}

pub struct SqlStore {
    writer: AnyPool,
    reader: AnyPool,
    /// SQLite only: the writer thread, which is also the write lock.
    direct: Option<direct::Direct>,
    dialect: Dialect,
    description: String,
}

impl SqlStore {
    /// Connects to `sqlite://PATH` or `postgres://…` and runs migrations.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        if url.starts_with("sqlite:") {
            Self::open_sqlite(url).await
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Self::open_postgres(url).await
        } else {
            anyhow::bail!("unsupported database URL (expected sqlite://PATH or postgres://…)")
        }
    }

    async fn open_sqlite(url: &str) -> anyhow::Result<Self> {
        let (path, synchronous) = sqlite_target(url)?;
        let pragmas = synchronous.pragmas();
        if let Some(dir) = std::path::Path::new(&path).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)?;
            }
        }
        let writer = AnyPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    for pragma in pragmas {
                        conn.execute(*pragma).await?;
                    }
                    Ok(())
                })
            })
            .connect(&format!("sqlite://{path}?mode=rwc"))
            .await?;
        SQLITE_MIGRATIONS.run(&writer).await?;
        let reader = AnyPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(10))
            .connect(&format!("sqlite://{path}?mode=ro"))
            .await?;
        let direct = direct::Direct::open(&path, synchronous)?;
        Ok(Self {
            writer,
            reader,
            direct: Some(direct),
            dialect: Dialect::Sqlite,
            description: format!("SQLite file {path}"),
        })
    }

    async fn open_postgres(url: &str) -> anyhow::Result<Self> {
        let pool = AnyPoolOptions::new()
            .max_connections(16)
            // While PostgreSQL is away, requests that need it wait this long
            // before answering 503 with Retry-After.
            .acquire_timeout(Duration::from_secs(2))
            .connect(url)
            .await?;
        POSTGRES_MIGRATIONS.run(&pool).await?;
        Ok(Self {
            reader: pool.clone(),
            writer: pool,
            direct: None,
            dialect: Dialect::Postgres,
            description: format!("PostgreSQL {}", redact(url)),
        })
    }

    /// On SQLite, the store's write lock (see `direct.rs`); on PostgreSQL
    /// nothing, row locks order what must be ordered.
    async fn write_lock(&self) -> StoreResult<Option<direct::WriteLock>> {
        match &self.direct {
            Some(direct) => Ok(Some(direct.lock().await?)),
            None => Ok(None),
        }
    }

    /// Begins a write transaction on sqlx's writer, under the write lock.
    async fn begin(&self) -> StoreResult<WriteTx> {
        let lock = self.write_lock().await?;
        let tx = self.writer.begin().await.map_err(classify)?;
        Ok(WriteTx { tx, _lock: lock })
    }

    /// Begins a transaction that will append to the revocation log.
    ///
    /// Nodes catch up from the log by `seq`, so entries must become visible in
    /// `seq` order. PostgreSQL assigns sequence values at insert, not at
    /// commit: two revoking transactions could commit out of order and a node
    /// reading in between would skip the earlier one for ever. A
    /// transaction-scoped advisory lock, taken first (before any row lock, so
    /// no lock-order cycle is possible), serialises log writers. SQLite's
    /// serial writes already do.
    async fn begin_revoking(&self) -> StoreResult<WriteTx> {
        let mut tx = self.begin().await?;
        self.lock_revocation_log(&mut tx).await?;
        Ok(tx)
    }

    /// Takes the revocation-log lock (see [`Self::begin_revoking`]) in a
    /// transaction that holds no row lock a revoking transaction could want.
    async fn lock_revocation_log(&self, tx: &mut WriteTx) -> StoreResult<()> {
        if self.dialect == Dialect::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(7261001)")
                .execute(&mut **tx)
                .await
                .map_err(classify)?;
        }
        Ok(())
    }
}

/// A write transaction on sqlx's writer connection. On SQLite it holds the
/// store's write lock until it commits or is dropped (after the transaction,
/// which is declared first, so it is rolled back first).
pub(crate) struct WriteTx {
    tx: Transaction<'static, Any>,
    _lock: Option<direct::WriteLock>,
}

impl WriteTx {
    async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

#[derive(Debug, Clone, Copy)]
enum Synchronous {
    Normal,
    Full,
}

impl Synchronous {
    /// The writer's pragmas. In WAL mode NORMAL keeps every committed
    /// transaction across a crash of the process (kill -9); only an OS crash
    /// or power loss can lose the last ones. `?synchronous=full` in the URL
    /// covers those too.
    fn pragmas(self) -> &'static [&'static str] {
        match self {
            Synchronous::Normal => &["PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL"],
            Synchronous::Full => &["PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL"],
        }
    }

    fn pragma_value(self) -> &'static str {
        match self {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        }
    }
}

/// The file path of an SQLite URL and its durability setting.
fn sqlite_target(url: &str) -> anyhow::Result<(String, Synchronous)> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() {
        anyhow::bail!("the SQLite URL names no file");
    }
    let mut synchronous = Synchronous::Normal;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair {
            "synchronous=normal" => synchronous = Synchronous::Normal,
            "synchronous=full" => synchronous = Synchronous::Full,
            other => anyhow::bail!(
                "unsupported SQLite URL parameter {other:?} (only synchronous=normal|full)"
            ),
        }
    }
    Ok((path.to_owned(), synchronous))
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
impl Store for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(classify)?;
        Ok(())
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}
