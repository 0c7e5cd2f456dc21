//! One scrape: the gauges that mirror state the node keeps anyway are read
//! from it, then everything is rendered in Prometheus's text format.
//!
//! The store is asked two counts (streams holding a slot, webhook
//! deliveries pending), each bounded by [`STORE_WAIT`]: a store that does
//! not answer shows as NaN, never as a stuck scrape. The counts are kept
//! for [`COUNTS_FOR`] and read by one scrape at a time, so however many
//! scrapers ask (several Prometheus servers, or anyone who reaches an open
//! port), the store is asked at most twice per period; their failures are
//! not database errors (`usher_database_errors_total` counts the service's
//! own operations).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use metrics::{Counter, Gauge};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::time::Instant;

use super::series;
use crate::bus::SharedBus;
use crate::clock::SharedClock;
use crate::domain::Millis;
use crate::live::LiveRegistry;
use crate::sessions::freshness::Freshness;
use crate::store::{SharedStore, StoreResult};

/// How long a scrape waits for each of the store's counts and for the bus.
const STORE_WAIT: Duration = Duration::from_millis(500);
/// How long the store's counts are shown again before they are read anew.
const COUNTS_FOR: Duration = Duration::from_secs(5);

/// Where a scrape reads the node's state.
pub struct Sources {
    pub live: Arc<LiveRegistry>,
    pub freshness: Arc<Freshness>,
    pub store: SharedStore,
    pub bus: SharedBus,
    pub clock: SharedClock,
}

/// Renders `/metrics`.
pub struct Scrape {
    sources: Sources,
    gauges: Gauges,
    counts: CountsCache,
    handle: PrometheusHandle,
}

/// The handles a scrape sets.
struct Gauges {
    live_connections: Gauge,
    streams_active: Gauge,
    webhook_outbox: Gauge,
    database_busy: Gauge,
    database_idle: Gauge,
    database_max: Gauge,
    database_waiting: Gauge,
    proof_age: Gauge,
    staleness_limit: Gauge,
    node_stale: Gauge,
    log_read_age: Gauge,
    revocations_behind: Gauge,
    bus_up: Gauge,
    bus_nodes: Gauge,
    bus_gaps: Counter,
}

impl Gauges {
    fn register() -> Self {
        use metrics::{counter, gauge};
        Self {
            live_connections: gauge!(series::LIVE_CONNECTIONS),
            streams_active: gauge!(series::STREAMS_ACTIVE),
            webhook_outbox: gauge!(series::WEBHOOK_OUTBOX),
            database_busy: gauge!(series::DATABASE_CONNECTIONS, "state" => "busy"),
            database_idle: gauge!(series::DATABASE_CONNECTIONS, "state" => "idle"),
            database_max: gauge!(series::DATABASE_CONNECTIONS_MAX),
            database_waiting: gauge!(series::DATABASE_WAITING),
            proof_age: gauge!(series::PROOF_AGE),
            staleness_limit: gauge!(series::STALENESS_LIMIT),
            node_stale: gauge!(series::NODE_STALE),
            log_read_age: gauge!(series::REVOCATION_LOG_READ_AGE),
            revocations_behind: gauge!(series::REVOCATIONS_BEHIND),
            bus_up: gauge!(series::BUS_UP),
            bus_nodes: gauge!(series::BUS_NODES),
            bus_gaps: counter!(series::BUS_GAPS),
        }
    }
}

impl Scrape {
    /// A scrape of `sources` rendered by `handle` (the process's recorder).
    pub fn new(sources: Sources, handle: PrometheusHandle) -> Self {
        Self {
            sources,
            gauges: Gauges::register(),
            counts: CountsCache::default(),
            handle,
        }
    }

    /// Reads the gauges, then renders every series.
    pub async fn render(&self) -> String {
        self.read_gauges().await;
        self.handle.render()
    }

    /// Folds recorded samples into their buckets (see [`super::UPKEEP_INTERVAL`]).
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }

    async fn read_gauges(&self) {
        let Sources {
            live,
            freshness,
            store,
            bus,
            clock,
        } = &self.sources;
        let g = &self.gauges;
        let now = clock.now();
        g.live_connections.set(live.connections() as f64);

        let reading = freshness.reading(now);
        g.proof_age.set(seconds_or_nan(reading.proof_age_ms));
        g.log_read_age.set(seconds_or_nan(reading.log_read_age_ms));
        g.staleness_limit
            .set(reading.limit_ms.map_or(0.0, |ms| ms as f64 / 1000.0));
        g.node_stale.set(f64::from(u8::from(reading.refusing)));
        g.revocations_behind.set(reading.behind as f64);
        g.bus_nodes.set(reading.nodes_heard as f64);
        g.bus_gaps.absolute(reading.gaps);

        let pool = store.pool_use();
        g.database_busy.set(f64::from(pool.busy));
        g.database_idle
            .set(f64::from(pool.open.saturating_sub(pool.busy)));
        g.database_max.set(f64::from(pool.max));
        g.database_waiting
            .set(pool.waiting.map_or(f64::NAN, f64::from));

        let counts = self.counts.get(|| async {
            let (streams, outbox) = tokio::join!(
                bounded(store.live_stream_count(now)),
                bounded(store.pending_webhooks()),
            );
            Counts { streams, outbox }
        });
        let (counts, bus_up) = tokio::join!(counts, tokio::time::timeout(STORE_WAIT, bus.ready()));
        g.streams_active.set(counts.streams);
        g.webhook_outbox.set(counts.outbox);
        g.bus_up.set(f64::from(u8::from(bus_up.unwrap_or(false))));
    }
}

/// The store's counts, as the latest read of them answered (NaN: failed or late).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Counts {
    streams: f64,
    outbox: f64,
}

/// The latest [`Counts`], read anew once they are [`COUNTS_FOR`] old by one
/// scrape while the others wait for its answer.
#[derive(Default)]
struct CountsCache {
    latest: tokio::sync::Mutex<Option<(Instant, Counts)>>,
}

impl CountsCache {
    async fn get<F: Future<Output = Counts>>(&self, read: impl FnOnce() -> F) -> Counts {
        let mut latest = self.latest.lock().await;
        if let Some((at, counts)) = *latest {
            if at.elapsed() < COUNTS_FOR {
                return counts;
            }
        }
        let at = Instant::now();
        let counts = read().await;
        *latest = Some((at, counts));
        counts
    }
}

/// A count from the store, or NaN when it fails or is late.
async fn bounded(count: impl std::future::Future<Output = StoreResult<u64>>) -> f64 {
    match tokio::time::timeout(STORE_WAIT, count).await {
        Ok(Ok(n)) => n as f64,
        _ => f64::NAN,
    }
}

fn seconds_or_nan(ms: Option<Millis>) -> f64 {
    ms.map_or(f64::NAN, |ms| ms.max(0) as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn scrapes_close_together_ask_the_store_once() {
        let cache = CountsCache::default();
        let reads = AtomicUsize::new(0);
        let read = || async {
            let n = reads.fetch_add(1, Ordering::SeqCst);
            // A store that takes its time: the other scrape waits for it.
            tokio::time::sleep(Duration::from_millis(100)).await;
            Counts {
                streams: n as f64,
                outbox: 0.0,
            }
        };
        let (a, b) = tokio::join!(cache.get(read), cache.get(read));
        assert_eq!(reads.load(Ordering::SeqCst), 1, "one read for both");
        assert_eq!(a, b);
        tokio::time::advance(COUNTS_FOR / 2).await;
        assert_eq!(cache.get(read).await, a, "still recent");
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        tokio::time::advance(COUNTS_FOR).await;
        assert_eq!(cache.get(read).await.streams, 1.0, "read anew");
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }
}
