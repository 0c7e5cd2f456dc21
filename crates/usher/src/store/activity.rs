//! What the store keeps for the activity history and alerts.

use std::net::IpAddr;

use async_trait::async_trait;

use super::StoreResult;
use crate::activity::ActivityKind;
use crate::domain::{AccountId, ActivityDetail, AlertBody, DeviceType, EventId, Millis, SessionId};

/// One entry of an account's activity history, as stored.
#[derive(Debug, Clone)]
pub struct ActivityRecord {
    pub id: EventId,
    pub account_id: AccountId,
    pub at: Millis,
    pub kind: ActivityKind,
    pub session_id: Option<SessionId>,
    pub device_name: Option<String>,
    pub device_type: Option<DeviceType>,
    pub ip: Option<IpAddr>,
    /// The address's location when the event happened (JSON).
    pub location: Option<serde_json::Value>,
    /// What happened, typed by kind (kept as JSON text).
    pub detail: ActivityDetail,
}

impl ActivityRecord {
    /// Whether the entry's device is a signed-in session's. One without a
    /// session (a refused sign-in) was named by whoever made the request:
    /// its name is shown as unverified.
    pub fn device_verified(&self) -> bool {
        self.session_id.is_some()
    }
}

/// A page of one account's history: newest first, older than `before`.
#[derive(Debug, Clone)]
pub struct ActivityQuery {
    pub account: AccountId,
    pub before: Option<EventId>,
    /// Only these kinds; empty means every kind.
    pub kinds: Vec<ActivityKind>,
    pub limit: u32,
}

/// What was new about a sign-in, for alerts. A trait is only "new" when the
/// account had been seen with another value of it before: an account's first
/// sign-in raises nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NewTraits {
    pub country: bool,
    pub device_type: bool,
}

/// An alert shown on the account pages until dismissed.
#[derive(Debug, Clone)]
pub struct AlertRecord {
    /// The id of the alert's activity event.
    pub id: EventId,
    pub account_id: AccountId,
    /// The session that signed in.
    pub session_id: SessionId,
    pub at: Millis,
    /// The alert as the webhook receives it.
    pub body: AlertBody,
}

/// A webhook delivery claimed from the outbox.
#[derive(Debug, Clone)]
pub struct WebhookDelivery {
    pub id: i64,
    pub alert_id: EventId,
    pub body: String,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// What a sign-in brings that the account may not have seen before.
#[derive(Debug, Clone)]
pub struct SignInTraits {
    pub account: AccountId,
    /// ISO country code of the sign-in's address, when it is known.
    pub country: Option<String>,
    pub device_type: DeviceType,
    pub now: Millis,
}

/// A failed webhook attempt: retried at `retry_at`, or given up when `None`.
#[derive(Debug, Clone)]
pub struct WebhookFailure {
    pub id: i64,
    pub retry_at: Option<Millis>,
    pub error: String,
    pub now: Millis,
}

#[async_trait]
pub trait ActivityStore: Send + Sync {
    /// Appends events (one transaction).
    async fn append_activity(&self, events: &[ActivityRecord]) -> StoreResult<()>;
    async fn activity(&self, query: &ActivityQuery) -> StoreResult<Vec<ActivityRecord>>;
    /// Deletes up to `limit` events older than `cutoff`; returns how many.
    async fn prune_activity(&self, cutoff: Millis, limit: u32) -> StoreResult<u64>;
    /// Records the country and device type of a sign-in and says which are new.
    async fn note_sign_in(&self, sign_in: &SignInTraits) -> StoreResult<NewTraits>;
    /// Stores the alert, its activity event and (when `deliver`) its webhook
    /// delivery, in one transaction: an acknowledged alert is never lost.
    async fn raise_alert(
        &self,
        alert: &AlertRecord,
        event: &ActivityRecord,
        deliver: bool,
    ) -> StoreResult<()>;
    /// Alerts of the account not yet dismissed, newest first.
    async fn open_alerts(&self, account: AccountId) -> StoreResult<Vec<AlertRecord>>;
    /// Dismisses an open alert of this account; `None` when there is none.
    async fn dismiss_alert(
        &self,
        account: AccountId,
        id: EventId,
        now: Millis,
    ) -> StoreResult<Option<AlertRecord>>;
    /// Claims up to `limit` due deliveries for `lease_ms` (another node, or
    /// this one after a crash, retries a claim that lapses).
    async fn claim_webhooks(
        &self,
        now: Millis,
        lease_ms: Millis,
        limit: u32,
    ) -> StoreResult<Vec<WebhookDelivery>>;
    async fn webhook_delivered(&self, id: i64, now: Millis) -> StoreResult<()>;
    /// Records a failed attempt: retried at `retry_at`, or given up when `None`.
    async fn webhook_failed(&self, failure: &WebhookFailure) -> StoreResult<()>;
    /// When the next pending delivery is due, if any.
    async fn next_webhook_due(&self) -> StoreResult<Option<Millis>>;
    /// Deliveries neither delivered nor given up yet (for the metrics: a
    /// failure is not counted as a database error).
    async fn pending_webhooks(&self) -> StoreResult<u64>;
}
