//! The load tool: N keep-alive HTTP/1.1 connections ([`http1::Conn`]), each
//! with one request in flight, all driven by the bench's single pinned thread.
//!
//! Two modes:
//! - closed loop: every connection sends its next request as soon as the
//!   previous answer is read (measures throughput);
//! - paced: requests are due at a fixed total rate; a request's latency runs
//!   from when it was due, so a stall of the server shows up in full instead
//!   of merely delaying later requests (no coordinated omission).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio::task::JoinSet;

use crate::http1::{self, Conn, Prepared};
use crate::stats::Latencies;

/// How long after its end a load may take to finish its last requests.
const GRACE: Duration = Duration::from_secs(30);
/// Transport errors a connection tolerates (reconnecting each time) before it gives up.
const MAX_TRANSPORT_ERRORS: u64 = 100;

/// The requests a load sends; shared by all its connections.
pub trait Requests: Send + Sync + 'static {
    /// The next request, or `None` when there are no more to send.
    fn next(&self) -> Option<Prepared>;
    /// The status of a successful answer.
    fn expected(&self) -> u16;
}

/// `GET path` with `Authorization: Bearer …`, taking the tokens in turn.
pub struct BearerGets {
    requests: Vec<Prepared>,
    next: AtomicUsize,
    /// Start over after the last token (else stop: one pass).
    cycle: bool,
}

impl BearerGets {
    pub fn new(addr: SocketAddr, path: &str, tokens: &[String], cycle: bool) -> Self {
        Self {
            requests: tokens
                .iter()
                .map(|t| http1::get(addr, path, Some(t)))
                .collect(),
            next: AtomicUsize::new(0),
            cycle,
        }
    }
}

impl Requests for BearerGets {
    fn next(&self) -> Option<Prepared> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        let request = if self.cycle {
            &self.requests[i % self.requests.len()]
        } else {
            self.requests.get(i)?
        };
        Some(Arc::clone(request))
    }

    fn expected(&self) -> u16 {
        200
    }
}

/// The same request every time, expecting `expected`.
pub struct Repeat {
    request: Prepared,
    expected: u16,
}

impl Repeat {
    pub fn new(request: Prepared, expected: u16) -> Self {
        Self { request, expected }
    }
}

impl Requests for Repeat {
    fn next(&self) -> Option<Prepared> {
        Some(Arc::clone(&self.request))
    }

    fn expected(&self) -> u16 {
        self.expected
    }
}

/// How a load runs.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub connections: usize,
    /// Stop sending after this long (a one-pass load may end sooner).
    pub duration: Duration,
    /// Total requests per second across connections; `None` = closed loop.
    pub rate: Option<f64>,
}

/// What a load achieved.
#[derive(Default)]
pub struct Outcome {
    pub ok: u64,
    pub failed: u64,
    /// From the first request to the last answer.
    pub elapsed: Duration,
    /// Latencies of the successful requests.
    pub latencies: Latencies,
    /// The first failure, to show.
    pub first_failure: Option<String>,
    /// Failures by status code (`None` = transport error).
    pub failures_by_status: Vec<(Option<u16>, u64)>,
}

impl Outcome {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// `0`, or how many failed, of what kind, and the first one.
    pub fn failures(&self) -> String {
        if self.failed == 0 {
            return "0".into();
        }
        let kinds: Vec<String> = self
            .failures_by_status
            .iter()
            .map(|(status, n)| match status {
                Some(s) => format!("{n}× {s}"),
                None => format!("{n}× transport error"),
            })
            .collect();
        format!(
            "{} ({}; first: {})",
            self.failed,
            kinds.join(", "),
            self.first_failure.as_deref().unwrap_or("?")
        )
    }

    fn fail(&mut self, status: Option<u16>, detail: impl FnOnce() -> String) {
        self.failed += 1;
        if self.first_failure.is_none() {
            self.first_failure = Some(detail());
        }
        match self
            .failures_by_status
            .iter_mut()
            .find(|(s, _)| *s == status)
        {
            Some((_, n)) => *n += 1,
            None => self.failures_by_status.push((status, 1)),
        }
    }

    fn absorb(&mut self, other: Outcome) {
        self.ok += other.ok;
        self.latencies.merge(other.latencies);
        if self.first_failure.is_none() {
            self.first_failure = other.first_failure;
        }
        self.failed += other.failed;
        for (status, n) in other.failures_by_status {
            match self
                .failures_by_status
                .iter_mut()
                .find(|(s, _)| *s == status)
            {
                Some((_, total)) => *total += n,
                None => self.failures_by_status.push((status, n)),
            }
        }
    }
}

/// Runs a load against `addr` until its duration ends or `requests` runs out.
pub async fn run(
    addr: SocketAddr,
    requests: Arc<dyn Requests>,
    shape: Shape,
) -> anyhow::Result<Outcome> {
    let start = Instant::now();
    let deadline = start + shape.duration;
    let mut connections = JoinSet::new();
    for index in 0..shape.connections {
        // Paced: connection k's requests are due at start + (k + n·connections)/rate.
        let pacing = shape.rate.map(|rate| {
            let interval = Duration::from_secs_f64(shape.connections as f64 / rate);
            (
                start + Duration::from_secs_f64(index as f64 / rate),
                interval,
            )
        });
        connections.spawn(connection(addr, Arc::clone(&requests), deadline, pacing));
    }
    let mut outcome = Outcome::default();
    loop {
        let next = tokio::time::timeout_at((deadline + GRACE).into(), connections.join_next());
        match next.await {
            Ok(Some(result)) => outcome.absorb(result.context("a load connection panicked")??),
            Ok(None) => break,
            Err(_) => bail!(
                "the server stopped answering ({} connections still waiting)",
                connections.len()
            ),
        }
    }
    outcome.elapsed = start.elapsed();
    Ok(outcome)
}

async fn connection(
    addr: SocketAddr,
    requests: Arc<dyn Requests>,
    deadline: Instant,
    pacing: Option<(Instant, Duration)>,
) -> anyhow::Result<Outcome> {
    let mut conn = Conn::open(addr).await?;
    let expected = requests.expected();
    let mut out = Outcome {
        latencies: Latencies::with_capacity(64 * 1024),
        ..Outcome::default()
    };
    let mut transport_errors = 0;
    let mut due = pacing.map(|(first, _)| first);
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let start = match due {
            None => now,
            Some(at) if at >= deadline => break,
            // Behind schedule: the wait so far counts as latency.
            Some(at) if at <= now => at,
            Some(at) => {
                tokio::time::sleep_until(at.into()).await;
                // The timer fires up to a millisecond late; that lateness is
                // the load tool's, not the server's.
                Instant::now()
            }
        };
        let Some(request) = requests.next() else {
            break;
        };
        match conn.exchange(&request).await {
            Ok(status) if status == expected => {
                out.ok += 1;
                out.latencies.record(start.elapsed());
            }
            Ok(status) => out.fail(Some(status), || {
                let body = String::from_utf8_lossy(conn.body());
                format!("{status} {}", body.chars().take(200).collect::<String>())
            }),
            Err(e) => {
                transport_errors += 1;
                if transport_errors > MAX_TRANSPORT_ERRORS {
                    return Err(e.context("too many transport errors"));
                }
                out.fail(None, || format!("{e:#}"));
                conn = Conn::open(addr).await?;
            }
        }
        if let (Some(at), Some((_, interval))) = (due.as_mut(), pacing) {
            *at += interval;
        }
    }
    Ok(out)
}

/// One request on a fresh connection: the status and body.
pub async fn once(addr: SocketAddr, request: &Prepared) -> anyhow::Result<(u16, Vec<u8>)> {
    let mut conn = Conn::open(addr).await?;
    let status = conn.exchange(request).await?;
    Ok((status, conn.body().to_vec()))
}
