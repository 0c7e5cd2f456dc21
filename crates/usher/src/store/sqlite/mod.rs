//! The SQLite engine: the embedded default store, an SQLite file reached
//! through one driver, rusqlite.
//!
//! Every write transaction is one job on the writer thread (`writer.rs`):
//! one round trip per transaction, a savepoint per job, one commit per
//! batch, the answer after the commit. Reads run on a few read-only
//! connections, each on its own thread (`readers.rs`), so the async runtime
//! never blocks on SQLite and reads never queue behind writes.
//!
//! # Why it is exact
//!
//! All writes of the process run one after another on one thread, each
//! batch in a transaction that begins `IMMEDIATE`: it holds the file's write
//! lock before its first job reads, so another process writing the same file
//! (the `usher` CLI) waits for the commit, and no job ever reads state that
//! a concurrent writer could change before it commits. A transaction's
//! reads and writes are therefore atomic with respect to every other write,
//! and:
//!
//! - **Stream admission**: a start reads the session (still signed in, its
//!   profile), counts the account's live streams and inserts, in one job; no
//!   other start, stop, sign-out or profile lock can run in between, so the
//!   count the decision (`decide::refusal`) sees is the count the insert
//!   changes. A sign-out that comes later ends the new stream in its own job.
//! - **Profile limit**: `create_profile` counts and inserts in one job, so
//!   five is five however many requests race.
//! - **Revocation-log order**: `seq` is assigned at insert, and inserts are
//!   serial and committed in that order (a batch commits atomically), so a
//!   reader never sees `seq` n+1 before n: catching up by `seq` misses none.
//!
//! Leases are judged by the clock of the node deciding; a start first ends
//! the account's lapsed streams durably, and a heartbeat only extends a
//! stream that has not ended, so a lapsed lease is never renewed.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::*;

mod accounts;
mod activity;
mod checkpoint;
mod in_flight;
mod keys;
mod migrate;
mod permissions;
mod profiles;
mod proofs;
mod readers;
mod revocations;
mod rows;
mod sessions;
mod streams;
mod web_keys;
mod writer;

use readers::Readers;
use writer::Writer;

/// How long a connection waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQLite store: the writer thread and the readers, over one file.
pub struct SqliteStore {
    writer: Writer,
    readers: Readers,
    description: String,
}

impl SqliteStore {
    /// Opens (creating it and its directory if missing, both private to
    /// this user) the file of a `sqlite://PATH[?synchronous=normal|full]`
    /// URL and migrates it.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let (path, synchronous) = sqlite_target(url)?;
        // Opening and migrating is blocking file work.
        tokio::task::spawn_blocking(move || Self::open_blocking(path, synchronous)).await?
    }

    fn open_blocking(path: String, synchronous: Synchronous) -> anyhow::Result<Self> {
        permissions::secure(Path::new(&path))?;
        let mut conn = connect(&path, synchronous)?;
        migrate::run(&mut conn)?;
        let bulk = connect(&path, synchronous)?;
        let writer = Writer::start(conn, bulk)?;
        let readers = Readers::start(|| {
            let conn = Connection::open_with_flags(
                &path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.busy_timeout(BUSY_TIMEOUT)?;
            Ok(conn)
        })?;
        Ok(Self {
            writer,
            readers,
            description: format!("SQLite file {path}"),
        })
    }
}

/// How much a commit waits for the disk.
#[derive(Debug, Clone, Copy)]
enum Synchronous {
    /// In WAL mode NORMAL keeps every committed transaction across a crash
    /// of the process (kill -9); only an OS crash or power loss can lose
    /// the last ones.
    Normal,
    /// `?synchronous=full`: covers those too.
    Full,
}

impl Synchronous {
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

/// A read-write connection (creating the file), in WAL mode.
fn connect(path: &str, synchronous: Synchronous) -> anyhow::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", synchronous.pragma_value())?;
    // Deleted and overwritten content (a revoked key's private part, a
    // plain key once sealed) is zeroed, not left in free pages.
    conn.pragma_update(None, "secure_delete", "ON")?;
    Ok(conn)
}

impl From<rusqlite::Error> for StoreError {
    /// Classified, and counted in `usher_database_errors_total`.
    fn from(e: rusqlite::Error) -> Self {
        uncounted(e).counted()
    }
}

/// Busy, locked or unopenable is a database that may come back; a broken
/// uniqueness rule is a conflict; anything else is a bug. Not counted: for
/// the queries made for the metrics.
fn uncounted(e: rusqlite::Error) -> StoreError {
    let code = e.sqlite_error().map(|err| (err.code, err.extended_code));
    match code {
        Some((_, extended))
            if extended == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || extended == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            StoreError::Conflict
        }
        Some((ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::CannotOpen, _)) => {
            StoreError::Unavailable(e.into())
        }
        _ => StoreError::Other(e.into()),
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.readers
            .read(|conn| rows::fetch_value::<i64>(conn, "SELECT 1", []).map(|_| ()))
            .await
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    /// The reader threads and the writer, each holding its connection.
    fn pool_use(&self) -> PoolUse {
        let (reading, reads_waiting) = self.readers.use_now();
        let (writing, writes_waiting) = self.writer.use_now();
        let connections = readers::READERS as u32 + 1;
        PoolUse {
            open: connections,
            busy: reading + writing,
            max: connections,
            waiting: Some(reads_waiting + writes_waiting),
        }
    }
}

#[cfg(test)]
mod tests;
