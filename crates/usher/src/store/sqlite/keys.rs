//! Token-signing keys.

use async_trait::async_trait;

use super::rows::*;
use super::SqliteStore;
use crate::store::*;

#[async_trait]
impl KeyStore for SqliteStore {
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        self.readers
            .read(|conn| {
                fetch_all(
                    conn,
                    "SELECT kid, private_der, created_at FROM signing_keys ORDER BY created_at, kid",
                    [],
                    |row| {
                        Ok(SigningKeyRecord {
                            kid: get(row, "kid")?,
                            private_der: get(row, "private_der")?,
                            created_at: get(row, "created_at")?,
                        })
                    },
                )
            })
            .await
    }

    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
        let key = key.clone();
        self.writer
            .write(move |conn| {
                execute(
                    conn,
                    "INSERT INTO signing_keys (kid, private_der, created_at) VALUES (?1, ?2, ?3)",
                    (key.kid, key.private_der, key.created_at),
                )?;
                Ok(())
            })
            .await
    }
}
