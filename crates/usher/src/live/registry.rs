//! Which live connections this node holds, by session, by account and by
//! watched account.
//!
//! Fan-out never waits on a device: messages go into each connection's small
//! bounded queue with `try_send`. A device too slow to drain it is dropped
//! (it reconnects and re-reads state), except for `signed_out` and
//! `replaced`, which are handed to a task that waits for room so they are
//! never lost.
//!
//! A session, and an account, may hold only so many connections
//! ([`Caps`]): one more replaces the oldest, so that a stolen token opening
//! connections in a loop holds a handful of them, not the node's file
//! descriptors.

use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use tokio::sync::mpsc;

use crate::config::LiveConfig;
use crate::domain::{AccountId, SessionId};
use crate::telemetry::series::{self, label_enum, Counters};

/// Queue depth per connection. Events are rare (a few per session lifetime),
/// so a handful is plenty, and a small queue keeps idle connections cheap.
const QUEUE: usize = 8;

/// A message for one connection: pre-serialised JSON text.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// A live event (`kind` is `StreamStopped`, `ProfileLocked` or
    /// `DevicesChanged`) that changes nothing about the connection.
    Event { kind: MessageKind, text: Arc<str> },
    /// The session ended: send `text`, then close. `reason` is for
    /// channels that speak another format (the account pages' events).
    SignedOut {
        text: Arc<str>,
        reason: crate::domain::SignOutReason,
    },
    /// A newer connection took this one's place: close.
    Replaced(Crowded),
    /// This node went stale: close, so the device reconnects to one that
    /// can tell it of sign-outs.
    NodeStale,
}

label_enum! {
    /// What a message to a connection is, for `usher_live_events_sent_total`.
    pub enum MessageKind, key "kind" {
        SignedOut => "signed_out",
        StreamStopped => "stream_stopped",
        ProfileLocked => "profile_locked",
        DevicesChanged => "devices_changed",
        /// Closed: a newer connection took its place.
        Replaced => "replaced",
        /// Closed: this node went stale.
        NodeStale => "node_stale",
    }
}

impl Outbound {
    pub fn kind(&self) -> MessageKind {
        match self {
            Outbound::Event { kind, .. } => *kind,
            Outbound::SignedOut { .. } => MessageKind::SignedOut,
            Outbound::Replaced(_) => MessageKind::Replaced,
            Outbound::NodeStale => MessageKind::NodeStale,
        }
    }
}

/// Which cap a newer connection ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crowded {
    Session,
    Account,
}

impl Crowded {
    /// The reason text of the WebSocket close frame.
    pub fn close_reason(self) -> &'static str {
        match self {
            Crowded::Session => "replaced: too many live connections for this session",
            Crowded::Account => "replaced: too many live connections for this account",
        }
    }

    /// The data of the account pages' `replaced` event.
    pub fn as_str(self) -> &'static str {
        match self {
            Crowded::Session => "session",
            Crowded::Account => "account",
        }
    }
}

/// How many connections one session and one account may hold here.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    pub per_session: usize,
    pub per_account: usize,
}

impl From<&LiveConfig> for Caps {
    fn from(config: &LiveConfig) -> Self {
        Caps {
            per_session: config.max_per_session,
            per_account: config.max_per_account,
        }
    }
}

#[derive(Clone)]
struct Conn {
    id: u64,
    session: SessionId,
    account: AccountId,
    tx: mpsc::Sender<Outbound>,
}

pub struct LiveRegistry {
    by_session: DashMap<SessionId, Vec<Conn>>,
    by_account: DashMap<AccountId, Vec<Conn>>,
    watchers: DashMap<AccountId, Vec<Conn>>,
    next_id: AtomicU64,
    caps: Caps,
    /// Messages handed to connections, and dropped for slow ones, by kind.
    sent: Counters<MessageKind>,
    dropped: Counters<MessageKind>,
}

/// Removes the connection from the registry when dropped.
pub struct Registration {
    registry: Arc<LiveRegistry>,
    id: u64,
    session: SessionId,
    account: AccountId,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.registry.forget(self.id, self.session, self.account);
    }
}

impl LiveRegistry {
    pub fn new(caps: Caps) -> Self {
        LiveRegistry {
            by_session: DashMap::new(),
            by_account: DashMap::new(),
            watchers: DashMap::new(),
            next_id: AtomicU64::new(0),
            caps,
            sent: Counters::register(series::LIVE_EVENTS_SENT),
            dropped: Counters::register(series::LIVE_EVENTS_DROPPED),
        }
    }

    /// Registers a connection of `session` (of `account`); with `watch`, it
    /// also receives the account's `devices_changed`. The oldest connection
    /// of the session, or else of the account, is told it was replaced when
    /// this one goes over a cap.
    pub fn register(
        self: &Arc<Self>,
        session: SessionId,
        account: AccountId,
        watch: bool,
    ) -> (Registration, mpsc::Receiver<Outbound>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Conn {
            id,
            session,
            account,
            tx,
        };
        // The session's own cap first, and what it crowds out is gone
        // before the account's is counted: no other session pays for it.
        for old in admit(&self.by_session, session, &conn, self.caps.per_session) {
            self.forget(old.id, old.session, old.account);
            self.deliver(&old, Outbound::Replaced(Crowded::Session));
        }
        for old in admit(&self.by_account, account, &conn, self.caps.per_account) {
            self.forget(old.id, old.session, old.account);
            self.deliver(&old, Outbound::Replaced(Crowded::Account));
        }
        if watch {
            self.watchers.entry(account).or_default().push(conn);
        }
        let registration = Registration {
            registry: Arc::clone(self),
            id,
            session,
            account,
        };
        (registration, rx)
    }

    /// Takes connection `id` out of every index (it may be gone already).
    fn forget(&self, id: u64, session: SessionId, account: AccountId) {
        remove(&self.by_session, session, id);
        remove(&self.by_account, account, id);
        remove(&self.watchers, account, id);
    }

    /// Sends to every connection of the session.
    pub fn send_to_session(&self, session: SessionId, message: Outbound) {
        let conns = match self.by_session.get(&session) {
            Some(conns) => conns.clone(),
            None => return,
        };
        for conn in conns {
            self.deliver(&conn, message.clone());
        }
    }

    /// Closes every connection this node holds (it went stale).
    pub fn close_all(&self, message: Outbound) {
        let conns: Vec<Conn> = self
            .by_session
            .iter()
            .flat_map(|e| e.value().clone())
            .collect();
        for conn in conns {
            self.deliver(&conn, message.clone());
        }
    }

    /// Sends to every connection watching the account.
    pub fn send_to_watchers(&self, account: AccountId, message: Outbound) {
        let conns = match self.watchers.get(&account) {
            Some(conns) => conns.clone(),
            None => return,
        };
        for conn in conns {
            self.deliver(&conn, message.clone());
        }
    }

    /// Connections held, for metrics and tests.
    pub fn connections(&self) -> usize {
        self.by_session.iter().map(|e| e.value().len()).sum()
    }

    /// Whether this node holds a connection of the session.
    pub fn holds(&self, session: SessionId) -> bool {
        self.by_session.contains_key(&session)
    }

    fn deliver(&self, conn: &Conn, message: Outbound) {
        let kind = message.kind();
        match conn.tx.try_send(message) {
            Ok(()) => self.sent.increment(kind),
            Err(mpsc::error::TrySendError::Closed(_)) => {}
            Err(mpsc::error::TrySendError::Full(Outbound::Event { .. })) => {
                self.dropped.increment(kind);
                tracing::debug!(conn = conn.id, "live connection too slow; event dropped");
            }
            // The ends of a connection are never dropped.
            Err(mpsc::error::TrySendError::Full(message)) => {
                self.sent.increment(kind);
                let tx = conn.tx.clone();
                tokio::spawn(async move {
                    let _ = tx.send(message).await;
                });
            }
        }
    }
}

/// Adds `conn` under `key`, oldest first; the connections it crowds out
/// beyond `cap`, taken out of this index.
fn admit<K: Hash + Eq>(
    index: &DashMap<K, Vec<Conn>>,
    key: K,
    conn: &Conn,
    cap: usize,
) -> Vec<Conn> {
    let mut conns = index.entry(key).or_default();
    let excess = (conns.len() + 1).saturating_sub(cap).min(conns.len());
    let oldest = conns.drain(..excess).collect();
    conns.push(conn.clone());
    oldest
}

fn remove<K: Hash + Eq>(index: &DashMap<K, Vec<Conn>>, key: K, id: u64) {
    index.remove_if_mut(&key, |_, conns| {
        conns.retain(|c| c.id != id);
        conns.is_empty()
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(per_session: usize, per_account: usize) -> Arc<LiveRegistry> {
        Arc::new(LiveRegistry::new(Caps {
            per_session,
            per_account,
        }))
    }

    fn replaced(rx: &mut mpsc::Receiver<Outbound>) -> Option<Crowded> {
        match rx.try_recv() {
            Ok(Outbound::Replaced(why)) => Some(why),
            _ => None,
        }
    }

    #[tokio::test]
    async fn the_oldest_connection_of_a_crowded_session_is_replaced() {
        let live = registry(2, 10);
        let (session, account) = (SessionId::new(), AccountId::new());
        let mut held: Vec<_> = (0..3)
            .map(|_| live.register(session, account, true))
            .collect();
        assert_eq!(replaced(&mut held[0].1), Some(Crowded::Session));
        assert_eq!(replaced(&mut held[1].1), None);
        assert_eq!(replaced(&mut held[2].1), None);
        assert_eq!(live.connections(), 2);
        // The replaced one no longer hears the account's events.
        live.send_to_watchers(
            account,
            Outbound::Event {
                kind: MessageKind::DevicesChanged,
                text: Arc::from("{}"),
            },
        );
        assert!(held[0].1.try_recv().is_err());
        assert!(held[2].1.try_recv().is_ok());
        // Its own end, later, takes nothing else with it.
        held.remove(0);
        assert_eq!(live.connections(), 2);
    }

    #[tokio::test]
    async fn the_oldest_connection_of_a_crowded_account_is_replaced() {
        let live = registry(2, 3);
        let account = AccountId::new();
        let mut held: Vec<_> = (0..4)
            .map(|_| live.register(SessionId::new(), account, false))
            .collect();
        assert_eq!(replaced(&mut held[0].1), Some(Crowded::Account));
        assert!(held[1..].iter_mut().all(|(_, rx)| replaced(rx).is_none()));
        assert_eq!(live.connections(), 3);
        // Another account has caps of its own.
        let (_other, mut rx) = live.register(SessionId::new(), AccountId::new(), false);
        assert_eq!(replaced(&mut rx), None);
        drop(held);
        assert_eq!(live.connections(), 1);
    }

    #[tokio::test]
    async fn a_session_over_its_cap_replaces_only_its_own_oldest() {
        // The account is full too, but the session's replaced connection
        // makes the room: the other session's connection stays.
        let live = registry(2, 3);
        let (mine, account) = (SessionId::new(), AccountId::new());
        let (_theirs, mut theirs_rx) = live.register(SessionId::new(), account, false);
        let mut held: Vec<_> = (0..3)
            .map(|_| live.register(mine, account, false))
            .collect();
        assert_eq!(
            replaced(&mut theirs_rx),
            None,
            "another session's connection stays"
        );
        assert_eq!(replaced(&mut held[0].1), Some(Crowded::Session));
        assert_eq!(replaced(&mut held[0].1), None, "told once");
        assert_eq!(live.connections(), 3);
    }
}
