//! Token-signing keys.

use async_trait::async_trait;
use rusqlite::Row;

use super::revocations::revoke;
use super::rows::*;
use super::SqliteStore;
use crate::domain::SignOutReason;
use crate::store::*;

const KEY_COLUMNS: &str = "kid, private_der, sealed_nonce, created_at, retired_at, revoked_at";

/// Every other key still signing stops when a new one is added.
const RETIRE_OTHERS: &str =
    "UPDATE signing_keys SET retired_at = ?1 WHERE retired_at IS NULL AND kid != ?2";

const REVOKE_KEY: &str = "UPDATE signing_keys \
     SET revoked_at = ?1, private_der = x'', sealed_nonce = NULL \
     WHERE kid = ?2 AND revoked_at IS NULL";

/// Active sessions issued a token (at sign-in or a refresh) in a window:
/// each issue stored a refresh token at the same moment.
const ISSUED_IN_WINDOW: &str = "SELECT DISTINCT s.id, s.account_id FROM sessions s \
     JOIN refresh_tokens t ON t.session_id = s.id \
     WHERE s.revoked_at IS NULL AND t.created_at >= ?1 AND t.created_at <= ?2 \
     ORDER BY s.id";

#[async_trait]
impl KeyStore for SqliteStore {
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        self.readers
            .read(|conn| {
                fetch_all(
                    conn,
                    &format!("SELECT {KEY_COLUMNS} FROM signing_keys ORDER BY created_at, kid"),
                    [],
                    key_from_row,
                )
            })
            .await
    }

    async fn add_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
        let key = key.clone();
        self.writer
            .write(move |conn| {
                execute(conn, RETIRE_OTHERS, (key.created_at, &key.kid))?;
                let (der, nonce) = key.private_key.columns();
                execute(
                    conn,
                    &format!(
                        "INSERT INTO signing_keys ({KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                    ),
                    (
                        &key.kid,
                        der,
                        nonce,
                        key.created_at,
                        key.retired_at,
                        key.revoked_at,
                    ),
                )?;
                Ok(())
            })
            .await
    }

    async fn revoke_signing_key(
        &self,
        revocation: &KeyRevocation,
    ) -> StoreResult<Option<Vec<RevokedSession>>> {
        let r = revocation.clone();
        self.writer
            .write(move |conn| {
                if execute(conn, REVOKE_KEY, (r.now, &r.kid))? == 0 {
                    return Ok(None);
                }
                let sessions = fetch_all(
                    conn,
                    ISSUED_IN_WINDOW,
                    (r.signed_from, r.signed_until),
                    |row| Ok((parsed(row, "id")?, parsed(row, "account_id")?)),
                )?;
                let mut revoked = Vec::with_capacity(sessions.len());
                for (id, account) in sessions {
                    revoked.extend(revoke(conn, account, id, SignOutReason::KeyRevoked, r.now)?);
                }
                Ok(Some(revoked))
            })
            .await
    }

    async fn store_private_key(&self, kid: &str, key: &StoredPrivateKey) -> StoreResult<()> {
        let (kid, key) = (kid.to_owned(), key.clone());
        self.writer
            .write(move |conn| {
                let (der, nonce) = key.columns();
                execute(
                    conn,
                    "UPDATE signing_keys SET private_der = ?1, sealed_nonce = ?2 WHERE kid = ?3",
                    (der, nonce, &kid),
                )?;
                Ok(())
            })
            .await
    }
}

fn key_from_row(row: &Row<'_>) -> StoreResult<SigningKeyRecord> {
    Ok(SigningKeyRecord {
        kid: get(row, "kid")?,
        private_key: StoredPrivateKey::from_columns(
            get(row, "private_der")?,
            get(row, "sealed_nonce")?,
        ),
        created_at: get(row, "created_at")?,
        retired_at: get(row, "retired_at")?,
        revoked_at: get(row, "revoked_at")?,
    })
}
