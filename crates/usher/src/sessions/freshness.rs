//! Whether this node may answer session checks from memory.
//!
//! A node answers from its cache, so it must be able to show that it has
//! seen every revocation acknowledged up to a recent moment — its *proof*.
//! Past `max_staleness` without a newer proof it refuses (`stale_node`)
//! rather than guess. Two things prove:
//!
//! - **A read of the revocation log**: it returns every revocation committed
//!   before the read began (revocations are committed in log order).
//! - **The bus**, in cluster mode: a node publishes a revocation before it
//!   acknowledges it, and every message carries its sender and a per-sender
//!   number. While every node this one knows keeps being heard (each sends a
//!   heartbeat at least every second), no number was skipped, and no node
//!   claims a revocation this one has not applied, everything acknowledged
//!   before the oldest of those last messages reached this node too. A
//!   skipped number, a lagging local queue or a claim ahead of this node is a
//!   gap: only a log read that began after it fills it.
//!
//! A node that stops says so and is forgotten. One that falls silent holds
//! the bus proof back (it may still be writing where this node cannot
//! read) until log reads have covered [`FORGET_AFTER`] of its silence; it
//! is then taken to have stopped.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use crate::bus::NodeId;
use crate::clock::SharedClock;
use crate::domain::Millis;
use crate::error::{Error, Result};

/// How long a check waits for a fresh proof before refusing.
const PROOF_WAIT: Duration = Duration::from_secs(1);

/// No proof yet.
const NEVER: Millis = Millis::MIN;

/// No check refused yet (no proof is this late).
const NONE_REFUSED: Millis = Millis::MAX;

/// How long a silent node is waited for, in log-read time.
pub const FORGET_AFTER: Duration = Duration::from_secs(600);

pub struct Freshness {
    node: NodeId,
    /// `None`: the guard is off (the operator set `max_staleness_secs = 0`).
    max_staleness: Option<Millis>,
    /// Whether bus messages prove anything (NATS: yes; the in-process bus
    /// of a single node cannot tell it about other writers).
    bus_proves: bool,
    clock: SharedClock,
    /// The newest moment up to which this node has seen every revocation.
    proven_at: AtomicI64,
    /// `proven_at`, for those who wait for a newer one.
    proven: watch::Sender<Millis>,
    /// Asks the dispatcher to read the log now.
    wanted: Notify,
    /// How many nodes (this one included) this node hears on the bus.
    hearing: watch::Sender<usize>,
    /// Whether the last report said this node is stale.
    reported_stale: AtomicBool,
    /// Whether the last log read failed: a stale check then refuses at
    /// once instead of waiting for a read that is not coming.
    reads_failing: AtomicBool,
    /// Times bus messages were found missing, for the metrics.
    gaps: AtomicU64,
    /// The proof the latest refused check found too old: while no newer
    /// one has come, checks are being refused (for the metrics).
    refused_on: AtomicI64,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// When the newest successful log read began.
    log_read_at: Option<Millis>,
    /// Why the last log read failed, if it did.
    log_error: Option<String>,
    bus_proven_at: Option<Millis>,
    members: HashMap<NodeId, Member>,
    /// The earliest moment a gap was seen that no log read has filled yet.
    gap_since: Option<Millis>,
    /// The highest revocation sequence applied here, from any source.
    highest_seq: i64,
}

impl State {
    /// The highest revocation any node this one hears says it knows.
    fn claimed(&self) -> i64 {
        self.members.values().map(|m| m.claimed).max().unwrap_or(0)
    }
}

struct Member {
    last_n: u64,
    heard_at: Millis,
    /// The highest revocation its heartbeat said it knows.
    claimed: i64,
}

impl Member {
    /// One not heard yet: its first message is in order only if it is its
    /// first ever (numbers start at 1).
    fn unheard() -> Self {
        Self {
            last_n: 0,
            heard_at: NEVER,
            claimed: 0,
        }
    }
}

/// What a check sees when this node is stale: for `/readyz` and the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staleness {
    /// Milliseconds since the newest proof (`None`: never proven).
    pub behind_ms: Option<Millis>,
    pub why: String,
}

/// What the metrics show of the proof at a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreshnessReading {
    /// Since the newest proof (`None`: never proven).
    pub proof_age_ms: Option<Millis>,
    /// Since the newest successful log read began (`None`: none yet).
    pub log_read_age_ms: Option<Millis>,
    /// The staleness bound (`None`: the guard is off).
    pub limit_ms: Option<Millis>,
    /// Whether session checks are refused now: past the bound with log
    /// reads failing (as [`Freshness::report`] judges it), or with a check
    /// refused since the newest proof (a read that has not answered).
    pub refusing: bool,
    /// Nodes heard on the bus, this one included.
    pub nodes_heard: usize,
    /// Revocations another node claims beyond the highest applied here.
    pub behind: i64,
    /// Times bus messages were found missing (a first message from a node
    /// already running is no loss, and not counted).
    pub gaps: u64,
}

impl Freshness {
    pub fn new(
        node: NodeId,
        max_staleness: Option<Duration>,
        bus_proves: bool,
        clock: SharedClock,
    ) -> Self {
        Self {
            node,
            max_staleness: max_staleness.map(|d| d.as_millis() as Millis),
            bus_proves,
            clock,
            proven_at: AtomicI64::new(NEVER),
            proven: watch::channel(NEVER).0,
            wanted: Notify::new(),
            hearing: watch::channel(0).0,
            reported_stale: AtomicBool::new(false),
            reads_failing: AtomicBool::new(false),
            gaps: AtomicU64::new(0),
            refused_on: AtomicI64::new(NONE_REFUSED),
            state: Mutex::default(),
        }
    }

    /// This node's id on the bus.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// Whether the guard is on.
    pub fn enabled(&self) -> bool {
        self.max_staleness.is_some()
    }

    /// Ok when this node's proof is recent enough at `now`. When it is not,
    /// asks for a log read and waits briefly for it, so a healthy node whose
    /// clock jumped answers after one read; a node that still cannot prove
    /// is refused with `stale_node` (at once while log reads are failing, so
    /// a cut-off node does not hold every request for the wait).
    pub async fn ensure_fresh(&self) -> Result<()> {
        let Some(max) = self.max_staleness else {
            return Ok(());
        };
        let now = self.clock.now();
        if self.is_fresh_at(now, max) {
            return Ok(());
        }
        self.wanted.notify_one();
        if self.reads_failing.load(Ordering::Acquire) {
            return Err(self.refused());
        }
        let mut proven = self.proven.subscribe();
        let fresh = tokio::time::timeout(PROOF_WAIT, proven.wait_for(|&at| at >= now - max)).await;
        match fresh {
            Ok(Ok(_)) => Ok(()),
            _ => Err(self.refused()),
        }
    }

    /// A check is refused: remembered against the proof it found too old.
    fn refused(&self) -> Error {
        let proof = self.proven_at.load(Ordering::Acquire);
        self.refused_on.store(proof, Ordering::Release);
        Error::StaleNode
    }

    fn is_fresh_at(&self, now: Millis, max: Millis) -> bool {
        self.proven_at.load(Ordering::Acquire) >= now - max
    }

    /// Resolves when a log read is wanted sooner than the next tick.
    pub async fn read_wanted(&self) {
        self.wanted.notified().await
    }

    /// Waits until this node has a proof at least as new as `at` (tests and
    /// operator tasks await this instead of time passing).
    pub async fn proven_since(&self, at: Millis) {
        let mut proven = self.proven.subscribe();
        let _ = proven.wait_for(|&p| p >= at).await;
    }

    /// Waits until this node hears at least `nodes` nodes on the bus (itself
    /// included): tests await a settled cluster with it.
    pub async fn hearing(&self, nodes: usize) {
        let mut hearing = self.hearing.subscribe();
        let _ = hearing.wait_for(|&n| n >= nodes).await;
    }

    /// The newest proof, if any.
    pub fn proven_at(&self) -> Option<Millis> {
        Some(self.proven_at.load(Ordering::Acquire)).filter(|&at| at != NEVER)
    }

    /// A log read that began at `started_at` succeeded and has been applied
    /// up to `seq`.
    pub fn log_read(&self, started_at: Millis, seq: i64) {
        let mut state = self.lock();
        state.log_read_at = state.log_read_at.max(Some(started_at));
        state.log_error = None;
        self.reads_failing.store(false, Ordering::Release);
        state.highest_seq = state.highest_seq.max(seq);
        if state.gap_since.is_some_and(|gap| gap <= started_at) {
            state.gap_since = None;
        }
        let me = self.node;
        let forget = FORGET_AFTER.as_millis() as Millis;
        state
            .members
            .retain(|node, m| *node == me || m.heard_at.saturating_add(forget) >= started_at);
        self.settle(&mut state);
    }

    /// A log read failed.
    pub fn log_read_failed(&self, why: String) {
        self.lock().log_error = Some(why);
        self.reads_failing.store(true, Ordering::Release);
    }

    /// A revocation with this sequence was applied here (committed here, or
    /// heard of from another node).
    pub fn applied(&self, seq: i64) {
        let mut state = self.lock();
        if seq > state.highest_seq {
            state.highest_seq = seq;
            self.settle(&mut state);
        }
    }

    /// The highest sequence this node has applied: what its heartbeat claims.
    pub fn highest_seq(&self) -> i64 {
        self.lock().highest_seq
    }

    /// A bus message `n` from `from`, sent at `sent_at`, was received now.
    pub fn heard(&self, from: NodeId, n: u64, sent_at: Millis) {
        if !self.bus_proves {
            return;
        }
        let now = self.clock.now();
        let heard_at = sent_at.min(now);
        let mut state = self.lock();
        // A node not heard before: unless this is its first message, the
        // earlier ones may have carried revocations.
        let member = state.members.entry(from).or_insert_with(Member::unheard);
        let in_order = member.last_n.checked_add(1) == Some(n);
        let first_contact = member.last_n == 0;
        member.last_n = n;
        member.heard_at = member.heard_at.max(heard_at);
        if !in_order {
            // Joining a node already running is a gap for the proof (its
            // earlier messages may have carried revocations) but no loss:
            // the counter shows only messages missed between two heard.
            if !first_contact {
                self.gaps.fetch_add(1, Ordering::Relaxed);
            }
            state.gap_since.get_or_insert(now);
            self.wanted.notify_one();
        }
        self.settle(&mut state);
    }

    /// `from`'s heartbeat says it knows revocations up to `seq`. (Called
    /// before the heartbeat counts as heard.)
    pub fn claimed(&self, from: NodeId, seq: i64) {
        if !self.bus_proves {
            return;
        }
        let mut state = self.lock();
        let member = state.members.entry(from).or_insert_with(Member::unheard);
        member.claimed = member.claimed.max(seq);
        if seq > state.highest_seq {
            self.wanted.notify_one();
        }
        self.settle(&mut state);
    }

    /// Messages were lost on their way to this node (its queue lagged).
    pub fn lost(&self) {
        self.gaps.fetch_add(1, Ordering::Relaxed);
        let now = self.clock.now();
        self.lock().gap_since.get_or_insert(now);
        self.wanted.notify_one();
    }

    /// A node said it is leaving the cluster.
    pub fn left(&self, node: NodeId) {
        let mut state = self.lock();
        state.members.remove(&node);
        self.settle(&mut state);
    }

    /// Logs a change between fresh and stale, once each way; true when
    /// this node has just become stale. Stale here means past the bound
    /// with log reads failing: a proof merely older than the bound (a clock
    /// that jumped, a read under way) is renewed by the next read.
    pub fn report(&self) -> bool {
        let Some(max) = self.max_staleness else {
            return false;
        };
        let now = self.clock.now();
        let stale = !self.is_fresh_at(now, max) && self.reads_failing.load(Ordering::Acquire);
        if stale == self.reported_stale.swap(stale, Ordering::AcqRel) {
            return false;
        }
        if stale {
            let s = self.staleness(now);
            tracing::warn!(behind_ms = ?s.behind_ms, why = %s.why,
                "this node cannot show it has seen every revocation: refusing session checks until it can");
        } else {
            tracing::info!(
                "this node has caught up with the revocation log: serving session checks again"
            );
        }
        stale
    }

    /// The proof's state at `now`, for the metrics. Logs nothing and
    /// changes nothing (unlike [`report`](Freshness::report)).
    pub fn reading(&self, now: Millis) -> FreshnessReading {
        let refusing = self.max_staleness.is_some_and(|max| {
            let proof = self.proven_at.load(Ordering::Acquire);
            !self.is_fresh_at(now, max)
                && (self.reads_failing.load(Ordering::Acquire)
                    || self.refused_on.load(Ordering::Acquire) == proof)
        });
        let state = self.lock();
        FreshnessReading {
            proof_age_ms: self.proven_at().map(|at| now - at),
            log_read_age_ms: state.log_read_at.map(|at| now - at),
            limit_ms: self.max_staleness,
            refusing,
            nodes_heard: state.members.len(),
            behind: (state.claimed() - state.highest_seq).max(0),
            gaps: self.gaps.load(Ordering::Relaxed),
        }
    }

    /// What is missing, in words an operator can act on.
    pub fn staleness(&self, now: Millis) -> Staleness {
        let state = self.lock();
        let ago =
            |at: Option<Millis>| at.map_or("never".to_owned(), |at| format!("{} ms ago", now - at));
        let mut why = format!("revocation log last read {}", ago(state.log_read_at));
        if let Some(e) = &state.log_error {
            why.push_str(&format!(" (last attempt: {e})"));
        }
        if self.bus_proves {
            why.push_str(&format!("; bus proof {}", ago(state.bus_proven_at)));
            if state.gap_since.is_some() {
                why.push_str(", messages were lost since");
            }
            let claimed = state.claimed();
            if claimed > state.highest_seq {
                why.push_str(&format!(
                    ", another node knows revocation {claimed} and this one only {}",
                    state.highest_seq
                ));
            }
            let me = self.node;
            match state.members.get(&me) {
                None => why.push_str(", its own heartbeat never came back"),
                Some(m) => why.push_str(&format!(
                    ", its own heartbeat last came back {}",
                    ago(Some(m.heard_at))
                )),
            }
            let silent = state
                .members
                .iter()
                .filter(|(node, _)| **node != me)
                .filter(|(_, m)| self.max_staleness.is_some_and(|max| m.heard_at + max < now))
                .count();
            if silent > 0 {
                why.push_str(&format!(", {silent} other node(s) silent"));
            }
        } else {
            why.push_str("; no cluster bus to prove the rest");
        }
        let behind_ms = self.proven_at().map(|at| now - at);
        Staleness { behind_ms, why }
    }

    /// Recomputes the proof after a change and tells waiters.
    fn settle(&self, state: &mut State) {
        let members = state.members.len();
        self.hearing
            .send_if_modified(|n| std::mem::replace(n, members) != members);
        let me = self.node;
        if self.bus_proves
            && state.gap_since.is_none()
            && state.claimed() <= state.highest_seq
            && state.members.contains_key(&me)
        {
            let oldest = state.members.values().map(|m| m.heard_at).min();
            state.bus_proven_at = state.bus_proven_at.max(oldest);
        }
        let proof = state.log_read_at.max(state.bus_proven_at).unwrap_or(NEVER);
        if proof > self.proven_at.load(Ordering::Acquire) {
            self.proven_at.store(proof, Ordering::Release);
            self.proven.send_replace(proof);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::{Clock, ManualClock};

    const MAX: Duration = Duration::from_secs(5);

    fn node() -> NodeId {
        NodeId::random()
    }

    fn cluster_node(clock: &ManualClock) -> Freshness {
        Freshness::new(node(), Some(MAX), true, Arc::new(clock.clone()))
    }

    fn fresh(f: &Freshness, clock: &ManualClock) -> bool {
        f.is_fresh_at(clock.now(), MAX.as_millis() as Millis)
    }

    #[test]
    fn a_log_read_proves_until_it_is_too_old() {
        let clock = ManualClock::default();
        let f = cluster_node(&clock);
        assert!(!fresh(&f, &clock), "never proven");
        f.log_read(clock.now(), 0);
        assert!(fresh(&f, &clock));
        clock.advance(MAX);
        assert!(fresh(&f, &clock), "at the bound");
        clock.advance(Duration::from_millis(1));
        assert!(!fresh(&f, &clock), "past it");
        assert!(f
            .staleness(clock.now())
            .why
            .contains("revocation log last read 5001 ms ago"));
    }

    #[test]
    fn heartbeats_of_every_member_prove_while_the_log_is_unreachable() {
        let clock = ManualClock::default();
        let f = cluster_node(&clock);
        let (me, other) = (f.node(), node());
        f.log_read(clock.now(), 3);
        f.heard(me, 1, clock.now());
        f.heard(other, 1, clock.now());
        for n in 2..20 {
            clock.advance(Duration::from_secs(1));
            f.heard(me, n, clock.now());
            f.heard(other, n, clock.now());
            assert!(fresh(&f, &clock), "second {n}");
        }
    }

    #[test]
    fn a_silent_member_stops_the_bus_proof() {
        let clock = ManualClock::default();
        let f = cluster_node(&clock);
        let (me, other) = (f.node(), node());
        f.heard(other, 1, clock.now());
        for n in 1..10 {
            clock.advance(Duration::from_secs(1));
            f.heard(me, n, clock.now());
        }
        assert!(
            !fresh(&f, &clock),
            "the other node may be writing where this one cannot read"
        );
        assert!(f
            .staleness(clock.now())
            .why
            .contains("1 other node(s) silent"));
        // Log reads cover it, but it is still waited for on the bus...
        f.log_read(clock.now(), 0);
        clock.advance(Duration::from_secs(6));
        f.heard(me, 10, clock.now());
        assert!(!fresh(&f, &clock), "still waited for");
        // ...until they have covered FORGET_AFTER of its silence.
        clock.advance(FORGET_AFTER);
        f.log_read(clock.now(), 0);
        clock.advance(Duration::from_secs(6));
        f.heard(me, 11, clock.now());
        assert!(fresh(&f, &clock), "forgotten");
    }

    #[test]
    fn a_node_that_leaves_takes_its_claim_with_it() {
        let clock = ManualClock::default();
        let f = cluster_node(&clock);
        let (me, other) = (f.node(), node());
        f.heard(me, 1, clock.now());
        f.claimed(other, 9);
        f.heard(other, 1, clock.now());
        clock.advance(Duration::from_secs(6));
        f.heard(me, 2, clock.now());
        assert!(!fresh(&f, &clock), "it claims a revocation this node lacks");
        f.left(other);
        f.heard(me, 3, clock.now());
        assert!(fresh(&f, &clock));
    }

    #[test]
    fn a_skipped_message_is_a_gap_only_a_later_log_read_fills() {
        let clock = ManualClock::default();
        let f = cluster_node(&clock);
        let (me, other) = (f.node(), node());
        f.heard(me, 1, clock.now());
        f.heard(other, 1, clock.now());
        clock.advance(Duration::from_secs(1));
        f.heard(other, 3, clock.now());
        f.heard(me, 2, clock.now());
        let gap_at = clock.now();
        clock.advance(Duration::from_secs(5));
        f.heard(me, 3, clock.now());
        f.heard(other, 4, clock.now());
        assert!(!fresh(&f, &clock), "message 2 of the other node is lost");
        f.log_read(gap_at - 1, 0);
        assert!(
            !fresh(&f, &clock),
            "a read that began before the gap does not fill it"
        );
        f.log_read(gap_at, 0);
        assert!(fresh(&f, &clock));
    }

    #[test]
    fn a_claim_ahead_of_this_node_holds_the_bus_proof_until_applied() {
        let clock = ManualClock::default();
        let f = cluster_node(&clock);
        let (me, other) = (f.node(), node());
        f.heard(me, 1, clock.now());
        clock.advance(Duration::from_secs(6));
        f.claimed(other, 7);
        f.heard(other, 1, clock.now());
        f.heard(me, 2, clock.now());
        assert!(!fresh(&f, &clock));
        f.applied(7);
        assert!(fresh(&f, &clock));
    }

    #[test]
    fn a_first_message_that_is_not_a_nodes_first_is_a_gap() {
        let clock = ManualClock::default();
        let f = cluster_node(&clock);
        f.heard(f.node(), 1, clock.now());
        f.heard(node(), 40, clock.now());
        clock.advance(Duration::from_secs(6));
        assert!(!fresh(&f, &clock));
    }

    #[test]
    fn the_reading_shows_a_node_refusing_once_reads_fail_past_the_bound() {
        let clock = ManualClock::default();
        let f = cluster_node(&clock);
        let (me, other) = (f.node(), node());
        f.log_read(clock.now(), 2);
        f.heard(me, 1, clock.now());
        f.claimed(other, 5);
        f.heard(other, 3, clock.now());
        let reading = f.reading(clock.now());
        assert_eq!(reading.proof_age_ms, Some(0));
        assert_eq!(reading.nodes_heard, 2);
        assert_eq!(reading.behind, 3, "the other node knows 5, this one 2");
        assert_eq!(reading.gaps, 0, "joining a running node loses nothing");
        assert!(!reading.refusing);
        clock.advance(Duration::from_secs(6));
        f.log_read_failed("connection refused".into());
        let reading = f.reading(clock.now());
        assert!(reading.refusing);
        assert_eq!(reading.log_read_age_ms, Some(6_000));
        assert_eq!(reading.limit_ms, Some(5_000));
    }

    #[test]
    fn the_in_process_bus_proves_nothing() {
        let clock = ManualClock::default();
        let f = Freshness::new(node(), Some(MAX), false, Arc::new(clock.clone()));
        f.heard(f.node(), 1, clock.now());
        assert!(!fresh(&f, &clock));
        assert!(f.staleness(clock.now()).why.contains("no cluster bus"));
    }

    #[test]
    fn a_message_sent_late_by_the_clock_proves_only_its_send_time() {
        let clock = ManualClock::default();
        let f = cluster_node(&clock);
        let sent = clock.now();
        clock.advance(Duration::from_secs(6));
        f.heard(f.node(), 1, sent);
        assert!(!fresh(&f, &clock), "it waited six seconds somewhere");
    }

    #[tokio::test]
    async fn a_stale_check_waits_for_a_read_it_asks_for() {
        let clock = ManualClock::default();
        let f = Arc::new(cluster_node(&clock));
        let reader = {
            let (f, clock) = (Arc::clone(&f), clock.clone());
            tokio::spawn(async move {
                f.read_wanted().await;
                f.log_read(clock.now(), 0);
            })
        };
        f.ensure_fresh()
            .await
            .expect("fresh after the read it asked for");
        reader.await.unwrap();
    }

    #[tokio::test]
    async fn a_stale_check_is_refused_at_once_while_reads_fail() {
        let clock = ManualClock::default();
        let f = cluster_node(&clock);
        f.log_read(clock.now(), 0);
        f.log_read_failed("connection refused".into());
        clock.advance(Duration::from_secs(6));
        assert!(matches!(f.ensure_fresh().await, Err(Error::StaleNode)));
        assert!(f
            .staleness(clock.now())
            .why
            .contains("(last attempt: connection refused)"));
        f.log_read(clock.now(), 0);
        f.ensure_fresh()
            .await
            .expect("a read that succeeds proves again");
    }

    #[test]
    fn first_contact_with_a_running_node_is_no_lost_message_but_a_skip_is() {
        let clock = ManualClock::default();
        let f = cluster_node(&clock);
        let (me, other) = (f.node(), node());
        f.heard(me, 1, clock.now());
        f.claimed(other, 0);
        f.heard(other, 40, clock.now());
        f.heard(node(), 7, clock.now());
        assert_eq!(f.reading(clock.now()).gaps, 0, "two nodes joined");
        f.heard(other, 41, clock.now());
        f.heard(other, 43, clock.now());
        assert_eq!(f.reading(clock.now()).gaps, 1, "message 42 is lost");
    }

    #[tokio::test(start_paused = true)]
    async fn a_check_no_read_answers_is_refused_and_the_reading_says_so() {
        let clock = ManualClock::default();
        let f = cluster_node(&clock);
        assert!(!f.reading(clock.now()).refusing, "no check refused yet");
        assert!(matches!(f.ensure_fresh().await, Err(Error::StaleNode)));
        assert!(
            f.reading(clock.now()).refusing,
            "refused though no read has failed (none answered)"
        );
        f.log_read(clock.now(), 0);
        assert!(!f.reading(clock.now()).refusing, "a newer proof");
        clock.advance(Duration::from_secs(6));
        assert!(
            !f.reading(clock.now()).refusing,
            "past the bound again, but no check refused under this proof"
        );
    }
}
