//! The event bus: how a change on one node reaches every node's caches and
//! live connections. In-process now; NATS in cluster mode.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::clock::SharedClock;
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
        /// When the revoking node saw the commit, in microseconds of its
        /// wall clock: where the propagation histogram starts. Only
        /// measured, never decided on; absent from nodes of earlier versions.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        committed_us: Option<i64>,
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
    /// A token-signing key was revoked: trust it no more (the store says so
    /// too, for nodes that miss this).
    KeyRevoked { kid: String },
    /// A node is alive and knows every revocation up to `seq` (see
    /// `sessions::freshness`).
    Heartbeat { seq: i64 },
    /// A node is shutting down: stop waiting to hear from it.
    Leaving,
}

/// A node's identity on the bus: new at every start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(uuid::Uuid);

impl NodeId {
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4())
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.simple().fmt(f)
    }
}

/// An event as it travels: who sent it, its number among that node's
/// messages (from 1, without gaps) and when, by the sender's clock. The
/// event's own fields sit beside these on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub from: NodeId,
    pub n: u64,
    pub sent_at: Millis,
    #[serde(flatten)]
    pub event: Event,
}

/// Numbers and dates a node's messages. Publishers hold it while they hand
/// a message to the bus, so numbers go out in order.
pub struct Stamper {
    node: NodeId,
    clock: SharedClock,
    next: tokio::sync::Mutex<u64>,
}

impl Stamper {
    pub fn new(node: NodeId, clock: SharedClock) -> Self {
        Self {
            node,
            clock,
            next: tokio::sync::Mutex::new(1),
        }
    }

    /// Stamps `event` and hands it to `send` while no other message of this
    /// node can be stamped.
    pub async fn send<F, Fut>(&self, event: Event, send: F) -> anyhow::Result<()>
    where
        F: FnOnce(Envelope) -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<()>>,
    {
        let mut next = self.next.lock().await;
        let envelope = Envelope {
            from: self.node,
            n: *next,
            sent_at: self.clock.now(),
            event,
        };
        *next += 1;
        send(envelope).await
    }
}

/// A subscription; `Lagged` means events were dropped and the subscriber
/// must resynchronise from the store.
pub type Subscription = broadcast::Receiver<Envelope>;

#[async_trait]
pub trait EventBus: Send + Sync {
    /// Sends an event to every node, this one included.
    async fn publish(&self, event: Event) -> anyhow::Result<()>;
    fn subscribe(&self) -> Subscription;
    /// Whether the bus is reachable, for readiness.
    async fn ready(&self) -> bool;
    /// Whether hearing every node on this bus proves this node has seen
    /// every revocation (true across nodes; the in-process bus of a single
    /// node hears no other writer).
    fn proves_freshness(&self) -> bool;
    /// Sends what is still queued, before shutdown.
    async fn flush(&self) {}
    fn describe(&self) -> String;
}

pub type SharedBus = Arc<dyn EventBus>;

/// Publishes `event`, logging a failure rather than returning it: every
/// change worth publishing is already durable, and other nodes catch up from
/// the store's revocation log.
///
/// A publish the bus does not take within [`PUBLISH_TIMEOUT`] (its queue
/// full while it reconnects) is dropped: the sender's next message shows
/// the others a gap, which they fill from the log.
pub async fn publish(bus: &dyn EventBus, event: Event) {
    match tokio::time::timeout(PUBLISH_TIMEOUT, bus.publish(event)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(
            error = %e,
            "event bus publish failed; other nodes will catch up from the store"
        ),
        Err(_) => tracing::warn!(
            "the event bus took no message within {PUBLISH_TIMEOUT:?}; other nodes will catch up from the store"
        ),
    }
}

/// How long a publish may wait for room on the bus.
const PUBLISH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revocation_from_a_node_that_does_not_stamp_its_commit_is_still_read() {
        let (session, account) = (SessionId::new(), AccountId::new());
        let earlier = serde_json::json!({
            "from": NodeId::random(), "n": 7, "sent_at": 1_000,
            "type": "session_revoked", "seq": 3, "session_id": session,
            "account_id": account, "reason": "remote", "at": 990,
        });
        let envelope: Envelope = serde_json::from_value(earlier).expect("read");
        assert!(matches!(
            envelope.event,
            Event::SessionRevoked {
                seq: 3,
                committed_us: None,
                ..
            }
        ));
        let stamped = Envelope {
            event: Event::SessionRevoked {
                seq: 3,
                session_id: session,
                account_id: account,
                reason: SignOutReason::Remote,
                at: 990,
                committed_us: Some(990_123),
            },
            ..envelope
        };
        let wire = serde_json::to_vec(&stamped).expect("written");
        assert_eq!(
            serde_json::from_slice::<Envelope>(&wire).expect("read back"),
            stamped
        );
    }
}
