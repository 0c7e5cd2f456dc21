//! Keys the account pages' nodes share.

use async_trait::async_trait;

use super::PgStore;
use crate::domain::Millis;
use crate::store::*;

#[async_trait]
impl WebKeyStore for PgStore {
    async fn web_key(&self, name: &str, candidate: &str, now: Millis) -> StoreResult<String> {
        // Two nodes starting at once: one insert wins, both read it.
        sqlx::query(
            "INSERT INTO web_keys (name, secret, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(candidate)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(
            sqlx::query_scalar("SELECT secret FROM web_keys WHERE name = $1")
                .bind(name)
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
