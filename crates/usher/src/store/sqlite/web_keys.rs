//! Keys the account pages' nodes share.

use async_trait::async_trait;

use super::rows::*;
use super::SqliteStore;
use crate::domain::Millis;
use crate::store::*;

#[async_trait]
impl WebKeyStore for SqliteStore {
    async fn web_key(&self, name: &str, candidate: &str, now: Millis) -> StoreResult<String> {
        let (name, candidate) = (name.to_owned(), candidate.to_owned());
        self.writer
            .write(move |conn| {
                execute(
                    conn,
                    "INSERT INTO web_keys (name, secret, created_at) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (name) DO NOTHING",
                    (&name, &candidate, now),
                )?;
                fetch_value(conn, "SELECT secret FROM web_keys WHERE name = ?1", [&name])
            })
            .await
    }
}
