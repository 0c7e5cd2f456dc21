//! `GET /account/events`: server-sent events that keep an open account page
//! current. `devices` means "the device list or streams changed: refresh";
//! `signed_out` (data: the reason) means this browser was signed out;
//! `replaced` (data: `session` or `account`, the cap it ran into) means newer
//! pages took this stream's place, and the page should stop listening rather
//! than reconnect and replace another.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};

use super::auth::Browser;
use crate::domain::SignOutReason;
use crate::http::state::AppState;
use crate::live::Outbound;

pub async fn stream(
    State(state): State<AppState>,
    browser: Browser,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let session = browser.session;
    let (registration, rx) = state
        .services
        .live
        .register(session.id, session.account_id, true);
    // Registered before this check, so a revocation is either seen here or
    // arrives through the queue (as for the WebSocket channel).
    let revoked_already = session.revoked().map(|r| r.reason);
    let start = Step {
        rx,
        _registration: registration,
        last: revoked_already.map(signed_out),
        done: false,
    };
    let events = futures_util::stream::unfold(start, |mut step| async move {
        if step.done {
            return None;
        }
        if let Some(last) = step.last.take() {
            step.done = true;
            return Some((Ok(last), step));
        }
        let event = match step.rx.recv().await? {
            Outbound::Event { .. } => Event::default().event("devices").data("changed"),
            Outbound::SignedOut { reason, .. } => {
                step.done = true;
                signed_out(reason)
            }
            Outbound::Replaced(why) => {
                step.done = true;
                Event::default().event("replaced").data(why.as_str())
            }
            // Ends the stream: the page's EventSource reconnects, through
            // the load balancer, to a node that can answer.
            Outbound::NodeStale => return None,
        };
        Some((Ok(event), step))
    });
    // Ends with the server, so graceful shutdown is not held open by pages.
    Sse::new(events.take_until(state.shutdown.clone().cancelled_owned()))
        .keep_alive(KeepAlive::default())
}

struct Step {
    rx: tokio::sync::mpsc::Receiver<Outbound>,
    /// Held for the stream's life; dropping it leaves the registry.
    _registration: crate::live::registry::Registration,
    /// An event to end with at once (the session was revoked already).
    last: Option<Event>,
    done: bool,
}

/// `event: signed_out`, with the reason as its data.
fn signed_out(reason: SignOutReason) -> Event {
    Event::default().event("signed_out").data(reason.as_str())
}
