//! A scrape whose store counts fail shows them as NaN and leaves
//! `usher_database_errors_total` alone, which counts the service's own
//! operations (a failed one still moves it).
//!
//! A binary of its own: it installs the process-wide metrics recorder,
//! which no other test may share.

use std::sync::Arc;

use usher::bus::local::LocalBus;
use usher::bus::{NodeId, Stamper};
use usher::clock::{SharedClock, SystemClock};
use usher::live::{Caps, LiveRegistry};
use usher::sessions::freshness::Freshness;
use usher::telemetry::scrape::{Scrape, Sources};

/// The value of `series` (name and labels, as rendered) in `text`.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
        .parse()
        .expect("a number")
}

#[tokio::test]
async fn a_failed_scrape_count_is_not_a_database_error() {
    let handle = usher::telemetry::recorder().expect("the recorder installs");
    let dir = tempfile::tempdir().expect("a data directory");
    let file = dir.path().join("usher.db");
    let store = usher::store::open(&format!("sqlite://{}", file.display()))
        .await
        .expect("the store opens");
    let clock: SharedClock = Arc::new(SystemClock);
    let node = NodeId::random();
    let scrape = Scrape::new(
        Sources {
            live: Arc::new(LiveRegistry::new(Caps {
                per_session: 5,
                per_account: 5,
            })),
            freshness: Arc::new(Freshness::new(node, None, false, Arc::clone(&clock))),
            store: Arc::clone(&store),
            bus: Arc::new(LocalBus::new(Stamper::new(node, Arc::clone(&clock)))),
            clock,
        },
        handle,
    );
    // The table the outbox count reads is gone: that count fails.
    rusqlite::Connection::open(&file)
        .and_then(|conn| conn.execute_batch("DROP TABLE webhook_outbox"))
        .expect("the table is dropped");
    const OTHER: &str = r#"usher_database_errors_total{kind="other"}"#;
    let text = scrape.render().await;
    assert!(
        value(&text, "usher_webhook_outbox_pending").is_nan(),
        "the count failed:\n{text}"
    );
    assert_eq!(
        value(&text, "usher_streams_active"),
        0.0,
        "the other did not"
    );
    assert_eq!(value(&text, OTHER), 0.0, "a scrape's own failure");

    // The service's own read of the same table is a database error.
    store
        .next_webhook_due()
        .await
        .expect_err("no outbox to read");
    assert_eq!(value(&scrape.render().await, OTHER), 1.0);
}
