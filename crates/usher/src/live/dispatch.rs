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

use super::{
    devices_changed_message, profile_locked_message, signed_out_message, stream_stopped_message,
};
use crate::bus::Event;
use crate::core::Usher;
use crate::domain::StreamEndReason;
use crate::sessions::cache::Lookup;
use crate::store::{Revocation, RevokedSession};

/// Runs until `shutdown`: applies events and catches up every `safety_net`.
pub async fn run(usher: Arc<Usher>, shutdown: CancellationToken, safety_net: Duration) {
    let mut events = usher.bus.subscribe();
    let mut applied = match usher.store.last_revocation_seq().await {
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
                Ok(event) => apply(&usher, event, &mut applied).await,
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "event bus lagged; catching up from the store");
                    catch_up(&usher, &mut applied).await;
                }
                Err(RecvError::Closed) => return,
            },
            _ = tick.tick() => catch_up(&usher, &mut applied).await,
        }
    }
}

async fn apply(usher: &Usher, event: Event, applied: &mut i64) {
    match event {
        Event::SessionRevoked {
            seq,
            session_id,
            account_id,
            reason,
            at,
        } => {
            revoke_here(
                usher,
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
            if let Lookup::Active(cached) = usher.sessions.lookup(session_id) {
                match usher.store.session(session_id).await {
                    Ok(Some(record)) => {
                        cached.set_profile(record.profile.map(|p| p.id));
                        cached.set_device(record.device);
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "could not refresh a renamed session"),
                }
            }
        }
        Event::StreamStopped {
            stream_id,
            session_id,
            account_id,
            reason,
        } => {
            if reason != StreamEndReason::Stopped {
                let message = stream_stopped_message(stream_id, reason);
                usher.live.send_to_session(session_id, message);
            }
            usher
                .live
                .send_to_watchers(account_id, devices_changed_message());
        }
        Event::ProfileLocked {
            profile_id,
            sessions,
            ..
        } => {
            for session_id in sessions {
                if let Lookup::Active(cached) = usher.sessions.lookup(session_id) {
                    cached.leave_profile(profile_id);
                }
                usher
                    .live
                    .send_to_session(session_id, profile_locked_message(profile_id));
            }
        }
        Event::DevicesChanged { account_id } => {
            usher
                .live
                .send_to_watchers(account_id, devices_changed_message());
        }
    }
}

fn revoke_here(usher: &Usher, r: &RevokedSession) {
    // From the log (a catch-up), the device hears of its stream first, as it
    // would from the bus; a bus copy arriving later finds the socket closed.
    if let Some(stream_id) = r.ended_stream {
        usher.live.send_to_session(
            r.session_id,
            stream_stopped_message(stream_id, StreamEndReason::SignedOut),
        );
    }
    usher.sessions.mark_revoked(
        r.session_id,
        Revocation {
            reason: r.reason,
            at: r.at,
        },
    );
    usher
        .live
        .send_to_session(r.session_id, signed_out_message(r.reason, r.at));
}

async fn catch_up(usher: &Usher, applied: &mut i64) {
    loop {
        let batch = match usher.store.revocations_since(*applied, 1000).await {
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
            revoke_here(usher, r);
            usher
                .live
                .send_to_watchers(r.account_id, devices_changed_message());
        }
        if !full {
            return;
        }
    }
}
