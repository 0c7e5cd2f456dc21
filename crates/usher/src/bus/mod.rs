//! The event bus: how a change on one node reaches every node's caches and
//! live connections. In-process now; NATS in cluster mode.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::domain::{
    AccountId, Millis, ProfileId, SessionId, SignOutReason, StreamEndReason, StreamId,
};

pub mod local;
pub mod nats;

/// Something another node may need to act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A session ended: evict it and tell its device.
    SessionRevoked {
        seq: i64,
        session_id: SessionId,
        account_id: AccountId,
        reason: SignOutReason,
        at: Millis,
    },
    /// A session's device details or profile changed (a rename, a profile
    /// picked): refresh cached copies.
    SessionUpdated {
        session_id: SessionId,
        account_id: AccountId,
    },
    /// A stream ended: free, and its device (unless it stopped it itself) told.
    StreamStopped {
        stream_id: StreamId,
        session_id: SessionId,
        account_id: AccountId,
        reason: StreamEndReason,
    },
    /// A profile was locked, had its PIN changed or was deleted: `sessions`
    /// were on it and now are on none. Nodes forget their cached profile and
    /// tell those devices to go back to the picker. (Their streams ended in
    /// the same transaction and are announced as `StreamStopped` first.)
    ProfileLocked {
        account_id: AccountId,
        profile_id: ProfileId,
        sessions: Vec<SessionId>,
    },
    /// The account's device list changed: tell account pages that watch it.
    DevicesChanged { account_id: AccountId },
}

/// A subscription; `Lagged` means events were dropped and the subscriber
/// must resynchronise from the store.
pub type Subscription = broadcast::Receiver<Event>;

#[async_trait]
pub trait EventBus: Send + Sync {
    /// Sends an event to every node, this one included.
    async fn publish(&self, event: Event) -> anyhow::Result<()>;
    fn subscribe(&self) -> Subscription;
    /// Whether the bus is reachable, for readiness.
    async fn ready(&self) -> bool;
    fn describe(&self) -> String;
}

pub type SharedBus = Arc<dyn EventBus>;

/// Publishes `event`, logging a failure rather than returning it: every
/// change worth publishing is already durable, and other nodes catch up from
/// the store's revocation log.
pub async fn publish(bus: &dyn EventBus, event: Event) {
    if let Err(e) = bus.publish(event).await {
        tracing::warn!(error = %e, "event bus publish failed; other nodes will catch up from the store");
    }
}
