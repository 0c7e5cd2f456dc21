//! `watch`: hold the live connection, print every event, reconnect when the
//! connection drops, and stop once this device is signed out.

use std::time::Duration;

use rand::Rng;

use super::output::stamped;
use super::session::DeviceSession;
use super::Context;
use crate::error::Error;
use crate::live::{LiveConnection, LiveEvent, CLOSE_SIGNED_OUT};

/// The server pings every 30 s; this much silence means the link is dead even
/// if TCP has not noticed.
const IDLE_LIMIT: Duration = Duration::from_secs(75);
const FIRST_RETRY: Duration = Duration::from_millis(500);
const MAX_RETRY: Duration = Duration::from_secs(30);

/// Runs until this device is signed out (exit 0) or Ctrl-C.
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
            // 1001 on server shutdown, or anything else: reconnect. If the
            // session is over, the handshake's 401 says so.
            LiveEvent::Closed { .. } => return Ended::Dropped,
            _ => {}
        }
    }
}

/// `Some(minimum wait)` when connecting may work later; `None` when it will
/// not (a 4xx such as `session_revoked`, or a local problem).
fn transient(err: &anyhow::Error) -> Option<Duration> {
    let err = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<Error>())?;
    match err {
        Error::Transport(_) | Error::WebSocket(_) | Error::Idle(_) => Some(Duration::ZERO),
        _ => match err.status()? {
            429 => Some(Duration::from_secs(
                err.problem().and_then(|p| p.retry_after).unwrap_or(0),
            )),
            status if status >= 500 => Some(Duration::ZERO),
            _ => None,
        },
    }
}

/// Exponential backoff with jitter, so devices dropped together by a restart
/// do not all come back in the same instant.
#[derive(Debug)]
struct Backoff {
    ceiling: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            ceiling: FIRST_RETRY,
        }
    }
}

impl Backoff {
    /// A delay in [ceiling/2, ceiling], then doubles the ceiling (up to the cap).
    fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling;
        self.ceiling = (ceiling * 2).min(MAX_RETRY);
        let half = ceiling / 2;
        half + half.mul_f64(rand::thread_rng().gen_range(0.0..=1.0))
    }

    fn reset(&mut self) {
        self.ceiling = FIRST_RETRY;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;

    #[test]
    fn backoff_grows_to_the_cap_and_resets() {
        let mut backoff = Backoff::default();
        let first = backoff.next_delay();
        assert!(first >= FIRST_RETRY / 2 && first <= FIRST_RETRY);
        for _ in 0..20 {
            assert!(backoff.next_delay() <= MAX_RETRY);
        }
        assert_eq!(backoff.ceiling, MAX_RETRY);
        backoff.reset();
        assert!(backoff.next_delay() <= FIRST_RETRY);
    }

    fn answer(status: u16, body: &str) -> anyhow::Error {
        Error::from_answer(status, &HeaderMap::new(), body.as_bytes()).into()
    }

    #[test]
    fn only_server_side_trouble_is_retried() {
        assert_eq!(transient(&answer(503, "")), Some(Duration::ZERO));
        assert_eq!(
            transient(&answer(
                429,
                r#"{"code":"too_many_attempts","retry_after":7}"#
            )),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            transient(&answer(
                401,
                r#"{"code":"session_revoked","reason":"remote"}"#
            )),
            None
        );
        assert_eq!(transient(&anyhow::anyhow!("state file unreadable")), None);
    }
}
