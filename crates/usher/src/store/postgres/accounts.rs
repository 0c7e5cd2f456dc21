//! Accounts, each created with its default profile.

use async_trait::async_trait;
use sqlx::Row;

use super::revocations::revoke_all;
use super::rows::*;
use super::PgStore;
use crate::domain::*;
use crate::store::*;

#[async_trait]
impl AccountStore for PgStore {
    async fn create_account(&self, a: &AccountRecord) -> StoreResult<()> {
        // An account always has its default profile: created together.
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO accounts (id, email, password_hash, plan, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(a.id.to_string())
        .bind(a.email.as_str())
        .bind(&a.password_hash)
        .bind(a.plan.as_str())
        .bind(a.created_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO profiles (id, account_id, name, pin_hash, is_default, created_at) \
             VALUES ($1, $2, $3, NULL, 1, $4)",
        )
        .bind(ProfileId::new().to_string())
        .bind(a.id.to_string())
        .bind(ProfileName::first_for(&a.email).as_str())
        .bind(a.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn account(&self, id: AccountId) -> StoreResult<Option<AccountRecord>> {
        sqlx::query("SELECT * FROM accounts WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .map(|r| account_from_row(&r))
            .transpose()
    }

    async fn account_by_email(&self, email: &Email) -> StoreResult<Option<AccountRecord>> {
        sqlx::query("SELECT * FROM accounts WHERE email = $1")
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await?
            .map(|r| account_from_row(&r))
            .transpose()
    }

    async fn set_plan(&self, id: AccountId, plan: &PlanName) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE accounts SET plan = $1 WHERE id = $2")
            .bind(plan.as_str())
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn change_password(&self, change: &PasswordChange) -> StoreResult<Vec<RevokedSession>> {
        let (id, revoke, now) = (change.account, change.sign_out, change.now);
        let new_hash = change.new_hash.as_str();
        let mut tx = self.begin_revoking().await?;
        sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2")
            .bind(new_hash)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        let revoked = if revoke {
            revoke_all(&mut tx, id, None, SignOutReason::PasswordChanged, now).await?
        } else {
            Vec::new()
        };
        tx.commit().await?;
        Ok(revoked)
    }

    async fn emails_to_recheck(&self) -> StoreResult<Vec<StoredEmail>> {
        // Non-ASCII (more bytes than characters), upper case, or an IDNA label.
        sqlx::query(
            "SELECT id, email FROM accounts \
             WHERE octet_length(email) <> char_length(email) \
                OR email <> lower(email) \
                OR lower(email) LIKE '%xn--%' \
             ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(StoredEmail {
                account: row.parsed("id")?,
                email: Email::from_stored(row.try_get("email")?),
            })
        })
        .collect()
    }

    async fn rewrite_email(&self, id: AccountId, from: &Email, to: &Email) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE accounts SET email = $1 WHERE id = $2 AND email = $3")
            .bind(to.as_str())
            .bind(id.to_string())
            .bind(from.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
