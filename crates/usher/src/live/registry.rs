//! Which live connections this node holds, by session and by watched account.
//!
//! Fan-out never waits on a device: messages go into each connection's small
//! bounded queue with `try_send`. A device too slow to drain it is dropped
//! (it reconnects and re-reads state), except for `signed_out`, which is
//! handed to a task that waits for room so it is never lost.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use tokio::sync::mpsc;

use crate::domain::{AccountId, SessionId};

/// Queue depth per connection. Events are rare (a few per session lifetime),
/// so a handful is plenty, and a small queue keeps idle connections cheap.
const QUEUE: usize = 8;

/// A message for one connection: pre-serialised JSON text.
#[derive(Debug, Clone)]
pub enum Outbound {
    Event(Arc<str>),
    /// The session ended: send `text`, then close. `reason` is for
    /// channels that speak another format (the account pages' events).
    SignedOut {
        text: Arc<str>,
        reason: crate::domain::SignOutReason,
    },
}

#[derive(Clone)]
struct Conn {
    id: u64,
    tx: mpsc::Sender<Outbound>,
}

#[derive(Default)]
pub struct LiveRegistry {
    by_session: DashMap<SessionId, Vec<Conn>>,
    watchers: DashMap<AccountId, Vec<Conn>>,
    next_id: AtomicU64,
}

/// Removes the connection from the registry when dropped.
pub struct Registration {
    registry: Arc<LiveRegistry>,
    id: u64,
    session: SessionId,
    watching: Option<AccountId>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let id = self.id;
        self.registry
            .by_session
            .remove_if_mut(&self.session, |_, conns| {
                conns.retain(|c| c.id != id);
                conns.is_empty()
            });
        if let Some(account) = self.watching {
            self.registry.watchers.remove_if_mut(&account, |_, conns| {
                conns.retain(|c| c.id != id);
                conns.is_empty()
            });
        }
    }
}

impl LiveRegistry {
    /// Registers a connection of `session`; with `watch`, it also receives the
    /// account's `devices_changed`.
    pub fn register(
        self: &Arc<Self>,
        session: SessionId,
        watch: Option<AccountId>,
    ) -> (Registration, mpsc::Receiver<Outbound>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Conn { id, tx };
        self.by_session
            .entry(session)
            .or_default()
            .push(conn.clone());
        if let Some(account) = watch {
            self.watchers.entry(account).or_default().push(conn);
        }
        let registration = Registration {
            registry: Arc::clone(self),
            id,
            session,
            watching: watch,
        };
        (registration, rx)
    }

    /// Sends to every connection of the session.
    pub fn send_to_session(&self, session: SessionId, message: Outbound) {
        let conns = match self.by_session.get(&session) {
            Some(conns) => conns.clone(),
            None => return,
        };
        for conn in conns {
            deliver(&conn, message.clone());
        }
    }

    /// Sends to every connection watching the account.
    pub fn send_to_watchers(&self, account: AccountId, message: Outbound) {
        let conns = match self.watchers.get(&account) {
            Some(conns) => conns.clone(),
            None => return,
        };
        for conn in conns {
            deliver(&conn, message.clone());
        }
    }

    /// Connections held, for metrics and tests.
    pub fn connections(&self) -> usize {
        self.by_session.iter().map(|e| e.value().len()).sum()
    }
}

fn deliver(conn: &Conn, message: Outbound) {
    match conn.tx.try_send(message) {
        Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
        Err(mpsc::error::TrySendError::Full(message @ Outbound::SignedOut { .. })) => {
            let tx = conn.tx.clone();
            tokio::spawn(async move {
                let _ = tx.send(message).await;
            });
        }
        Err(mpsc::error::TrySendError::Full(Outbound::Event(_))) => {
            tracing::debug!(conn = conn.id, "live connection too slow; event dropped");
        }
    }
}
