//! [`Accounts`]: creation, plan, overview, password.

use std::net::IpAddr;
use std::sync::Arc;

use super::sign_up::SignUpGate;
use crate::activity::{Activity, ActivityDevice, NewActivity};
use crate::auth::passwords::PasswordHasher;
use crate::clock::SharedClock;
use crate::domain::{
    AccountId, ActivityDetail, Email, Millis, NewPassword, PasswordChangedDetail, PasswordCheck,
    Plan, PlanName, Plans,
};
use crate::error::{Error, Result};
use crate::sessions::{Actor, Sessions};
use crate::store::{AccountRecord, ActiveStream, PasswordChange, SharedStore, StoreError};
use crate::streams::Streams;

/// An account at a glance: what `GET /v1/account` and the overview page show.
#[derive(Debug)]
pub struct AccountOverview {
    pub account: AccountRecord,
    /// The limits of the account's plan.
    pub limits: Plan,
    /// The streams that count against the plan now.
    pub active_streams: Vec<ActiveStream>,
    pub devices_signed_in: u32,
}

/// Accounts.
pub struct Accounts {
    store: SharedStore,
    clock: SharedClock,
    hasher: Arc<PasswordHasher>,
    plans: Plans,
    default_plan: PlanName,
    sign_up: SignUpGate,
    sessions: Arc<Sessions>,
    streams: Arc<Streams>,
    activity: Arc<Activity>,
}

/// The handles [`Accounts`] works with.
pub struct AccountPorts {
    pub store: SharedStore,
    pub clock: SharedClock,
    pub hasher: Arc<PasswordHasher>,
    pub sessions: Arc<Sessions>,
    pub streams: Arc<Streams>,
    pub activity: Arc<Activity>,
}

impl Accounts {
    pub fn new(
        plans: Plans,
        default_plan: PlanName,
        sign_up: SignUpGate,
        ports: AccountPorts,
    ) -> Self {
        Self {
            store: ports.store,
            clock: ports.clock,
            hasher: ports.hasher,
            plans,
            default_plan,
            sign_up,
            sessions: ports.sessions,
            streams: ports.streams,
            activity: ports.activity,
        }
    }

    /// The named plan (or the default), if it is configured.
    fn known_plan(&self, name: Option<PlanName>) -> Result<PlanName> {
        let name = name.unwrap_or_else(|| self.default_plan.clone());
        match self.plans.get(name.as_str()) {
            Some(_) => Ok(name),
            None => Err(Error::UnknownPlan(name.0)),
        }
    }

    /// Lets one public sign-up from `ip` through, before its email and
    /// password are even read: switched off, naming a plan, or over the
    /// address's budget, it is refused.
    pub fn admit_sign_up(&self, ip: Option<IpAddr>, plan: Option<&str>) -> Result<()> {
        self.sign_up.admit(ip, plan)
    }

    /// Creates the account on `plan` (the default when `None`): a public
    /// sign-up, once admitted, passes `None`; the operator may name one.
    pub async fn create(
        &self,
        email: Email,
        password: NewPassword,
        plan: Option<PlanName>,
    ) -> Result<AccountId> {
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
    pub async fn set_plan(&self, account: AccountId, plan: PlanName) -> Result<()> {
        let plan = self.known_plan(Some(plan))?;
        if self.store.set_plan(account, &plan).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// Forgets sign-up budgets that have fully recovered.
    pub fn housekeeping(&self) {
        self.sign_up.tidy();
    }

    pub async fn by_email(&self, email: &Email) -> Result<AccountRecord> {
        self.store
            .account_by_email(email)
            .await?
            .ok_or(Error::NotFound)
    }

    pub async fn overview(&self, account: AccountId) -> Result<AccountOverview> {
        let record = self.store.account(account).await?.ok_or(Error::NotFound)?;
        // A plan removed from configuration keeps its accounts on the default's limits.
        let limits = self.plans.limits(record.plan.as_str()).clone();
        let active_streams = self.streams.active(account).await?;
        Ok(AccountOverview {
            account: record,
            limits,
            active_streams,
            devices_signed_in: self.store.count_active_sessions(account).await?,
        })
    }

    /// Changes the password, once the device has re-entered the current one
    /// (throttled and recorded as every re-entry is); by default every
    /// device, this one included, is signed out.
    pub async fn change_password(
        &self,
        account: AccountId,
        current: String,
        new: String,
        sign_out_all_devices: bool,
        by: Actor<'_>,
    ) -> Result<usize> {
        self.sessions
            .reauthenticate(&by, current, PasswordCheck::PasswordChange)
            .await?;
        let record = self.store.account(account).await?.ok_or(Error::NotFound)?;
        // Judged against the stored email, so it cannot be parsed earlier.
        let new = NewPassword::screen(new, record.email.clone()).await?;
        let hash = self.hasher.hash(new.expose().to_owned()).await?;
        let now: Millis = self.clock.now();
        let revoked = self
            .store
            .change_password(&PasswordChange {
                account,
                new_hash: hash,
                sign_out: sign_out_all_devices,
                now,
            })
            .await?;
        self.activity
            .record(NewActivity {
                account_id: account,
                device: by.session.map(ActivityDevice::of),
                ip: by.ip,
                detail: ActivityDetail::PasswordChanged(PasswordChangedDetail {
                    signed_out: revoked.len(),
                }),
            })
            .await;
        self.sessions.announce_revocations(&revoked, by).await;
        Ok(revoked.len())
    }
}
