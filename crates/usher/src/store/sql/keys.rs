//! Token-signing keys in SQLite.

use async_trait::async_trait;
use sqlx::Row;

use super::rows::*;
use super::SqlStore;
use crate::store::*;

#[async_trait]
impl KeyStore for SqlStore {
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        let rows = sqlx::query(
            "SELECT kid, private_der, created_at FROM signing_keys ORDER BY created_at, kid",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(classify)?;
        rows.iter()
            .map(|r| {
                Ok(SigningKeyRecord {
                    kid: r.try_get("kid").map_err(classify)?,
                    private_der: r.try_get("private_der").map_err(classify)?,
                    created_at: r.try_get("created_at").map_err(classify)?,
                })
            })
            .collect()
    }

    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
        let _lock = self.write_lock().await?;
        sqlx::query("INSERT INTO signing_keys (kid, private_der, created_at) VALUES ($1, $2, $3)")
            .bind(&key.kid)
            .bind(&key.private_der)
            .bind(key.created_at)
            .execute(&self.writer)
            .await
            .map_err(classify)?;
        Ok(())
    }
}
