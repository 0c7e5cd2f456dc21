//! Token-signing keys.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::Row;

use super::revocations::revoke_one;
use super::rows::*;
use super::PgStore;
use crate::domain::{AccountId, SessionId, SignOutReason};
use crate::store::*;

const KEY_COLUMNS: &str = "kid, private_der, sealed_nonce, created_at, retired_at, revoked_at";

/// Every other key still signing stops when a new one is added.
const RETIRE_OTHERS: &str =
    "UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL AND kid != $2";

const REVOKE_KEY: &str = "UPDATE signing_keys \
     SET revoked_at = $1, private_der = ''::bytea, sealed_nonce = NULL \
     WHERE kid = $2 AND revoked_at IS NULL";

/// Active sessions issued a token (at sign-in or a refresh) in a window:
/// each issue stored a refresh token at the same moment.
const ISSUED_IN_WINDOW: &str = "SELECT DISTINCT s.id, s.account_id FROM sessions s \
     JOIN refresh_tokens t ON t.session_id = s.id \
     WHERE s.revoked_at IS NULL AND t.created_at >= $1 AND t.created_at <= $2 \
     ORDER BY s.id";

#[async_trait]
impl KeyStore for PgStore {
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM signing_keys ORDER BY created_at, kid"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(key_from_row)
        .collect()
    }

    async fn add_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(RETIRE_OTHERS)
            .bind(key.created_at)
            .bind(&key.kid)
            .execute(&mut *tx)
            .await?;
        let (der, nonce) = key.private_key.columns();
        sqlx::query(&format!(
            "INSERT INTO signing_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(&key.kid)
        .bind(der)
        .bind(nonce)
        .bind(key.created_at)
        .bind(key.retired_at)
        .bind(key.revoked_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn revoke_signing_key(
        &self,
        r: &KeyRevocation,
    ) -> StoreResult<Option<Vec<RevokedSession>>> {
        // The log's lock first, as every log writer takes it (see `mod.rs`).
        let mut tx = self.begin_revoking().await?;
        let changed = sqlx::query(REVOKE_KEY)
            .bind(r.now)
            .bind(&r.kid)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 0 {
            return Ok(None);
        }
        let sessions = sqlx::query(ISSUED_IN_WINDOW)
            .bind(r.signed_from)
            .bind(r.signed_until)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| -> StoreResult<(SessionId, AccountId)> {
                Ok((row.parsed("id")?, row.parsed("account_id")?))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let mut revoked = Vec::with_capacity(sessions.len());
        for (id, account) in sessions {
            let reason = SignOutReason::KeyRevoked;
            revoked.extend(revoke_one(&mut tx, account, id, reason, r.now).await?);
        }
        tx.commit().await?;
        Ok(Some(revoked))
    }

    async fn store_private_key(&self, kid: &str, key: &StoredPrivateKey) -> StoreResult<()> {
        let (der, nonce) = key.columns();
        sqlx::query("UPDATE signing_keys SET private_der = $1, sealed_nonce = $2 WHERE kid = $3")
            .bind(der)
            .bind(nonce)
            .bind(kid)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

fn key_from_row(row: &PgRow) -> StoreResult<SigningKeyRecord> {
    Ok(SigningKeyRecord {
        kid: row.try_get("kid")?,
        private_key: StoredPrivateKey::from_columns(
            row.try_get("private_der")?,
            row.try_get("sealed_nonce")?,
        ),
        created_at: row.try_get("created_at")?,
        retired_at: row.try_get("retired_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}
