//! `watch`: hold the live connection, print every event, reconnect when the
//! connection drops, and stop once this device is signed out or a newer
//! connection of it took this one's place.

use super::output::stamped;
use super::retry::{transient, Backoff, IDLE_LIMIT};
use super::session::DeviceSession;
use super::Context;
use crate::live::{LiveConnection, LiveEvent, CLOSE_REPLACED, CLOSE_SIGNED_OUT};

/// Runs until this device is signed out (exit 0), replaced (an error: it
/// would only push out another connection by reconnecting) or Ctrl-C.
pub(crate) async fn watch(ctx: &Context, watch_devices: bool) -> anyhow::Result<()> {
    let mut session = DeviceSession::open(ctx)?;
    let mut backoff = Backoff::default();
    loop {
        let connecting = session.call(|client| async move { client.live(watch_devices).await });
        let connected = tokio::select! {
            connected = connecting => connected,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let delay = match connected {
            Ok(mut connection) => {
                connection.set_idle_timeout(Some(IDLE_LIMIT));
                match follow(&mut connection, &mut backoff).await {
                    Ended::SignedOut(reason) => {
                        let _ = connection.close().await;
                        println!("this device was signed out ({reason})");
                        return Ok(());
                    }
                    Ended::Interrupted => {
                        let _ = connection.close().await;
                        return Ok(());
                    }
                    Ended::Replaced => anyhow::bail!(
                        "a newer live connection of this device took this one's place \
                         (too many open at once); not reconnecting"
                    ),
                    Ended::Dropped => backoff.next_delay(),
                }
            }
            Err(err) => match transient(&err) {
                Some(retry_after) => {
                    eprintln!("{}", stamped(format_args!("cannot connect: {err:#}")));
                    backoff.next_delay().max(retry_after)
                }
                None => return Err(err),
            },
        };
        eprintln!(
            "{}",
            stamped(format_args!("reconnecting in {:.1}s", delay.as_secs_f64()))
        );
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// How one connection ended.
enum Ended {
    SignedOut(String),
    Interrupted,
    Replaced,
    Dropped,
}

/// Prints events until the connection ends.
async fn follow(connection: &mut LiveConnection, backoff: &mut Backoff) -> Ended {
    loop {
        let next = tokio::select! {
            next = connection.next_event() => next,
            _ = tokio::signal::ctrl_c() => return Ended::Interrupted,
        };
        let event = match next {
            Some(Ok(event)) => event,
            Some(Err(err)) => {
                eprintln!("{}", stamped(format_args!("connection lost: {err}")));
                return Ended::Dropped;
            }
            None => {
                eprintln!("{}", stamped("connection lost"));
                return Ended::Dropped;
            }
        };
        println!("{}", stamped(&event));
        match event {
            LiveEvent::Hello { .. } => backoff.reset(),
            LiveEvent::SignedOut { reason, .. } => return Ended::SignedOut(reason.to_string()),
            // The close that follows `signed_out`; seen alone if that frame was lost.
            LiveEvent::Closed { code, .. } if code == CLOSE_SIGNED_OUT => {
                return Ended::SignedOut("unknown".to_owned())
            }
            LiveEvent::Closed { code, .. } if code == CLOSE_REPLACED => return Ended::Replaced,
            // 1001 on server shutdown, or anything else: reconnect. If the
            // session is over, the handshake's 401 says so.
            LiveEvent::Closed { .. } => return Ended::Dropped,
            _ => {}
        }
    }
}
