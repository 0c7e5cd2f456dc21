//! Applies bus events on this node: evict revoked sessions from the cache and
//! tell the devices connected here; and keeps the node's proof that it has
//! seen every revocation (see `sessions::freshness`).
//!
//! The bus is fast but not the source of truth. The node reads the store's
//! revocation log every second as a safety net, at once when the bus shows a
//! gap (a lagging subscriber, a skipped message number, a node that claims a
//! revocation this one lacks), and when a check finds its proof too old;
//! each read re-reads the signing keys too (a revoked key is trusted by no
//! node that can show it is fresh). A
//! read never blocks events: it runs beside them and is applied when it
//! answers, or abandoned after [`READ_TIMEOUT`].

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use metrics::Counter;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::registry::Outbound;
use super::LiveRegistry;
use super::{
    devices_changed_message, profile_locked_message, signed_out_message, stream_stopped_message,
};
use crate::bus::{Envelope, Event, SharedBus};
use crate::clock::SharedClock;
use crate::domain::{Millis, StreamEndReason};
use crate::sessions::freshness::Freshness;
use crate::sessions::Sessions;
use crate::store::{Revocation, RevokedSession, SharedStore, SigningKeyRecord, StoreResult};
use crate::telemetry::series::{self, label_enum, Counters, Histograms};

/// Revocations read per query.
const BATCH: u32 = 1000;
/// A log read that has not answered by then is abandoned (a database that
/// went silent must not hold the proof hostage).
const READ_TIMEOUT: Duration = Duration::from_secs(2);

/// What the dispatcher applies events to.
pub struct Dispatcher {
    pub sessions: Arc<Sessions>,
    pub live: Arc<LiveRegistry>,
    /// The revocation log, for catching up.
    pub store: SharedStore,
    pub bus: SharedBus,
    pub clock: SharedClock,
    pub metrics: DispatchMetrics,
}

/// What the dispatcher counts.
pub struct DispatchMetrics {
    /// Commit → a device here told, by path.
    propagation: Histograms<Path>,
    /// Propagation samples whose commit is later than this node's clock
    /// (another node's clock ahead of this one's), recorded as 0.
    clock_skew: Counter,
    /// Revocations applied here, by path.
    applied: Counters<Path>,
    /// Log reads, by outcome.
    reads: Counters<ReadOutcome>,
}

impl DispatchMetrics {
    pub fn register() -> Self {
        Self {
            propagation: Histograms::register(series::REVOCATION_PROPAGATION),
            clock_skew: metrics::counter!(series::REVOCATION_PROPAGATION_CLOCK_SKEW),
            applied: Counters::register(series::REVOCATIONS_APPLIED),
            reads: Counters::register(series::REVOCATION_LOG_READS),
        }
    }
}

label_enum! {
    /// How a revocation reached this node.
    enum Path, key "path" {
        Bus => "bus",
        Log => "log",
    }
}

label_enum! {
    enum ReadOutcome, key "outcome" {
        Ok => "ok",
        Failed => "failed",
    }
}

/// When a revocation was committed, as precisely as this node knows.
#[derive(Debug, Clone, Copy)]
enum Committed {
    /// The revoking node's wall clock, in microseconds (bus messages).
    WallMicros(i64),
    /// The revocation's own time, in milliseconds of the node's clock (the
    /// log, and bus messages from nodes that do not stamp the commit).
    At(Millis),
}

/// A log read in flight: when it began and what it returns.
type Read = BoxFuture<'static, (Millis, StoreResult<LogRead>)>;

/// What one read returns: revocations after a position, and the signing
/// keys, read after them, so a proof from this read covers key
/// revocations too.
struct LogRead {
    revocations: Vec<RevokedSession>,
    keys: Vec<SigningKeyRecord>,
}

/// Where this node is in the revocation log.
struct Position {
    /// Every revocation up to here has been read from the log. Only log
    /// reads move it: a bus event may arrive before an earlier one lost.
    read: i64,
    /// Sequences above `read` already applied from the bus, so a read does
    /// not tell devices and pages twice.
    heard: BTreeSet<i64>,
}

impl Position {
    /// Whether revocation `seq`, heard on the bus, is news here: neither
    /// read from the log already nor heard before. Counts it as heard.
    fn hear(&mut self, seq: i64) -> bool {
        seq > self.read && self.heard.insert(seq)
    }

    /// Whether revocation `seq`, read from the log, is news here (not heard
    /// on the bus first). Moves the position past it.
    fn read(&mut self, seq: i64) -> bool {
        let news = !self.heard.remove(&seq);
        self.read = self.read.max(seq);
        news
    }
}

/// Runs until `shutdown`: applies events and reads the log every
/// `safety_net` and whenever a proof is wanted.
pub async fn run(node: Dispatcher, shutdown: CancellationToken, safety_net: Duration) {
    let freshness = Arc::clone(node.sessions.freshness());
    let mut events = node.bus.subscribe();
    let Some(read) = first_position(&node, &freshness, &shutdown, safety_net).await else {
        return;
    };
    let mut position = Position {
        read,
        heard: BTreeSet::new(),
    };
    let mut tick = tokio::time::interval(safety_net);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut reading: Option<Read> = None;
    loop {
        tokio::select! {
            // Bus events first: a read is applied only when none is waiting,
            // so it never overtakes a stream_stopped already published.
            biased;
            _ = shutdown.cancelled() => return,
            event = events.recv() => match event {
                Ok(envelope) => apply(&node, &freshness, envelope, &mut position).await,
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "event bus lagged; catching up from the store");
                    freshness.lost();
                }
                Err(RecvError::Closed) => return,
            },
            (started_at, result) = async { reading.as_mut().expect("guarded").await }, if reading.is_some() => {
                reading = None;
                if let Some(more) = caught_up(&node, &freshness, started_at, result, &mut position) {
                    reading = Some(more);
                }
            }
            _ = tick.tick() => {
                start_read(&node, &mut reading, position.read);
                if freshness.report() {
                    // Its devices would hear of no sign-out here: send them
                    // to a node that can tell them.
                    node.live.close_all(Outbound::NodeStale);
                }
            }
            _ = freshness.read_wanted() => start_read(&node, &mut reading, position.read),
        }
    }
}

/// Where the log ends now: a node starting with an empty cache loads every
/// session from the store, so it has seen every revocation before this.
/// Asked again every `retry` until the store answers (the node proves
/// nothing meanwhile, so it checks no session); `None` on shutdown.
async fn first_position(
    node: &Dispatcher,
    freshness: &Freshness,
    shutdown: &CancellationToken,
    retry: Duration,
) -> Option<i64> {
    loop {
        let started_at = node.clock.now();
        let why = match tokio::time::timeout(READ_TIMEOUT, node.store.last_revocation_seq()).await {
            Ok(Ok(seq)) => {
                node.metrics.reads.increment(ReadOutcome::Ok);
                freshness.log_read(started_at, seq);
                return Some(seq);
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {READ_TIMEOUT:?}"),
        };
        tracing::warn!(error = %why, "could not read the revocation log position; trying again");
        node.metrics.reads.increment(ReadOutcome::Failed);
        freshness.log_read_failed(why);
        tokio::select! {
            _ = shutdown.cancelled() => return None,
            _ = tokio::time::sleep(retry) => {}
        }
    }
}

fn start_read(node: &Dispatcher, reading: &mut Option<Read>, after: i64) {
    if reading.is_some() {
        return;
    }
    let store = Arc::clone(&node.store);
    let started_at = node.clock.now();
    *reading = Some(
        async move {
            let read = async {
                let revocations = store.revocations_since(after, BATCH).await?;
                let keys = store.signing_keys().await?;
                Ok(LogRead { revocations, keys })
            };
            let result = match tokio::time::timeout(READ_TIMEOUT, read).await {
                Ok(result) => result,
                Err(_) => Err(crate::store::StoreError::unavailable(anyhow::anyhow!(
                    "no answer within {READ_TIMEOUT:?}"
                ))),
            };
            (started_at, result)
        }
        .boxed(),
    );
}

/// Applies a read. Returns the next read when this one was a full batch.
fn caught_up(
    node: &Dispatcher,
    freshness: &Freshness,
    started_at: Millis,
    result: StoreResult<LogRead>,
    position: &mut Position,
) -> Option<Read> {
    let batch = match result {
        Ok(LogRead { revocations, keys }) => {
            node.metrics.reads.increment(ReadOutcome::Ok);
            node.sessions.signing_keys_read(&keys);
            revocations
        }
        Err(e) => {
            node.metrics.reads.increment(ReadOutcome::Failed);
            tracing::warn!(error = %e, "could not read the revocation log");
            freshness.log_read_failed(e.to_string());
            return None;
        }
    };
    for r in &batch {
        if position.read(r.seq) {
            revoke_here(node, r, Path::Log, Committed::At(r.at));
            node.live
                .send_to_watchers(r.account_id, devices_changed_message());
        }
    }
    position.heard = position.heard.split_off(&(position.read + 1));
    if batch.len() == BATCH as usize {
        let mut next = None;
        start_read(node, &mut next, position.read);
        return next;
    }
    // The last batch: the log up to the moment this read began is applied.
    freshness.log_read(started_at, position.read);
    None
}

/// Applies one message, then counts it as heard: its content (a claim, a
/// revocation) must weigh before it can extend the bus proof.
async fn apply(
    node: &Dispatcher,
    freshness: &Freshness,
    envelope: Envelope,
    position: &mut Position,
) {
    let Envelope {
        from,
        n,
        sent_at,
        event,
    } = envelope;
    match event {
        Event::SessionRevoked {
            seq,
            session_id,
            account_id,
            reason,
            at,
            committed_us,
        } => {
            // A copy of one the log brought first (or a repeat) changes
            // nothing: its devices were told, and it was counted, then.
            if position.hear(seq) {
                let committed = committed_us.map_or(Committed::At(at), Committed::WallMicros);
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
                    Path::Bus,
                    committed,
                );
            }
            freshness.applied(seq);
        }
        Event::SessionUpdated { session_id, .. } => {
            // Beside the loop: it reads the store, and a store gone silent
            // must not stop this node hearing the bus.
            let sessions = Arc::clone(&node.sessions);
            tokio::spawn(async move {
                let reload = sessions.reload_cached(session_id);
                if tokio::time::timeout(READ_TIMEOUT, reload).await.is_err() {
                    tracing::warn!("could not refresh a changed session in time");
                }
            });
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
        Event::KeyRevoked { kid } => node.sessions.forget_signing_key(&kid),
        Event::Heartbeat { seq } => freshness.claimed(from, seq),
        Event::Leaving => {
            freshness.left(from);
            return;
        }
    }
    freshness.heard(from, n, sent_at);
}

fn revoke_here(node: &Dispatcher, r: &RevokedSession, path: Path, committed: Committed) {
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
    let metrics = &node.metrics;
    metrics.applied.increment(path);
    // Taken as the device is told, just before the hand-off: a device that
    // has heard finds it counted already. The commit time is the revoking
    // node's clock: from another node, the sample includes the difference
    // between the two clocks, and one ahead of this node's would make it
    // negative (counted apart, recorded as 0).
    if node.live.holds(r.session_id) {
        let seconds = match committed {
            Committed::WallMicros(us) => (crate::telemetry::wall_micros() - us) as f64 / 1e6,
            Committed::At(at) => (node.clock.now() - at) as f64 / 1e3,
        };
        if seconds < 0.0 {
            metrics.clock_skew.increment(1);
        }
        metrics.propagation.record(path, seconds.max(0.0));
    }
    node.live
        .send_to_session(r.session_id, signed_out_message(r.reason, r.at));
}

/// Publishes this node's heartbeat every `period` until shutdown, then says
/// it is leaving.
pub async fn heartbeat(
    bus: SharedBus,
    freshness: Arc<Freshness>,
    shutdown: CancellationToken,
    period: Duration,
) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => {
                // Nothing is sent while the bus reconnects (it would only
                // queue up), and a publish that waits is dropped, so a bus
                // that stopped taking messages does not stop this loop.
                if bus.ready().await {
                    let seq = freshness.highest_seq();
                    crate::bus::publish(bus.as_ref(), Event::Heartbeat { seq }).await;
                }
            }
        }
    }
    let leave = async {
        crate::bus::publish(bus.as_ref(), Event::Leaving).await;
        bus.flush().await;
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), leave).await;
}

#[cfg(test)]
mod tests {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
    use tokio::sync::mpsc;

    use super::*;
    use crate::bus::local::LocalBus;
    use crate::bus::{NodeId, Stamper};
    use crate::clock::{Clock, ManualClock};
    use crate::config::Config;
    use crate::domain::{AccountId, SessionId, SignOutReason};
    use crate::live::registry::Registration;
    use crate::live::Caps;

    /// A dispatcher on a fresh SQLite store, its series in `series`, with
    /// one device connected (`device`).
    struct Node {
        dispatcher: Dispatcher,
        freshness: Arc<Freshness>,
        clock: ManualClock,
        series: Snapshotter,
        revoked: RevokedSession,
        device: (Registration, mpsc::Receiver<Outbound>),
        position: Position,
        _dir: tempfile::TempDir,
    }

    async fn node() -> Node {
        let dir = tempfile::tempdir().expect("a data directory");
        let config = Config {
            data_dir: dir.path().to_owned(),
            ..Config::default()
        };
        let services = crate::app::open_services(&config).await.expect("services");
        let store = crate::store::open(&config.database_url())
            .await
            .expect("the store");
        let clock = ManualClock::default();
        let shared: SharedClock = Arc::new(clock.clone());
        let bus: SharedBus = Arc::new(LocalBus::new(Stamper::new(
            NodeId::random(),
            Arc::clone(&shared),
        )));
        let recorder = DebuggingRecorder::new();
        let series = recorder.snapshotter();
        let (metrics, live) = metrics::with_local_recorder(&recorder, || {
            let caps = Caps {
                per_session: 5,
                per_account: 5,
            };
            (
                DispatchMetrics::register(),
                Arc::new(LiveRegistry::new(caps)),
            )
        });
        let revoked = RevokedSession {
            seq: 1,
            session_id: SessionId::new(),
            account_id: AccountId::new(),
            reason: SignOutReason::Remote,
            at: clock.now(),
            ended_stream: None,
            device: None,
        };
        let device = live.register(revoked.session_id, revoked.account_id, false);
        Node {
            freshness: Arc::clone(services.sessions.freshness()),
            dispatcher: Dispatcher {
                sessions: services.sessions,
                live,
                store,
                bus,
                clock: shared,
                metrics,
            },
            clock,
            series,
            revoked,
            device,
            position: Position {
                read: 0,
                heard: BTreeSet::new(),
            },
            _dir: dir,
        }
    }

    impl Node {
        fn log_read(&mut self) {
            let read = LogRead {
                revocations: vec![self.revoked.clone()],
                keys: Vec::new(),
            };
            let now = self.clock.now();
            let next = caught_up(
                &self.dispatcher,
                &self.freshness,
                now,
                Ok(read),
                &mut self.position,
            );
            assert!(next.is_none(), "one short batch");
        }

        async fn bus_copy(&mut self, committed_us: i64) {
            let r = &self.revoked;
            let envelope = Envelope {
                from: NodeId::random(),
                n: 1,
                sent_at: self.clock.now(),
                event: Event::SessionRevoked {
                    seq: r.seq,
                    session_id: r.session_id,
                    account_id: r.account_id,
                    reason: r.reason,
                    at: r.at,
                    committed_us: Some(committed_us),
                },
            };
            apply(
                &self.dispatcher,
                &self.freshness,
                envelope,
                &mut self.position,
            )
            .await;
        }

        /// How many `signed_out` the device was handed.
        fn signed_outs(&mut self) -> usize {
            let mut n = 0;
            while let Ok(message) = self.device.1.try_recv() {
                n += usize::from(matches!(message, Outbound::SignedOut { .. }));
            }
            n
        }
    }

    /// What was recorded, by `name{key=value}`.
    #[derive(Default)]
    struct Recorded {
        counters: Vec<(String, u64)>,
        histograms: Vec<(String, Vec<f64>)>,
    }

    impl Recorded {
        fn of(series: &Snapshotter) -> Self {
            let mut recorded = Self::default();
            for (key, _, _, value) in series.snapshot().into_vec() {
                let key = key.key();
                let labels: Vec<String> = key
                    .labels()
                    .map(|l| format!("{}={}", l.key(), l.value()))
                    .collect();
                let name = format!("{}{{{}}}", key.name(), labels.join(","));
                match value {
                    DebugValue::Counter(n) => recorded.counters.push((name, n)),
                    DebugValue::Histogram(samples) => recorded
                        .histograms
                        .push((name, samples.into_iter().map(|s| s.0).collect())),
                    DebugValue::Gauge(_) => {}
                }
            }
            recorded
        }

        fn counter(&self, name: &str) -> u64 {
            let found = self.counters.iter().find(|(n, _)| n == name);
            found.map_or_else(
                || panic!("no series {name}: {:?}", self.counters),
                |(_, v)| *v,
            )
        }

        fn samples(&self, name: &str) -> Vec<f64> {
            let found = self.histograms.iter().find(|(n, _)| n == name);
            found.map(|(_, v)| v.clone()).unwrap_or_default()
        }
    }

    #[tokio::test]
    async fn a_bus_copy_of_a_revocation_the_log_brought_first_is_not_applied_again() {
        let mut node = node().await;
        node.log_read();
        node.bus_copy(crate::telemetry::wall_micros()).await;

        assert_eq!(node.signed_outs(), 1, "the device is told once");
        let recorded = Recorded::of(&node.series);
        assert_eq!(
            recorded.counter("usher_revocations_applied_total{path=log}"),
            1
        );
        assert_eq!(
            recorded.counter("usher_revocations_applied_total{path=bus}"),
            0
        );
        assert_eq!(
            recorded.counter("usher_live_events_sent_total{kind=signed_out}"),
            1
        );
        assert_eq!(
            recorded
                .samples("usher_revocation_propagation_seconds{path=log}")
                .len(),
            1
        );
        assert!(recorded
            .samples("usher_revocation_propagation_seconds{path=bus}")
            .is_empty());
    }

    #[tokio::test]
    async fn a_log_read_of_a_revocation_the_bus_brought_first_is_not_applied_again() {
        let mut node = node().await;
        node.bus_copy(crate::telemetry::wall_micros()).await;
        node.log_read();

        assert_eq!(node.signed_outs(), 1, "the device is told once");
        let recorded = Recorded::of(&node.series);
        assert_eq!(
            recorded.counter("usher_revocations_applied_total{path=bus}"),
            1
        );
        assert_eq!(
            recorded.counter("usher_revocations_applied_total{path=log}"),
            0
        );
    }

    #[tokio::test]
    async fn a_commit_stamped_ahead_of_this_nodes_clock_is_counted_as_skew() {
        let mut node = node().await;
        let an_hour_ahead = crate::telemetry::wall_micros() + 3_600_000_000;
        node.bus_copy(an_hour_ahead).await;

        assert_eq!(node.signed_outs(), 1);
        let recorded = Recorded::of(&node.series);
        assert_eq!(
            recorded.counter("usher_revocation_propagation_clock_skew_total{}"),
            1
        );
        assert_eq!(
            recorded.samples("usher_revocation_propagation_seconds{path=bus}"),
            [0.0],
            "recorded as 0"
        );
    }
}
