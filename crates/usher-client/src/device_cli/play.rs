//! `play`: take a stream slot and keep it — heartbeats on the lease's timer,
//! the live channel for remote stops and sign-outs — until it ends, or give it
//! back on Ctrl-C.

use std::future::Future;
use std::pin::{pin, Pin};
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Local, Utc};
use tokio::time::{sleep_until, timeout, Instant};

use super::output::stamped;
use super::retry::{transient, Backoff, TimedOut, IDLE_LIMIT};
use super::session::DeviceSession;
use super::state::HeldStream;
use super::streams::refusal;
use super::{signed_out_reason, Context, SignedOut};
use crate::error::Error;
use crate::live::{LiveConnection, LiveEvent, CLOSE_REPLACED, CLOSE_SIGNED_OUT};
use crate::types::StreamStopReason;
use crate::Result;

/// No single call may hold up heartbeats or Ctrl-C for longer than this.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// A heartbeat that failed for a passing reason is tried again this soon
/// (or at the regular interval, if sooner), well inside the lease.
const HEARTBEAT_RETRY: Duration = Duration::from_secs(5);
/// The server sends `signed_out` right after `stream_stopped reason=signed_out`;
/// how long to wait for it before asking.
const SIGN_OUT_GRACE: Duration = Duration::from_secs(2);

/// Starts a stream of `title` and keeps it until it is stopped (exit 0),
/// the device is signed out ([`SignedOut`], exit 3), or Ctrl-C/SIGTERM stops
/// it here (exit 0).
pub(crate) async fn play(
    ctx: &Context,
    title: &str,
    profile_id: Option<&str>,
) -> anyhow::Result<()> {
    let mut session = DeviceSession::open(ctx)?;
    // Listening from here on: a Ctrl-C during the start is seen by the loop,
    // which then gives the slot back rather than leaving it to lapse.
    let mut interrupt = pin!(interrupts()?);

    // Connected before the start, so a stop right after it cannot be missed.
    let connecting = bounded(session.call(|client| async move { client.live(false).await }));
    let mut connection = tokio::select! {
        connected = connecting => connected.context("opening the live channel")?,
        () = interrupt.as_mut() => return Ok(()),
    };
    connection.set_idle_timeout(Some(IDLE_LIMIT));

    let starting =
        session.call(|client| async move { client.start_stream(title, profile_id).await });
    let lease = match bounded(starting).await {
        Ok(lease) => lease,
        Err(err) => {
            let _ = connection.close().await;
            return Err(refusal(err, &session.state().session_id));
        }
    };
    let held = HeldStream {
        stream_id: lease.stream_id.clone(),
        title: title.trim().to_owned(),
    };
    let mut player = Player {
        session,
        held,
        every: lease.heartbeat_every(),
        connection: Some(connection),
        replaced: false,
        backoff: Backoff::default(),
    };
    let result = match player.record() {
        Ok(()) => {
            println!(
                "{}",
                stamped(format_args!(
                    "playing {:?} stream={} (heartbeat every {} s)",
                    player.held.title,
                    player.held.stream_id,
                    player.every.as_secs()
                ))
            );
            player.run(interrupt.as_mut()).await
        }
        Err(err) => player.stop().await.and(Err(err)),
    };
    player.finish().await;
    result
}

/// The stream being kept, and what keeping it needs.
struct Player {
    session: DeviceSession,
    held: HeldStream,
    every: Duration,
    /// `None` while reconnecting, or after it was replaced.
    connection: Option<LiveConnection>,
    /// A newer live connection of this device took this one's place;
    /// reconnecting would push that one out, so heartbeats alone go on.
    replaced: bool,
    backoff: Backoff,
}

/// What the loop does after an event or a heartbeat.
enum Next {
    /// Keep going; heartbeat after this long when given.
    Continue(Option<Duration>),
    /// The live channel dropped: reconnect after a backoff.
    Reconnect,
    /// The stream is over, for this reason.
    Ended(StreamStopReason),
}

impl Player {
    async fn run(
        &mut self,
        mut interrupt: Pin<&mut impl Future<Output = ()>>,
    ) -> anyhow::Result<()> {
        let mut next_heartbeat = Instant::now() + self.every;
        let mut reconnect_at = Instant::now();
        loop {
            let next = tokio::select! {
                () = interrupt.as_mut() => return self.stop().await,
                event = next_event(&mut self.connection) => self.on_event(event).await?,
                () = sleep_until(next_heartbeat) => self.heartbeat().await?,
                () = sleep_until(reconnect_at), if self.connection.is_none() && !self.replaced => {
                    match self.reconnect().await? {
                        // Whatever happened while away, the next heartbeat's
                        // answer says.
                        None => Next::Continue(Some(Duration::ZERO)),
                        Some(delay) => {
                            reconnect_at = Instant::now() + delay;
                            Next::Continue(None)
                        }
                    }
                }
            };
            match next {
                Next::Continue(None) => {}
                Next::Continue(Some(delay)) => next_heartbeat = Instant::now() + delay,
                Next::Reconnect => {
                    let delay = self.backoff.next_delay();
                    eprintln!(
                        "{}",
                        stamped(format_args!("reconnecting in {:.1}s", delay.as_secs_f64()))
                    );
                    reconnect_at = Instant::now() + delay;
                }
                Next::Ended(reason) => {
                    println!(
                        "{}",
                        stamped(format_args!(
                            "{:?} {}; exiting",
                            self.held.title,
                            ended_because(&reason)
                        ))
                    );
                    return Ok(());
                }
            }
        }
    }

    /// Saves the stream in the state file for `usher device stop`.
    fn record(&mut self) -> anyhow::Result<()> {
        let held = self.held.clone();
        self.session.update_state(|state| state.stream = Some(held))
    }

    async fn on_event(&mut self, event: Option<Result<LiveEvent>>) -> anyhow::Result<Next> {
        let event = match event {
            Some(Ok(event)) => event,
            Some(Err(err)) => {
                eprintln!("{}", stamped(format_args!("connection lost: {err}")));
                self.connection = None;
                return Ok(Next::Reconnect);
            }
            None => {
                eprintln!("{}", stamped("connection lost"));
                self.connection = None;
                return Ok(Next::Reconnect);
            }
        };
        println!("{}", stamped(&event));
        match event {
            LiveEvent::Hello { .. } => self.backoff.reset(),
            LiveEvent::StreamStopped { stream_id, reason } if stream_id == self.held.stream_id => {
                if reason == StreamStopReason::SignedOut {
                    return Err(self.signed_out().await);
                }
                return Ok(Next::Ended(reason));
            }
            LiveEvent::SignedOut { reason, .. } => return Err(SignedOut(reason.to_string()).into()),
            LiveEvent::Closed { code, .. } if code == CLOSE_SIGNED_OUT => {
                return Err(self.signed_out().await)
            }
            LiveEvent::Closed { code, .. } if code == CLOSE_REPLACED => {
                eprintln!(
                    "{}",
                    stamped("a newer live connection of this device took this one's place; playing on without it")
                );
                self.connection = None;
                self.replaced = true;
            }
            // 1001 on server shutdown, or anything else: reconnect.
            LiveEvent::Closed { .. } => {
                self.connection = None;
                return Ok(Next::Reconnect);
            }
            // Events about an earlier stream of this device, profiles, …
            _ => {}
        }
        Ok(Next::Continue(None))
    }

    async fn heartbeat(&mut self) -> anyhow::Result<Next> {
        let id = self.held.stream_id.clone();
        let beat = self.session.call(|client| {
            let id = id.clone();
            async move { client.heartbeat(&id).await }
        });
        let err = match bounded(beat).await {
            Ok(lease) => {
                println!(
                    "{}",
                    stamped(format_args!(
                        "heartbeat ok, lease until {}",
                        local_time(lease.expires_at)
                    ))
                );
                self.every = lease.heartbeat_every();
                return Ok(Next::Continue(Some(self.every)));
            }
            Err(err) => err,
        };
        if let Some(reason) = stream_end_reason(&err) {
            println!("{}", stamped(format_args!("stream_ended reason={reason}")));
            if reason == StreamStopReason::SignedOut {
                return Err(self.signed_out().await);
            }
            return Ok(Next::Ended(reason));
        }
        match transient(&err) {
            Some(at_least) => {
                let delay = HEARTBEAT_RETRY.min(self.every).max(at_least);
                eprintln!(
                    "{}",
                    stamped(format_args!(
                        "heartbeat failed: {err:#}; retrying in {}s",
                        delay.as_secs()
                    ))
                );
                Ok(Next::Continue(Some(delay)))
            }
            None => Err(err.context("heartbeat")),
        }
    }

    /// `None` once connected; `Some(delay)` to try again later.
    async fn reconnect(&mut self) -> anyhow::Result<Option<Duration>> {
        let connecting = self
            .session
            .call(|client| async move { client.live(false).await });
        match bounded(connecting).await {
            Ok(mut connection) => {
                connection.set_idle_timeout(Some(IDLE_LIMIT));
                self.connection = Some(connection);
                Ok(None)
            }
            Err(err) => match transient(&err) {
                Some(at_least) => {
                    eprintln!("{}", stamped(format_args!("cannot connect: {err:#}")));
                    let delay = self.backoff.next_delay().max(at_least);
                    eprintln!(
                        "{}",
                        stamped(format_args!("reconnecting in {:.1}s", delay.as_secs_f64()))
                    );
                    Ok(Some(delay))
                }
                None => Err(err),
            },
        }
    }

    /// The error ending `play` for a device that was signed out, with the
    /// reason from the live `signed_out` that follows, or else from the server.
    async fn signed_out(&mut self) -> anyhow::Error {
        if let Some(connection) = self.connection.as_mut() {
            let follow = async {
                while let Some(Ok(event)) = connection.next_event().await {
                    println!("{}", stamped(&event));
                    if let LiveEvent::SignedOut { reason, .. } = event {
                        return Some(reason.to_string());
                    }
                }
                None
            };
            if let Ok(Some(reason)) = timeout(SIGN_OUT_GRACE, follow).await {
                return SignedOut(reason).into();
            }
        }
        let asking = self
            .session
            .call(|client| async move { client.current_session().await });
        match bounded(asking).await {
            Err(err) if signed_out_reason(&err).is_some() => err,
            _ => SignedOut("unknown".to_owned()).into(),
        }
    }

    /// Gives the slot back (Ctrl-C).
    async fn stop(&mut self) -> anyhow::Result<()> {
        let id = self.held.stream_id.clone();
        let stopping = self.session.call(|client| {
            let id = id.clone();
            async move { client.stop_stream(&id).await }
        });
        bounded(stopping)
            .await
            .context("stopping the stream (its slot frees when the lease expires)")?;
        println!(
            "{}",
            stamped(format_args!("stopped {:?} stream={id}", self.held.title))
        );
        Ok(())
    }

    /// Forgets the stream in the state file (unless a newer `play` on this
    /// device recorded its own) and closes the live channel.
    async fn finish(&mut self) {
        let id = &self.held.stream_id;
        let forgot = self.session.update_state(|state| {
            if state.stream.as_ref().is_some_and(|s| s.stream_id == *id) {
                state.stream = None;
            }
        });
        if let Err(err) = forgot {
            eprintln!("warning: {err:#}");
        }
        if let Some(mut connection) = self.connection.take() {
            let _ = connection.close().await;
        }
    }
}

/// The next live event, or never while disconnected.
async fn next_event(connection: &mut Option<LiveConnection>) -> Option<Result<LiveEvent>> {
    match connection {
        Some(connection) => connection.next_event().await,
        None => std::future::pending().await,
    }
}

/// `call`, given up after [`CALL_TIMEOUT`] (a retryable failure).
async fn bounded<T>(call: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    timeout(CALL_TIMEOUT, call)
        .await
        .unwrap_or_else(|_| Err(TimedOut(CALL_TIMEOUT).into()))
}

fn stream_end_reason(err: &anyhow::Error) -> Option<StreamStopReason> {
    err.chain()
        .find_map(|cause| cause.downcast_ref::<Error>()?.stream_end_reason())
}

fn ended_because(reason: &StreamStopReason) -> String {
    match reason {
        StreamStopReason::Remote => "was stopped from another device".to_owned(),
        StreamStopReason::Replaced => "was replaced by a newer stream on this device".to_owned(),
        StreamStopReason::LeaseExpired => {
            "lost its slot: the lease expired before a heartbeat arrived".to_owned()
        }
        StreamStopReason::Stopped => "was stopped on this device".to_owned(),
        StreamStopReason::SignedOut => "ended: this device was signed out".to_owned(),
        StreamStopReason::ProfileLocked => {
            "ended: its profile was locked; pick a profile again".to_owned()
        }
        StreamStopReason::Other(other) => format!("ended ({other})"),
    }
}

fn local_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&Local).format("%H:%M:%S").to_string()
}

/// Resolves on Ctrl-C, or on Unix also SIGTERM (as `kill` sends), listening
/// from the moment it is created.
#[cfg(unix)]
fn interrupts() -> anyhow::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt()).context("listening for Ctrl-C")?;
    let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn interrupts() -> anyhow::Result<impl Future<Output = ()>> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;

    fn answer(status: u16, body: &str) -> anyhow::Error {
        anyhow::Error::new(Error::from_answer(
            status,
            &HeaderMap::new(),
            body.as_bytes(),
        ))
    }

    #[test]
    fn ended_streams_are_explained() {
        let err =
            answer(410, r#"{"code":"stream_ended","reason":"lease_expired"}"#).context("heartbeat");
        assert_eq!(
            stream_end_reason(&err),
            Some(StreamStopReason::LeaseExpired)
        );
        assert!(ended_because(&StreamStopReason::Remote).contains("another device"));
        assert!(ended_because(&StreamStopReason::Other("x".into())).contains("(x)"));
    }
}
