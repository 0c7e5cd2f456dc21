//! Device proofs.

use async_trait::async_trait;

use super::rows::*;
use super::PgStore;
use crate::domain::*;
use crate::store::*;

#[async_trait]
impl DeviceProofStore for PgStore {
    async fn insert_device_proof(&self, p: &DeviceProofRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO device_proofs (proof_hash, account_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&p.hash)
        .bind(p.account_id.to_string())
        .bind(p.created_at)
        .bind(p.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn device_proof_account(
        &self,
        hash: &str,
        now: Millis,
    ) -> StoreResult<Option<AccountId>> {
        sqlx::query(
            "SELECT account_id FROM device_proofs WHERE proof_hash = $1 AND expires_at > $2",
        )
        .bind(hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?
        .map(|row| row.parsed("account_id"))
        .transpose()
    }

    async fn prune_device_proofs(&self, now: Millis) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM device_proofs WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
