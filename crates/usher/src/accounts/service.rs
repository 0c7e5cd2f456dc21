//! Account operations.

use serde::Serialize;

use crate::activity::{ActivityDevice, ActivityKind, NewActivity};
use crate::core::{Actor, Usher};
use crate::domain::{AccountId, Email, Millis, NewPassword, PlanName};
use crate::error::{Error, Result};
use crate::store::{AccountRecord, StoreError};

/// What `GET /v1/account` shows.
#[derive(Debug, Serialize)]
pub struct AccountOverview {
    pub account_id: AccountId,
    pub email: String,
    pub plan: PlanView,
    pub streams_in_use: u32,
    /// The streams counted in `streams_in_use` (for the account pages; the
    /// API answer keeps to the count).
    #[serde(skip)]
    pub active_streams: Vec<crate::streams::service::ActiveStreamView>,
    pub devices_signed_in: u32,
    pub created_at: String,
}

#[derive(Debug, Serialize)]
pub struct PlanView {
    pub name: String,
    pub max_streams: u32,
    pub max_devices: Option<u32>,
}

impl Usher {
    /// The named plan (or the default), if it is configured.
    fn known_plan(&self, name: Option<String>) -> Result<PlanName> {
        let name = name
            .map(PlanName)
            .unwrap_or_else(|| self.config.default_plan.clone());
        match self.plans.get(name.as_str()) {
            Some(_) => Ok(name),
            None => Err(Error::UnknownPlan(name.0)),
        }
    }

    pub async fn create_account(
        &self,
        email: &str,
        password: String,
        plan: Option<String>,
    ) -> Result<AccountId> {
        let email = Email::parse(email).map_err(|e| Error::InvalidEmail(e.to_string()))?;
        let password =
            NewPassword::parse(password, &email).map_err(|e| Error::WeakPassword(e.to_string()))?;
        let plan = self.known_plan(plan)?;
        let password_hash = self.hasher.hash(password.expose().to_owned()).await?;
        let record = AccountRecord {
            id: AccountId::new(),
            email,
            password_hash,
            plan,
            created_at: self.clock.now(),
        };
        match self.store.create_account(&record).await {
            Ok(()) => Ok(record.id),
            Err(StoreError::Conflict) => Err(Error::EmailTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// Operator task: move an account to another plan.
    pub async fn set_plan(&self, account: AccountId, plan: String) -> Result<()> {
        let plan = self.known_plan(Some(plan))?;
        if self.store.set_plan(account, &plan).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    pub async fn account_by_email(&self, email: &str) -> Result<AccountRecord> {
        let email = Email::parse(email).map_err(|e| Error::InvalidEmail(e.to_string()))?;
        self.store
            .account_by_email(&email)
            .await?
            .ok_or(Error::NotFound)
    }

    pub async fn account_overview(&self, account: AccountId) -> Result<AccountOverview> {
        let record = self.store.account(account).await?.ok_or(Error::NotFound)?;
        // A plan removed from configuration keeps its accounts on the default's limits.
        let plan = self.plans.limits(record.plan.as_str()).clone();
        let active_streams = self.active_streams(account).await?;
        Ok(AccountOverview {
            account_id: record.id,
            email: record.email.to_string(),
            plan: PlanView {
                name: record.plan.0,
                max_streams: plan.max_streams,
                max_devices: plan.max_devices,
            },
            streams_in_use: active_streams.len() as u32,
            active_streams,
            devices_signed_in: self.store.count_active_sessions(account).await?,
            created_at: crate::domain::rfc3339(record.created_at),
        })
    }

    /// Operator task: signs every device of the account out (reason `admin`).
    pub async fn sign_out_account(&self, account: AccountId) -> Result<usize> {
        let now = self.clock.now();
        let revoked = self
            .store
            .revoke_account_sessions(account, None, crate::domain::SignOutReason::Admin, now)
            .await?;
        self.announce_revocations(&revoked, Actor::usher(None))
            .await;
        Ok(revoked.len())
    }

    /// Changes the password; by default every device, this one included, is signed out.
    pub async fn change_password(
        &self,
        account: AccountId,
        current: String,
        new: String,
        sign_out_all_devices: bool,
        by: Actor<'_>,
    ) -> Result<usize> {
        let record = self.store.account(account).await?.ok_or(Error::NotFound)?;
        if !self
            .hasher
            .verify(current, Some(record.password_hash))
            .await?
        {
            return Err(Error::WrongPassword);
        }
        let new = NewPassword::parse(new, &record.email)
            .map_err(|e| Error::WeakPassword(e.to_string()))?;
        let hash = self.hasher.hash(new.expose().to_owned()).await?;
        let now: Millis = self.clock.now();
        let revoked = self
            .store
            .change_password(account, &hash, sign_out_all_devices, now)
            .await?;
        let mut changed = NewActivity {
            account_id: account,
            kind: ActivityKind::PasswordChanged,
            device: by.session.map(ActivityDevice::of),
            ip: by.ip,
            detail: serde_json::json!({}),
        };
        changed.detail = serde_json::json!({ "signed_out": revoked.len() });
        self.record(changed).await;
        self.announce_revocations(&revoked, by).await;
        Ok(revoked.len())
    }
}
