//! A device's open live channel, and the events a test awaits on it.

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use usher_client::{
    Device, LiveConnection, LiveEvent, SignOutReason, StreamStopReason, CLOSE_REPLACED,
    CLOSE_SIGNED_OUT,
};

use crate::{TestDevice, PATIENCE};

/// An open live channel. A task reads it all the time, as a real device
/// would (so pings are answered at once); the test takes events from a queue.
pub struct Live {
    session_id: String,
    protocol: Option<String>,
    events: mpsc::UnboundedReceiver<Result<LiveEvent, String>>,
    reader: JoinHandle<()>,
}

impl Live {
    /// Checks the handshake succeeded and the `hello` names `session_id`.
    pub async fn opened(
        connection: usher_client::Result<LiveConnection>,
        session_id: &str,
    ) -> Self {
        let mut connection =
            connection.unwrap_or_else(|e| panic!("{session_id}'s live channel opens: {e}"));
        let protocol = connection.protocol().map(str::to_owned);
        let (sender, events) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            while let Some(event) = connection.next_event().await {
                if sender.send(event.map_err(|e| e.to_string())).is_err() {
                    break;
                }
            }
        });
        let mut live = Live {
            session_id: session_id.to_owned(),
            protocol,
            events,
            reader,
        };
        match live.next().await {
            LiveEvent::Hello { session_id: got } => assert_eq!(got, session_id),
            other => panic!("{session_id}: expected hello, got {other}"),
        }
        live
    }

    /// The subprotocol the server agreed to.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The next event, whatever it is.
    pub async fn next(&mut self) -> LiveEvent {
        match tokio::time::timeout(PATIENCE, self.events.recv()).await {
            Err(_) => panic!("{}: no live event within {PATIENCE:?}", self.session_id),
            Ok(None) => panic!(
                "{}: the live channel ended without a close frame",
                self.session_id
            ),
            Ok(Some(Err(e))) => panic!("{}: the live channel failed: {e}", self.session_id),
            Ok(Some(Ok(event))) => event,
        }
    }

    /// The next event other than `devices_changed`, which a watching
    /// connection may receive at any moment.
    pub async fn next_about_this_device(&mut self) -> LiveEvent {
        loop {
            match self.next().await {
                LiveEvent::DevicesChanged => continue,
                event => return event,
            }
        }
    }

    /// Awaits `signed_out` with `reason`, then the close that must follow it.
    pub async fn expect_signed_out(&mut self, reason: SignOutReason) -> LiveEvent {
        let event = self.next_about_this_device().await;
        match &event {
            LiveEvent::SignedOut { reason: got, .. } => {
                assert_eq!(*got, reason, "{}: signed_out reason", self.session_id)
            }
            other => panic!(
                "{}: expected signed_out ({reason}), got {other}",
                self.session_id
            ),
        }
        self.expect_closed(CLOSE_SIGNED_OUT).await;
        event
    }

    /// Awaits `stream_stopped` for `stream_id` with `reason`.
    pub async fn expect_stream_stopped(&mut self, stream_id: &str, reason: StreamStopReason) {
        match self.next_about_this_device().await {
            LiveEvent::StreamStopped {
                stream_id: got,
                reason: why,
            } => assert_eq!((got.as_str(), why), (stream_id, reason)),
            other => panic!(
                "{}: expected stream_stopped {stream_id} ({reason}), got {other}",
                self.session_id
            ),
        }
    }

    /// Awaits `profile_locked` for `profile_id`.
    pub async fn expect_profile_locked(&mut self, profile_id: &str) {
        match self.next_about_this_device().await {
            LiveEvent::ProfileLocked { profile_id: got } => assert_eq!(got, profile_id),
            other => panic!(
                "{}: expected profile_locked {profile_id}, got {other}",
                self.session_id
            ),
        }
    }

    /// Awaits the server's close frame with `code`.
    pub async fn expect_closed(&mut self, code: u16) {
        match self.next_about_this_device().await {
            LiveEvent::Closed { code: got, .. } => assert_eq!(got, code, "close code"),
            other => panic!(
                "{}: expected the socket to close with {code}, got {other}",
                self.session_id
            ),
        }
    }

    /// Awaits the close of a connection that a newer one replaced (4008);
    /// `crowded` is the cap it ran into, `"session"` or `"account"`.
    pub async fn expect_replaced(&mut self, crowded: &str) {
        match self.next_about_this_device().await {
            LiveEvent::Closed { code, reason } => {
                assert_eq!(code, CLOSE_REPLACED, "close code ({reason})");
                assert!(
                    reason.ends_with(&format!("for this {crowded}")),
                    "{}: close reason {reason:?}",
                    self.session_id
                );
            }
            other => panic!(
                "{}: expected to be replaced ({crowded}), got {other}",
                self.session_id
            ),
        }
    }

    /// Asserts nothing but `devices_changed` has arrived so far.
    pub fn expect_nothing_yet(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            match event {
                Ok(LiveEvent::DevicesChanged) => continue,
                other => panic!("{}: unexpected live event {other:?}", self.session_id),
            }
        }
    }

    /// Awaits `devices_changed` until `viewer`'s device list satisfies
    /// `shows`: the account page re-reads the list on each event, as a user's
    /// page would, and must end up showing the change.
    pub async fn expect_list_update(
        &mut self,
        viewer: &TestDevice,
        shows: impl Fn(&[Device]) -> bool,
    ) {
        loop {
            match self.next().await {
                LiveEvent::DevicesChanged => {
                    let list = viewer.client.devices().await.expect("the device list");
                    if shows(&list) {
                        return;
                    }
                }
                other => panic!("expected devices_changed, got {other}"),
            }
        }
    }

    /// Counts the `devices_changed` events that arrive before this
    /// connection's own `signed_out`.
    pub async fn list_updates_before_signed_out(&mut self) -> usize {
        let mut updates = 0;
        loop {
            match self.next().await {
                LiveEvent::DevicesChanged => updates += 1,
                LiveEvent::SignedOut { .. } => return updates,
                other => panic!("expected devices_changed or signed_out, got {other}"),
            }
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.reader.abort();
    }
}
