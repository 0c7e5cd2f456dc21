//! Applies bus events on this node: evict revoked sessions from the cache and
//! tell the devices connected here.
//!
//! The bus is fast but not the source of truth. If events were dropped (a
//! lagging subscriber, and in cluster mode a bus outage), the node catches up
//! from the store's revocation log, and it also checks that log periodically
//! as a safety net.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::LiveRegistry;
use super::{
    devices_changed_message, profile_locked_message, signed_out_message, stream_stopped_message,
};
use crate::bus::{Event, SharedBus};
use crate::domain::StreamEndReason;
use crate::sessions::Sessions;
use crate::store::{Revocation, RevokedSession, SharedStore};

/// What the dispatcher applies events to.
pub struct Dispatcher {
    pub sessions: Arc<Sessions>,
    pub live: Arc<LiveRegistry>,
    /// The revocation log, for catching up.
    pub store: SharedStore,
    pub bus: SharedBus,
}

/// Runs until `shutdown`: applies events and catches up every `safety_net`.
pub async fn run(node: Dispatcher, shutdown: CancellationToken, safety_net: Duration) {
    let mut events = node.bus.subscribe();
    let mut applied = match node.store.last_revocation_seq().await {
        Ok(seq) => seq,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the revocation log position; starting from 0");
            0
        }
    };
    let mut tick = tokio::time::interval(safety_net);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            // Bus events first: a catch-up runs only when none is waiting,
            // so it never overtakes a stream_stopped already published.
            biased;
            _ = shutdown.cancelled() => return,
            event = events.recv() => match event {
                Ok(event) => apply(&node, event, &mut applied).await,
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "event bus lagged; catching up from the store");
                    catch_up(&node, &mut applied).await;
                }
                Err(RecvError::Closed) => return,
            },
            _ = tick.tick() => catch_up(&node, &mut applied).await,
        }
    }
}

async fn apply(node: &Dispatcher, event: Event, applied: &mut i64) {
    match event {
        Event::SessionRevoked {
            seq,
            session_id,
            account_id,
            reason,
            at,
        } => {
            revoke_here(
                node,
                &RevokedSession {
                    seq,
                    session_id,
                    account_id,
                    reason,
                    at,
                    ended_stream: None,
                    device: None,
                },
            );
            *applied = (*applied).max(seq);
        }
        Event::SessionUpdated { session_id, .. } => {
            node.sessions.reload_cached(session_id).await;
        }
        Event::StreamStopped {
            stream_id,
            session_id,
            account_id,
            reason,
        } => {
            if reason != StreamEndReason::Stopped {
                let message = stream_stopped_message(stream_id, reason);
                node.live.send_to_session(session_id, message);
            }
            node.live
                .send_to_watchers(account_id, devices_changed_message());
        }
        Event::ProfileLocked {
            profile_id,
            sessions,
            ..
        } => {
            for session_id in sessions {
                node.sessions.leave_profile(session_id, profile_id);
                node.live
                    .send_to_session(session_id, profile_locked_message(profile_id));
            }
        }
        Event::DevicesChanged { account_id } => {
            node.live
                .send_to_watchers(account_id, devices_changed_message());
        }
    }
}

fn revoke_here(node: &Dispatcher, r: &RevokedSession) {
    // From the log (a catch-up), the device hears of its stream first, as it
    // would from the bus; a bus copy arriving later finds the socket closed.
    if let Some(stream_id) = r.ended_stream {
        node.live.send_to_session(
            r.session_id,
            stream_stopped_message(stream_id, StreamEndReason::SignedOut),
        );
    }
    node.sessions.mark_revoked(
        r.session_id,
        Revocation {
            reason: r.reason,
            at: r.at,
        },
    );
    node.live
        .send_to_session(r.session_id, signed_out_message(r.reason, r.at));
}

async fn catch_up(node: &Dispatcher, applied: &mut i64) {
    loop {
        let batch = match node.store.revocations_since(*applied, 1000).await {
            Ok(batch) => batch,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the revocation log");
                return;
            }
        };
        let Some(last) = batch.last() else { return };
        *applied = last.seq;
        let full = batch.len() == 1000;
        for r in &batch {
            revoke_here(node, r);
            node.live
                .send_to_watchers(r.account_id, devices_changed_message());
        }
        if !full {
            return;
        }
    }
}
