//! Accounts.

use std::sync::LazyLock;

use async_trait::async_trait;

use super::revocations::revoke_all;
use super::rows::*;
use super::SqliteStore;
use crate::domain::*;
use crate::store::*;

static ACCOUNT_BY_ID: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?1"));

static ACCOUNT_BY_EMAIL: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email = ?1"));

/// Non-ASCII (more bytes than characters), upper case, or an IDNA label.
const EMAILS_TO_RECHECK: &str = "SELECT id, email FROM accounts \
     WHERE length(CAST(email AS BLOB)) <> length(email) \
        OR email <> lower(email) \
        OR email LIKE '%xn--%' \
     ORDER BY created_at, id";

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_account(&self, a: &AccountRecord) -> StoreResult<()> {
        let a = a.clone();
        // An account always has its default profile: created together.
        let default_profile = (ProfileId::new(), ProfileName::first_for(&a.email));
        self.writer
            .write(move |conn| {
                execute(
                    conn,
                    "INSERT INTO accounts (id, email, password_hash, plan, created_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    (
                        a.id.to_string(),
                        a.email.as_str(),
                        &a.password_hash,
                        a.plan.as_str(),
                        a.created_at,
                    ),
                )?;
                execute(
                    conn,
                    "INSERT INTO profiles (id, account_id, name, pin_hash, is_default, created_at) \
                     VALUES (?1, ?2, ?3, NULL, 1, ?4)",
                    (
                        default_profile.0.to_string(),
                        a.id.to_string(),
                        default_profile.1.as_str(),
                        a.created_at,
                    ),
                )?;
                Ok(())
            })
            .await
    }

    async fn account(&self, id: AccountId) -> StoreResult<Option<AccountRecord>> {
        self.readers
            .read(move |conn| {
                fetch_optional(conn, &ACCOUNT_BY_ID, [id.to_string()], account_from_row)
            })
            .await
    }

    async fn account_by_email(&self, email: &Email) -> StoreResult<Option<AccountRecord>> {
        let email = email.as_str().to_owned();
        self.readers
            .read(move |conn| fetch_optional(conn, &ACCOUNT_BY_EMAIL, [email], account_from_row))
            .await
    }

    async fn set_plan(&self, id: AccountId, plan: &PlanName) -> StoreResult<bool> {
        let plan = plan.as_str().to_owned();
        self.writer
            .write(move |conn| {
                let changed = execute(
                    conn,
                    "UPDATE accounts SET plan = ?1 WHERE id = ?2",
                    (plan, id.to_string()),
                )?;
                Ok(changed == 1)
            })
            .await
    }

    async fn change_password(&self, change: &PasswordChange) -> StoreResult<Vec<RevokedSession>> {
        let (id, revoke, now) = (change.account, change.sign_out, change.now);
        let new_hash = change.new_hash.as_str();
        let new_hash = new_hash.to_owned();
        self.writer
            .write(move |conn| {
                execute(
                    conn,
                    "UPDATE accounts SET password_hash = ?1 WHERE id = ?2",
                    (new_hash, id.to_string()),
                )?;
                if !revoke {
                    return Ok(Vec::new());
                }
                revoke_all(conn, id, None, SignOutReason::PasswordChanged, now)
            })
            .await
    }

    async fn emails_to_recheck(&self) -> StoreResult<Vec<StoredEmail>> {
        self.readers
            .read(|conn| {
                fetch_all(conn, EMAILS_TO_RECHECK, [], |row| {
                    Ok(StoredEmail {
                        account: parsed(row, "id")?,
                        email: Email::from_stored(get(row, "email")?),
                    })
                })
            })
            .await
    }

    async fn rewrite_email(&self, id: AccountId, from: &Email, to: &Email) -> StoreResult<bool> {
        let (from, to) = (from.as_str().to_owned(), to.as_str().to_owned());
        self.writer
            .write(move |conn| {
                let changed = execute(
                    conn,
                    "UPDATE accounts SET email = ?1 WHERE id = ?2 AND email = ?3",
                    (to, id.to_string(), from),
                )?;
                Ok(changed == 1)
            })
            .await
    }
}
