//! Profiles and their PIN locks. Every write is one writer job, so a
//! profile write and the stream starts of the same account never
//! interleave: the profile count is exact, and a start either committed
//! before a lock (and its stream is ended by it) or reads the session's
//! profile after it (and is refused).

use std::sync::LazyLock;

use async_trait::async_trait;
use rusqlite::Connection;

use super::rows::*;
use super::SqliteStore;
use crate::domain::*;
use crate::store::*;

static PROFILE_BY_ID: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {PROFILE_COLUMNS} FROM profiles WHERE id = ?1 AND account_id = ?2")
});

static ACCOUNT_PROFILES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {PROFILE_COLUMNS} FROM profiles WHERE account_id = ?1 \
         ORDER BY is_default DESC, created_at, id"
    )
});

static INSERT_PROFILE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO profiles (id, account_id, name, pin_hash, is_default, created_at) \
         VALUES (?1, ?2, ?3, NULL, 0, ?4) RETURNING {PROFILE_COLUMNS}"
    )
});

static RENAME_PROFILE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE profiles SET name = ?1 WHERE id = ?2 AND account_id = ?3 \
         RETURNING {PROFILE_COLUMNS}"
    )
});

static SET_PIN: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE profiles SET pin_hash = ?1 WHERE id = ?2 AND account_id = ?3 \
         RETURNING {PROFILE_COLUMNS}"
    )
});

const COUNT_PROFILES: &str = "SELECT COUNT(*) FROM profiles WHERE account_id = ?1";

/// The account's "require PIN to add" flag; `None` when there is no such account.
fn require_pin_flag(conn: &Connection, account: &str) -> StoreResult<Option<bool>> {
    fetch_optional(
        conn,
        "SELECT profile_add_requires_pin FROM accounts WHERE id = ?1",
        [account],
        |row| Ok(get::<i64>(row, "profile_add_requires_pin")? != 0),
    )
}

fn profile(conn: &Connection, account: &str, id: &str) -> StoreResult<Option<ProfileRecord>> {
    fetch_optional(conn, &PROFILE_BY_ID, [id, account], profile_from_row)
}

/// Sends every device on the profile back to the picker and ends the
/// streams playing on it.
fn evict(conn: &Connection, account: &str, id: &str, now: Millis) -> StoreResult<ProfileEviction> {
    let cleared: Vec<(SessionId, bool)> = fetch_all(
        conn,
        "UPDATE sessions SET profile_id = NULL WHERE account_id = ?1 AND profile_id = ?2 \
         RETURNING id, revoked_at",
        [account, id],
        |row| {
            Ok((
                parsed(row, "id")?,
                get::<Option<i64>>(row, "revoked_at")?.is_some(),
            ))
        },
    )?;
    let sessions = cleared
        .into_iter()
        .filter(|(_, revoked)| !revoked)
        .map(|(id, _)| id)
        .collect();
    let ended = fetch_all(
        conn,
        "UPDATE streams SET ended_at = ?1, end_reason = 'profile_locked' \
         WHERE account_id = ?2 AND profile_id = ?3 AND ended_at IS NULL AND lease_expires_at > ?1 \
         RETURNING id, session_id, account_id",
        (now, account, id),
        |row| ended_from_row(row, StreamEndReason::ProfileLocked),
    )?;
    Ok(ProfileEviction { sessions, ended })
}

fn create(conn: &Connection, new: &NewProfile, limit: u32) -> StoreResult<CreateProfileOutcome> {
    let account = new.account_id.to_string();
    if require_pin_flag(conn, &account)?.is_none() {
        return Err(corrupt("profile for a missing account"));
    }
    let count: i64 = fetch_value(conn, COUNT_PROFILES, [&account])?;
    if count >= i64::from(limit) {
        return Ok(CreateProfileOutcome::LimitReached { limit });
    }
    let record = fetch_optional(
        conn,
        &INSERT_PROFILE,
        (new.id.to_string(), &account, new.name.as_str(), new.now),
        profile_from_row,
    )?
    .ok_or_else(|| corrupt("an insert returned nothing"))?;
    Ok(CreateProfileOutcome::Created(record))
}

fn delete(
    conn: &Connection,
    account: AccountId,
    id: ProfileId,
    now: Millis,
) -> StoreResult<DeleteProfileOutcome> {
    let (account, id) = (account.to_string(), id.to_string());
    let Some(found) = profile(conn, &account, &id)? else {
        return Ok(DeleteProfileOutcome::NotFound);
    };
    let count: i64 = fetch_value(conn, COUNT_PROFILES, [&account])?;
    if count <= 1 {
        return Ok(DeleteProfileOutcome::LastProfile);
    }
    if found.is_default {
        return Ok(DeleteProfileOutcome::DefaultProfile);
    }
    let eviction = evict(conn, &account, &id, now)?;
    execute(conn, "DELETE FROM profiles WHERE id = ?1", [&id])?;
    Ok(DeleteProfileOutcome::Deleted(found, eviction))
}

fn set_pin(
    conn: &Connection,
    account: AccountId,
    id: ProfileId,
    pin_hash: Option<&str>,
    now: Millis,
) -> StoreResult<Option<(ProfileRecord, ProfileEviction)>> {
    let (account, id) = (account.to_string(), id.to_string());
    let updated = fetch_optional(conn, &SET_PIN, (pin_hash, &id, &account), profile_from_row)?;
    let Some(profile) = updated else {
        return Ok(None);
    };
    let eviction = if pin_hash.is_some() {
        evict(conn, &account, &id, now)?
    } else {
        if profile.is_default {
            // Nothing left to ask for: the setting would lock nobody out.
            execute(
                conn,
                "UPDATE accounts SET profile_add_requires_pin = 0 WHERE id = ?1",
                [&account],
            )?;
        }
        ProfileEviction::default()
    };
    Ok(Some((profile, eviction)))
}

fn set_require_pin(conn: &Connection, account: AccountId, on: bool) -> StoreResult<bool> {
    let account = account.to_string();
    if require_pin_flag(conn, &account)?.is_none() {
        return Ok(false);
    }
    if on {
        let locked = fetch_optional(
            conn,
            "SELECT 1 FROM profiles WHERE account_id = ?1 AND is_default = 1 \
             AND pin_hash IS NOT NULL",
            [&account],
            |_| Ok(()),
        )?;
        if locked.is_none() {
            return Ok(false);
        }
    }
    execute(
        conn,
        "UPDATE accounts SET profile_add_requires_pin = ?1 WHERE id = ?2",
        (i64::from(on), &account),
    )?;
    Ok(true)
}

fn switch(
    conn: &Connection,
    account: AccountId,
    session: SessionId,
    id: ProfileId,
    checked_pin_hash: Option<&str>,
) -> StoreResult<SwitchOutcome> {
    let (account, id) = (account.to_string(), id.to_string());
    let Some(found) = profile(conn, &account, &id)? else {
        return Ok(SwitchOutcome::NotFound);
    };
    if found.pin_hash.as_deref() != checked_pin_hash {
        return Ok(SwitchOutcome::PinChanged);
    }
    let done = execute(
        conn,
        "UPDATE sessions SET profile_id = ?1 \
         WHERE id = ?2 AND account_id = ?3 AND revoked_at IS NULL",
        (&id, session.to_string(), &account),
    )?;
    if done == 0 {
        return Ok(SwitchOutcome::SessionEnded);
    }
    Ok(SwitchOutcome::Switched(found))
}

#[async_trait]
impl ProfileStore for SqliteStore {
    async fn profiles(&self, account: AccountId) -> StoreResult<AccountProfiles> {
        self.readers
            .read(move |conn| {
                let account = account.to_string();
                let flag = require_pin_flag(conn, &account)?;
                let profiles = fetch_all(conn, &ACCOUNT_PROFILES, [&account], profile_from_row)?;
                Ok(AccountProfiles {
                    profiles,
                    require_pin_to_add: flag.unwrap_or(false),
                })
            })
            .await
    }

    async fn profile(
        &self,
        account: AccountId,
        id: ProfileId,
    ) -> StoreResult<Option<ProfileRecord>> {
        self.readers
            .read(move |conn| profile(conn, &account.to_string(), &id.to_string()))
            .await
    }

    async fn create_profile(
        &self,
        new: &NewProfile,
        limit: u32,
    ) -> StoreResult<CreateProfileOutcome> {
        let new = new.clone();
        self.writer
            .write(move |conn| create(conn, &new, limit))
            .await
    }

    async fn rename_profile(
        &self,
        account: AccountId,
        id: ProfileId,
        name: &ProfileName,
    ) -> StoreResult<Option<ProfileRecord>> {
        let name = name.as_str().to_owned();
        self.writer
            .write(move |conn| {
                fetch_optional(
                    conn,
                    &RENAME_PROFILE,
                    (name, id.to_string(), account.to_string()),
                    profile_from_row,
                )
            })
            .await
    }

    async fn delete_profile(
        &self,
        account: AccountId,
        id: ProfileId,
        now: Millis,
    ) -> StoreResult<DeleteProfileOutcome> {
        self.writer
            .write(move |conn| delete(conn, account, id, now))
            .await
    }

    async fn set_profile_pin(
        &self,
        change: &PinChange,
    ) -> StoreResult<Option<(ProfileRecord, ProfileEviction)>> {
        let (account, id, now) = (change.account, change.profile, change.now);
        let pin_hash = change.pin_hash.as_deref();
        let pin_hash = pin_hash.map(str::to_owned);
        self.writer
            .write(move |conn| set_pin(conn, account, id, pin_hash.as_deref(), now))
            .await
    }

    async fn set_require_pin_to_add(&self, account: AccountId, on: bool) -> StoreResult<bool> {
        self.writer
            .write(move |conn| set_require_pin(conn, account, on))
            .await
    }

    async fn switch_profile(&self, asked: &ProfileSwitch) -> StoreResult<SwitchOutcome> {
        let (account, session, id) = (asked.account, asked.session, asked.profile);
        let checked_pin_hash = asked.checked_pin_hash.as_deref();
        let checked = checked_pin_hash.map(str::to_owned);
        self.writer
            .write(move |conn| switch(conn, account, session, id, checked.as_deref()))
            .await
    }
}
