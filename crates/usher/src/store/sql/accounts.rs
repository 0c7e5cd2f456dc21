//! Accounts.

use async_trait::async_trait;

use super::rows::*;
use super::SqlStore;
use crate::domain::*;
use crate::store::*;

#[async_trait]
impl AccountStore for SqlStore {
    async fn create_account(&self, a: &AccountRecord) -> StoreResult<()> {
        // An account always has its default profile: created together.
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO accounts (id, email, password_hash, plan, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(a.id.to_string())
        .bind(a.email.as_str())
        .bind(&a.password_hash)
        .bind(a.plan.as_str())
        .bind(a.created_at)
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
        sqlx::query(
            "INSERT INTO profiles (id, account_id, name, pin_hash, is_default, created_at) \
             VALUES ($1, $2, $3, NULL, 1, $4)",
        )
        .bind(ProfileId::new().to_string())
        .bind(a.id.to_string())
        .bind(ProfileName::first_for(&a.email).as_str())
        .bind(a.created_at)
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
        tx.commit().await.map_err(classify)?;
        Ok(())
    }

    async fn account(&self, id: AccountId) -> StoreResult<Option<AccountRecord>> {
        sqlx::query("SELECT * FROM accounts WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await
            .map_err(classify)?
            .map(|r| account_from_row(&r))
            .transpose()
    }

    async fn account_by_email(&self, email: &Email) -> StoreResult<Option<AccountRecord>> {
        sqlx::query("SELECT * FROM accounts WHERE email = $1")
            .bind(email.as_str())
            .fetch_optional(&self.reader)
            .await
            .map_err(classify)?
            .map(|r| account_from_row(&r))
            .transpose()
    }

    async fn set_plan(&self, id: AccountId, plan: &PlanName) -> StoreResult<bool> {
        let _lock = self.write_lock().await?;
        let done = sqlx::query("UPDATE accounts SET plan = $1 WHERE id = $2")
            .bind(plan.as_str())
            .bind(id.to_string())
            .execute(&self.writer)
            .await
            .map_err(classify)?;
        Ok(done.rows_affected() == 1)
    }

    async fn change_password(
        &self,
        id: AccountId,
        new_hash: &str,
        revoke: bool,
        now: Millis,
    ) -> StoreResult<Vec<RevokedSession>> {
        let mut tx = self.begin_revoking().await?;
        sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2")
            .bind(new_hash)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        let revoked = if revoke {
            revoke_all_in(&mut tx, id, None, SignOutReason::PasswordChanged, now).await?
        } else {
            Vec::new()
        };
        tx.commit().await.map_err(classify)?;
        Ok(revoked)
    }
}
