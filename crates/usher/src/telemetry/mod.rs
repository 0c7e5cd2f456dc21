//! Prometheus metrics, for the operator.
//!
//! Off by default: only with `metrics_listen` set does the node install the
//! process's recorder and serve `GET /metrics` on that separate listener
//! (`listener.rs`), never on the public one. Without it every handle is a
//! no-op and nothing is kept.
//!
//! Counters and histograms on hot paths are handles registered once, when
//! the service that counts them is built (`series.rs`). Gauges that mirror
//! state the node keeps anyway (connections held, the freshness proof, the
//! store's pool, the outbox) are read from it just before each scrape
//! (`scrape.rs`) rather than updated on every change.

pub mod listener;
pub mod scrape;
pub mod series;

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// How often recorded histogram samples are folded into their buckets when
/// nobody scrapes (a scrape folds them too), so memory stays bounded.
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The process's Prometheus recorder, installed on first use.
///
/// The recorder is process-wide (the `metrics` facade has one). In
/// production a process runs one node, so its series are that node's. In a
/// process with several (tests), the first to turn metrics on installs the
/// recorder, and every node built from then on records into it, metrics on
/// or not: their counters and histograms add up, while each gauge shows
/// whichever node set it last (a scrape sets them from the node serving
/// it). Tests that need one node's figures run `usher serve` as a child
/// process.
pub fn recorder() -> anyhow::Result<PrometheusHandle> {
    static HANDLE: Mutex<Option<PrometheusHandle>> = Mutex::new(None);
    let mut installed = HANDLE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(handle) = &*installed {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(series::REVOCATION_PROPAGATION.to_owned()),
            &series::PROPAGATION_BUCKETS,
        )?
        .install_recorder()
        .map_err(|e| anyhow::anyhow!("cannot install the metrics recorder: {e}"))?;
    series::describe();
    metrics::gauge!(series::BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    *installed = Some(handle.clone());
    Ok(handle)
}

/// Microseconds since the Unix epoch on this machine's wall clock: when a
/// revocation committed, for the propagation histogram. Measures only;
/// nothing is decided by it (the domain's time is the injected clock).
pub fn wall_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}
