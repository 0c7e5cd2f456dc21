//! Profiles and their PIN locks. Every write begins by locking the account's
//! row, exactly as a stream start does, which is why the profile limit is
//! exact and a PIN lock and a start never interleave (the engine's doc in
//! `mod.rs`).

use async_trait::async_trait;
use sqlx::{PgConnection, Row};

use super::rows::*;
use super::PgStore;
use crate::domain::*;
use crate::store::*;

const PROFILE: &str = concat!(
    "SELECT ",
    profile_columns!(),
    " FROM profiles WHERE id = $1 AND account_id = $2"
);

const PROFILE_COUNT: &str = "SELECT COUNT(*) FROM profiles WHERE account_id = $1";

/// Locks the account's row; its "require PIN to add" flag, `None` when there
/// is no such account.
async fn lock_account(conn: &mut PgConnection, account: AccountId) -> StoreResult<Option<bool>> {
    let flag: Option<i64> = sqlx::query_scalar(
        "SELECT profile_add_requires_pin FROM accounts WHERE id = $1 FOR UPDATE",
    )
    .bind(account.to_string())
    .fetch_optional(conn)
    .await?;
    Ok(flag.map(|f| f != 0))
}

async fn profile_in(
    conn: &mut PgConnection,
    account: AccountId,
    id: ProfileId,
) -> StoreResult<Option<ProfileRecord>> {
    sqlx::query(PROFILE)
        .bind(id.to_string())
        .bind(account.to_string())
        .fetch_optional(conn)
        .await?
        .map(|r| profile_from_row(&r))
        .transpose()
}

async fn profile_count(conn: &mut PgConnection, account: AccountId) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(PROFILE_COUNT)
        .bind(account.to_string())
        .fetch_one(conn)
        .await?)
}

/// Sends every device on the profile back to the picker and ends the streams
/// playing on it.
async fn evict(
    conn: &mut PgConnection,
    account: AccountId,
    id: ProfileId,
    now: Millis,
) -> StoreResult<ProfileEviction> {
    let cleared = sqlx::query(
        "UPDATE sessions SET profile_id = NULL WHERE account_id = $1 AND profile_id = $2 \
         RETURNING id, revoked_at IS NOT NULL AS revoked",
    )
    .bind(account.to_string())
    .bind(id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut sessions = Vec::new();
    for row in &cleared {
        if !row.try_get::<bool, _>("revoked")? {
            sessions.push(row.parsed("id")?);
        }
    }
    let ended = sqlx::query(
        "UPDATE streams SET ended_at = $1, end_reason = 'profile_locked' \
         WHERE account_id = $2 AND profile_id = $3 AND ended_at IS NULL AND lease_expires_at > $1 \
         RETURNING id, session_id, account_id",
    )
    .bind(now)
    .bind(account.to_string())
    .bind(id.to_string())
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| ended_from_row(row, StreamEndReason::ProfileLocked))
    .collect::<StoreResult<_>>()?;
    Ok(ProfileEviction { sessions, ended })
}

#[async_trait]
impl ProfileStore for PgStore {
    async fn profiles(&self, account: AccountId) -> StoreResult<AccountProfiles> {
        let flag: Option<i64> =
            sqlx::query_scalar("SELECT profile_add_requires_pin FROM accounts WHERE id = $1")
                .bind(account.to_string())
                .fetch_optional(&self.pool)
                .await?;
        let profiles = sqlx::query(concat!(
            "SELECT ",
            profile_columns!(),
            " FROM profiles WHERE account_id = $1 ORDER BY is_default DESC, created_at, id"
        ))
        .bind(account.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(profile_from_row)
        .collect::<StoreResult<_>>()?;
        Ok(AccountProfiles {
            profiles,
            require_pin_to_add: flag.unwrap_or(0) != 0,
        })
    }

    async fn profile(
        &self,
        account: AccountId,
        id: ProfileId,
    ) -> StoreResult<Option<ProfileRecord>> {
        let mut conn = self.pool.acquire().await?;
        profile_in(&mut conn, account, id).await
    }

    async fn create_profile(
        &self,
        new: &NewProfile,
        limit: u32,
    ) -> StoreResult<CreateProfileOutcome> {
        let mut tx = self.begin().await?;
        if lock_account(&mut tx, new.account_id).await?.is_none() {
            return Err(corrupt("profile for a missing account"));
        }
        if profile_count(&mut tx, new.account_id).await? >= i64::from(limit) {
            return Ok(CreateProfileOutcome::LimitReached { limit });
        }
        let row = sqlx::query(concat!(
            "INSERT INTO profiles (id, account_id, name, pin_hash, is_default, created_at) \
             VALUES ($1, $2, $3, NULL, 0, $4) RETURNING ",
            profile_columns!()
        ))
        .bind(new.id.to_string())
        .bind(new.account_id.to_string())
        .bind(new.name.as_str())
        .bind(new.now)
        .fetch_one(&mut *tx)
        .await?;
        let record = profile_from_row(&row)?;
        tx.commit().await?;
        Ok(CreateProfileOutcome::Created(record))
    }

    async fn rename_profile(
        &self,
        account: AccountId,
        id: ProfileId,
        name: &ProfileName,
    ) -> StoreResult<Option<ProfileRecord>> {
        sqlx::query(concat!(
            "UPDATE profiles SET name = $1 WHERE id = $2 AND account_id = $3 RETURNING ",
            profile_columns!()
        ))
        .bind(name.as_str())
        .bind(id.to_string())
        .bind(account.to_string())
        .fetch_optional(&self.pool)
        .await?
        .map(|r| profile_from_row(&r))
        .transpose()
    }

    async fn delete_profile(
        &self,
        account: AccountId,
        id: ProfileId,
        now: Millis,
    ) -> StoreResult<DeleteProfileOutcome> {
        let mut tx = self.begin().await?;
        if lock_account(&mut tx, account).await?.is_none() {
            return Ok(DeleteProfileOutcome::NotFound);
        }
        let Some(profile) = profile_in(&mut tx, account, id).await? else {
            return Ok(DeleteProfileOutcome::NotFound);
        };
        if profile_count(&mut tx, account).await? <= 1 {
            return Ok(DeleteProfileOutcome::LastProfile);
        }
        if profile.is_default {
            return Ok(DeleteProfileOutcome::DefaultProfile);
        }
        let eviction = evict(&mut tx, account, id, now).await?;
        sqlx::query("DELETE FROM profiles WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(DeleteProfileOutcome::Deleted(profile, eviction))
    }

    async fn set_profile_pin(
        &self,
        change: &PinChange,
    ) -> StoreResult<Option<(ProfileRecord, ProfileEviction)>> {
        let (account, id, now) = (change.account, change.profile, change.now);
        let pin_hash = change.pin_hash.as_deref();
        let mut tx = self.begin().await?;
        if lock_account(&mut tx, account).await?.is_none() {
            return Ok(None);
        }
        let Some(row) = sqlx::query(concat!(
            "UPDATE profiles SET pin_hash = $1 WHERE id = $2 AND account_id = $3 RETURNING ",
            profile_columns!()
        ))
        .bind(pin_hash)
        .bind(id.to_string())
        .bind(account.to_string())
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        let profile = profile_from_row(&row)?;
        let eviction = if pin_hash.is_some() {
            evict(&mut tx, account, id, now).await?
        } else {
            if profile.is_default {
                // Nothing left to ask for: the setting would lock nobody out.
                sqlx::query("UPDATE accounts SET profile_add_requires_pin = 0 WHERE id = $1")
                    .bind(account.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
            ProfileEviction::default()
        };
        tx.commit().await?;
        Ok(Some((profile, eviction)))
    }

    async fn set_require_pin_to_add(&self, account: AccountId, on: bool) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        if lock_account(&mut tx, account).await?.is_none() {
            return Ok(false);
        }
        if on {
            let default_locked: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM profiles WHERE account_id = $1 \
                 AND is_default = 1 AND pin_hash IS NOT NULL)",
            )
            .bind(account.to_string())
            .fetch_one(&mut *tx)
            .await?;
            if !default_locked {
                return Ok(false);
            }
        }
        sqlx::query("UPDATE accounts SET profile_add_requires_pin = $1 WHERE id = $2")
            .bind(i64::from(on))
            .bind(account.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn switch_profile(&self, switch: &ProfileSwitch) -> StoreResult<SwitchOutcome> {
        let (account, session, id) = (switch.account, switch.session, switch.profile);
        let checked_pin_hash = switch.checked_pin_hash.as_deref();
        let mut tx = self.begin().await?;
        if lock_account(&mut tx, account).await?.is_none() {
            return Ok(SwitchOutcome::NotFound);
        }
        let Some(profile) = profile_in(&mut tx, account, id).await? else {
            return Ok(SwitchOutcome::NotFound);
        };
        if profile.pin_hash.as_deref() != checked_pin_hash {
            return Ok(SwitchOutcome::PinChanged);
        }
        let done = sqlx::query(
            "UPDATE sessions SET profile_id = $1 \
             WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL",
        )
        .bind(id.to_string())
        .bind(session.to_string())
        .bind(account.to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(SwitchOutcome::SessionEnded);
        }
        tx.commit().await?;
        Ok(SwitchOutcome::Switched(profile))
    }
}
