//! Token-signing keys.

use async_trait::async_trait;
use sqlx::Row;

use super::PgStore;
use crate::store::*;

#[async_trait]
impl KeyStore for PgStore {
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        sqlx::query(
            "SELECT kid, private_der, created_at FROM signing_keys ORDER BY created_at, kid",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(SigningKeyRecord {
                kid: r.try_get("kid")?,
                private_der: r.try_get("private_der")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
    }

    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
        sqlx::query("INSERT INTO signing_keys (kid, private_der, created_at) VALUES ($1, $2, $3)")
            .bind(&key.kid)
            .bind(&key.private_der)
            .bind(key.created_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
