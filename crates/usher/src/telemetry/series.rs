//! Every series usher records: its name, what it means, and the handles
//! the hot paths count with.
//!
//! A labelled series is registered once per label value, when the service
//! that counts it is built ([`Counters::register`]): each value shows as 0
//! before its first event, and counting is an index into an array of
//! handles, never a look-up by name. Label values are closed vocabularies
//! ([`Label`]): outcomes, kinds, reasons; never an id, an email or a token.

use std::marker::PhantomData;

use metrics::{Counter, Histogram, Unit};

use crate::domain::SignOutReason;

pub const SESSION_CHECKS: &str = "usher_session_checks_total";
pub const SIGN_IN_ATTEMPTS: &str = "usher_sign_in_attempts_total";
pub const SIGN_IN_THROTTLED: &str = "usher_sign_in_throttled_total";
pub const SESSIONS_REVOKED: &str = "usher_sessions_revoked_total";
pub const LIVE_CONNECTIONS: &str = "usher_live_connections";
pub const LIVE_EVENTS_SENT: &str = "usher_live_events_sent_total";
pub const LIVE_EVENTS_DROPPED: &str = "usher_live_events_dropped_total";
pub const REVOCATION_PROPAGATION: &str = "usher_revocation_propagation_seconds";
pub const REVOCATION_PROPAGATION_CLOCK_SKEW: &str = "usher_revocation_propagation_clock_skew_total";
pub const REVOCATIONS_APPLIED: &str = "usher_revocations_applied_total";
pub const REVOCATION_LOG_READS: &str = "usher_revocation_log_reads_total";
pub const REVOCATION_LOG_READ_AGE: &str = "usher_revocation_log_read_age_seconds";
pub const REVOCATIONS_BEHIND: &str = "usher_revocations_behind";
pub const PROOF_AGE: &str = "usher_freshness_proof_age_seconds";
pub const STALENESS_LIMIT: &str = "usher_freshness_limit_seconds";
pub const NODE_STALE: &str = "usher_node_stale";
pub const BUS_UP: &str = "usher_bus_up";
pub const BUS_NODES: &str = "usher_bus_nodes";
pub const BUS_GAPS: &str = "usher_bus_gaps_total";
pub const STREAM_ADMISSIONS: &str = "usher_stream_admissions_total";
pub const STREAMS_ACTIVE: &str = "usher_streams_active";
pub const DATABASE_CONNECTIONS: &str = "usher_database_connections";
pub const DATABASE_CONNECTIONS_MAX: &str = "usher_database_connections_max";
pub const DATABASE_WAITING: &str = "usher_database_waiting";
pub const DATABASE_ERRORS: &str = "usher_database_errors_total";
pub const WEBHOOK_OUTBOX: &str = "usher_webhook_outbox_pending";
pub const BUILD_INFO: &str = "usher_build_info";

/// Upper bounds of the propagation histogram's buckets, in seconds: from
/// 50 µs (a device on the revoking node is told in tens of microseconds)
/// through the bus's few milliseconds to the log's second, and past the
/// staleness bound.
pub const PROPAGATION_BUCKETS: [f64; 17] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
    0.5, 1.0, 2.5, 5.0,
];

/// Gives every series its help text and unit, once the recorder is installed.
pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        SESSION_CHECKS,
        Unit::Count,
        "Bearer-token session checks (every authenticated API call and live-channel handshake), by outcome."
    );
    describe_counter!(
        SIGN_IN_ATTEMPTS,
        Unit::Count,
        "Password sign-ins and re-entries, by outcome (success, failure, throttled)."
    );
    describe_counter!(
        SIGN_IN_THROTTLED,
        Unit::Count,
        "Password attempts refused before the password was checked, by the limit that refused them."
    );
    describe_counter!(
        SESSIONS_REVOKED,
        Unit::Count,
        "Sessions signed out by this node (committed here), by reason."
    );
    describe_gauge!(
        LIVE_CONNECTIONS,
        Unit::Count,
        "Live connections held by this node (devices' /v1/live and account pages' event streams)."
    );
    describe_counter!(
        LIVE_EVENTS_SENT,
        Unit::Count,
        "Messages handed to this node's live connections, by kind (one per connection)."
    );
    describe_counter!(
        LIVE_EVENTS_DROPPED,
        Unit::Count,
        "Messages dropped because a live connection was too slow to take them, by kind."
    );
    describe_histogram!(
        REVOCATION_PROPAGATION,
        Unit::Seconds,
        "From a sign-out's commit to a device connected to this node being told, by the path that told it (bus or log). The commit time is the revoking node's clock: a sample from another node includes the difference between the two clocks (one that would be negative is recorded as 0 and counted in usher_revocation_propagation_clock_skew_total)."
    );
    describe_counter!(
        REVOCATION_PROPAGATION_CLOCK_SKEW,
        Unit::Count,
        "Propagation samples whose commit time was later than this node's clock (the revoking node's clock is ahead), recorded as 0 in usher_revocation_propagation_seconds."
    );
    describe_counter!(
        REVOCATIONS_APPLIED,
        Unit::Count,
        "Revocations this node applied to its cache, each once, by the path that brought it first (bus or log)."
    );
    describe_counter!(
        REVOCATION_LOG_READS,
        Unit::Count,
        "Reads of the revocation log (the catch-up loop), by outcome."
    );
    describe_gauge!(
        REVOCATION_LOG_READ_AGE,
        Unit::Seconds,
        "Time since the newest successful read of the revocation log began (NaN: none yet)."
    );
    describe_gauge!(
        REVOCATIONS_BEHIND,
        Unit::Count,
        "Revocations another node says it knows that this node has not applied yet (cluster mode)."
    );
    describe_gauge!(
        PROOF_AGE,
        Unit::Seconds,
        "Age of this node's newest proof that it has seen every revocation (NaN: never proven)."
    );
    describe_gauge!(
        STALENESS_LIMIT,
        Unit::Seconds,
        "sessions.max_staleness_secs: past this proof age the node refuses session checks (0: the guard is off)."
    );
    describe_gauge!(
        NODE_STALE,
        Unit::Count,
        "1 while this node refuses session checks with 503 stale_node (past the limit with log reads failing, or with a check refused since its newest proof), else 0."
    );
    describe_gauge!(
        BUS_UP,
        Unit::Count,
        "1 while the event bus is reachable, else 0."
    );
    describe_gauge!(
        BUS_NODES,
        Unit::Count,
        "Nodes this node hears on the bus, itself included (0 on the in-process bus)."
    );
    describe_counter!(
        BUS_GAPS,
        Unit::Count,
        "Times this node found bus messages missing (a skipped number or a lagging queue) and caught up from the log; first contact with a running node is not counted."
    );
    describe_counter!(
        STREAM_ADMISSIONS,
        Unit::Count,
        "Stream starts on this node, by outcome (unavailable, error: the store did not answer or failed)."
    );
    describe_gauge!(
        STREAMS_ACTIVE,
        Unit::Count,
        "Streams holding a slot now, in the whole deployment (read from the store at most every 5 s; NaN when it does not answer)."
    );
    describe_gauge!(
        DATABASE_CONNECTIONS,
        Unit::Count,
        "The store's connections, by state (busy or idle)."
    );
    describe_gauge!(
        DATABASE_CONNECTIONS_MAX,
        Unit::Count,
        "The most connections the store opens."
    );
    describe_gauge!(
        DATABASE_WAITING,
        Unit::Count,
        "Store operations waiting for a connection (SQLite only; NaN on PostgreSQL, whose pool does not say)."
    );
    describe_counter!(
        DATABASE_ERRORS,
        Unit::Count,
        "Store operations that failed, by kind (unavailable: the database could not be reached; other: a bug or bad data). The scrape's own counts are not counted."
    );
    describe_gauge!(
        WEBHOOK_OUTBOX,
        Unit::Count,
        "Alert webhook deliveries not yet delivered or given up, in the whole deployment (read at most every 5 s; NaN when the store does not answer)."
    );
    describe_gauge!(
        BUILD_INFO,
        Unit::Count,
        "Always 1; its version label is the running build's."
    );
}

/// A closed vocabulary labelling a series.
pub trait Label: Copy + 'static {
    /// The label's name (`outcome`, `kind`, `reason`, `path`).
    const KEY: &'static str;
    /// Every value, each at its [`index`](Label::index).
    fn all() -> &'static [Self];
    fn as_str(self) -> &'static str;
    fn index(self) -> usize;
}

/// Declares a closed vocabulary: a fieldless enum, the name of the label it
/// fills (`key`), and each value's spelling, in order (its [`Label::index`]
/// is its position).
macro_rules! label_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident, key $key:literal {
            $($(#[$variant_meta:meta])* $variant:ident => $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $($(#[$variant_meta])* $variant),+
        }

        impl $crate::telemetry::series::Label for $name {
            const KEY: &'static str = $key;

            fn all() -> &'static [Self] {
                &[$($name::$variant),+]
            }

            fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            fn index(self) -> usize {
                self as usize
            }
        }
    };
}
pub(crate) use label_enum;

/// One counter per value of `L`, registered at once.
pub struct Counters<L: Label> {
    by_label: Box<[Counter]>,
    _label: PhantomData<L>,
}

impl<L: Label> Counters<L> {
    /// Registers `name{L=…}` for every value of `L` with the process's
    /// recorder (handles that do nothing when none is installed).
    pub fn register(name: &'static str) -> Self {
        Self {
            by_label: L::all()
                .iter()
                .map(|l| metrics::counter!(name, L::KEY => l.as_str()))
                .collect(),
            _label: PhantomData,
        }
    }

    pub fn increment(&self, label: L) {
        self.by_label[label.index()].increment(1);
    }
}

/// One histogram per value of `L`, registered at once.
pub struct Histograms<L: Label> {
    by_label: Box<[Histogram]>,
    _label: PhantomData<L>,
}

impl<L: Label> Histograms<L> {
    /// Registers `name{L=…}` for every value of `L`, as [`Counters::register`].
    pub fn register(name: &'static str) -> Self {
        Self {
            by_label: L::all()
                .iter()
                .map(|l| metrics::histogram!(name, L::KEY => l.as_str()))
                .collect(),
            _label: PhantomData,
        }
    }

    pub fn record(&self, label: L, value: f64) {
        self.by_label[label.index()].record(value);
    }
}

impl Label for SignOutReason {
    const KEY: &'static str = "reason";

    fn all() -> &'static [Self] {
        &Self::ALL
    }

    fn as_str(self) -> &'static str {
        SignOutReason::as_str(self)
    }

    fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    use super::*;

    label_enum! {
        enum Weather, key "weather" {
            Sunny => "sunny",
            /// A documented value.
            Rainy => "rainy",
        }
    }

    #[test]
    fn labels_index_their_own_handles() {
        for (i, reason) in SignOutReason::ALL.iter().enumerate() {
            assert_eq!(reason.index(), i, "{reason:?}");
        }
        assert_eq!(Weather::all(), [Weather::Sunny, Weather::Rainy]);
        assert_eq!(Weather::Rainy.index(), 1);
        assert_eq!(Weather::Rainy.as_str(), "rainy");
        assert_eq!(Weather::KEY, "weather");
    }

    #[test]
    fn every_value_is_registered_at_zero_and_counted_under_its_own_label() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            let revoked = Counters::<SignOutReason>::register(SESSIONS_REVOKED);
            revoked.increment(SignOutReason::Remote);
            revoked.increment(SignOutReason::Remote);
            revoked.increment(SignOutReason::KeyRevoked);
        });
        let mut counts: Vec<(String, u64)> = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .filter_map(|(key, _, _, value)| match value {
                DebugValue::Counter(n) => {
                    let label = key.key().labels().map(|l| l.value().to_owned()).collect();
                    Some((label, n))
                }
                _ => None,
            })
            .collect();
        counts.sort();
        assert_eq!(
            counts.len(),
            SignOutReason::ALL.len(),
            "one series per reason"
        );
        assert!(counts.contains(&("remote".into(), 2)));
        assert!(counts.contains(&("key_revoked".into(), 1)));
        assert!(counts.contains(&("admin".into(), 0)));
    }
}
