//! Riding out a flaky link: which failures are worth retrying, and how long
//! to wait between attempts.

use std::time::Duration;

use rand::Rng;

use crate::error::Error;

/// The server pings every 30 s; this much silence means the link is dead even
/// if TCP has not noticed.
pub(crate) const IDLE_LIMIT: Duration = Duration::from_secs(75);
const FIRST_RETRY: Duration = Duration::from_millis(500);
const MAX_RETRY: Duration = Duration::from_secs(30);

/// A call that got no answer in time; worth trying again.
#[derive(Debug, thiserror::Error)]
#[error("no answer within {0:?}")]
pub(crate) struct TimedOut(pub Duration);

/// `Some(minimum wait)` when a call may work later; `None` when it will not
/// (a 4xx such as `session_revoked`, or a local problem).
pub(crate) fn transient(err: &anyhow::Error) -> Option<Duration> {
    if err.chain().any(|cause| cause.is::<TimedOut>()) {
        return Some(Duration::ZERO);
    }
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
pub(crate) struct Backoff {
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
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling;
        self.ceiling = (ceiling * 2).min(MAX_RETRY);
        let half = ceiling / 2;
        half + half.mul_f64(rand::thread_rng().gen_range(0.0..=1.0))
    }

    pub fn reset(&mut self) {
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
        let timed_out = anyhow::Error::new(TimedOut(Duration::from_secs(10))).context("heartbeat");
        assert_eq!(transient(&timed_out), Some(Duration::ZERO));
    }
}
