//! Device proofs.

use async_trait::async_trait;

use super::rows::*;
use super::SqliteStore;
use crate::domain::*;
use crate::store::*;

#[async_trait]
impl DeviceProofStore for SqliteStore {
    async fn insert_device_proof(&self, proof: &DeviceProofRecord) -> StoreResult<()> {
        let p = proof.clone();
        self.writer
            .write(move |conn| {
                execute(
                    conn,
                    "INSERT INTO device_proofs (proof_hash, account_id, created_at, expires_at) \
                     VALUES (?1, ?2, ?3, ?4)",
                    (p.hash, p.account_id.to_string(), p.created_at, p.expires_at),
                )?;
                Ok(())
            })
            .await
    }

    async fn device_proof_account(
        &self,
        hash: &str,
        now: Millis,
    ) -> StoreResult<Option<AccountId>> {
        let hash = hash.to_owned();
        self.readers
            .read(move |conn| {
                fetch_optional(
                    conn,
                    "SELECT account_id FROM device_proofs WHERE proof_hash = ?1 AND expires_at > ?2",
                    (hash, now),
                    |row| parsed(row, "account_id"),
                )
            })
            .await
    }

    async fn prune_device_proofs(&self, now: Millis) -> StoreResult<u64> {
        self.writer
            .write(move |conn| {
                let n = execute(
                    conn,
                    "DELETE FROM device_proofs WHERE expires_at <= ?1",
                    [now],
                )?;
                Ok(n as u64)
            })
            .await
    }
}
