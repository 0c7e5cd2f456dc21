//! [`App`]: builds the services from a [`Config`], binds its listener and
//! runs them with their background tasks until shut down.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::accounts::{AccountPorts, Accounts, SignUpGate};
use crate::activity::Activity;
use crate::alerts::Alerts;
use crate::auth::passwords::PasswordHasher;
use crate::bus::local::LocalBus;
use crate::bus::nats::NatsBus;
use crate::bus::{NodeId, SharedBus, Stamper};
use crate::clock::{SharedClock, SystemClock};
use crate::config::Config;
use crate::devices::Devices;
use crate::geo::Geo;
use crate::http::router;
use crate::http::state::AppState;
use crate::live::dispatch::Dispatcher;
use crate::live::{Caps, LiveRegistry};
use crate::profiles::{ProfilePorts, Profiles};
use crate::services::Services;
use crate::sessions::freshness::Freshness;
use crate::sessions::{SessionPorts, Sessions};
use crate::store::SharedStore;
use crate::streams::Streams;
use crate::telemetry::scrape::{Scrape, Sources};

/// How long shutdown waits for live connections to close.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How often caches and limiters are tidied and signing keys re-read.
const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(60);
/// How often a node re-reads the revocation log as a safety net.
const CATCH_UP_INTERVAL: Duration = Duration::from_secs(1);

pub struct App {
    listener: TcpListener,
    address: SocketAddr,
    state: AppState,
    metrics: Option<MetricsListener>,
}

/// The metrics listener, when `metrics_listen` is set.
struct MetricsListener {
    listener: TcpListener,
    address: SocketAddr,
    handle: metrics_exporter_prometheus::PrometheusHandle,
}

impl App {
    /// Builds with the wall clock.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Builds with the given clock (tests pass a `ManualClock`).
    pub async fn build_with_clock(config: Config, clock: SharedClock) -> anyhow::Result<Self> {
        // First, so that every handle the services register records.
        let metrics = match config.metrics_listen {
            Some(at) => Some(MetricsListener::bind(at).await?),
            None => None,
        };
        let store = crate::store::open(&config.database_url()).await?;
        crate::accounts::emails::recheck_at_start_up(&*store).await?;
        let node = NodeId::random();
        let stamper = Stamper::new(node, Arc::clone(&clock));
        let bus: SharedBus = match &config.nats_url {
            Some(url) => Arc::new(NatsBus::connect(url, &config.nats_subject, stamper).await?),
            None => Arc::new(LocalBus::new(stamper)),
        };
        let freshness = Arc::new(Freshness::new(
            node,
            config.sessions.max_staleness(),
            bus.proves_freshness(),
            Arc::clone(&clock),
        ));
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
        let address = listener.local_addr()?;
        // First: a missing or damaged location database stops start-up early.
        let geo = Arc::new(Geo::open(&config.locations)?);
        let services = build_services(
            &config,
            Arc::clone(&store),
            Arc::clone(&bus),
            Arc::clone(&clock),
            &geo,
            freshness,
        )
        .await?;
        let state = AppState::new(services, config, geo, store, bus, clock);
        Ok(Self {
            listener,
            address,
            state,
            metrics,
        })
    }

    /// The bound address (useful with port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The metrics listener's bound address, when metrics are on.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|m| m.address)
    }

    /// The routes on this server's state without a socket, for tests that
    /// drive requests in-process (`tower::ServiceExt::oneshot`).
    pub fn router(&self) -> axum::Router {
        router(self.state.clone())
    }

    /// The services behind the server, for operator tasks and tests.
    pub fn services(&self) -> Services {
        self.state.services.clone()
    }

    /// The store and bus, described for the start-up banner.
    pub fn describe(&self) -> (String, String) {
        (self.state.store.describe(), self.state.bus.describe())
    }

    /// Cancel it to shut the server down gracefully.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.state.shutdown.clone()
    }

    /// Serves until the shutdown token is cancelled, then closes live
    /// connections (code 1001, so devices reconnect elsewhere), waits for
    /// them, and writes pending last-seen times.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Self {
            listener,
            state,
            address,
            metrics,
        } = self;
        let shutdown = state.shutdown.clone();
        let mut background = spawn_background(&state, &shutdown);
        if let Some(metrics) = metrics {
            background.extend(metrics.spawn(&state, &shutdown));
        }
        tracing::info!(%address, store = %state.store.describe(), bus = %state.bus.describe(), "usher is listening");
        crate::http::serve::serve(
            listener,
            router(state.clone()),
            &state.config.http,
            Arc::clone(&state.geo),
            shutdown.clone(),
        )
        .await;
        state.tracker.close();
        if tokio::time::timeout(DRAIN_TIMEOUT, state.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("some live connections did not close in time");
        }
        for task in background {
            let _ = task.await;
        }
        state.sessions().flush_last_seen().await;
        tracing::info!("usher stopped");
        Ok(())
    }
}

impl MetricsListener {
    /// Installs the process's recorder and binds the listener.
    async fn bind(at: SocketAddr) -> anyhow::Result<Self> {
        let handle = crate::telemetry::recorder()?;
        let listener = TcpListener::bind(at)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {at} for metrics: {e}"))?;
        let address = listener.local_addr()?;
        Ok(Self {
            listener,
            address,
            handle,
        })
    }

    /// Serves `/metrics` and folds histogram samples until shutdown.
    fn spawn(
        self,
        state: &AppState,
        shutdown: &CancellationToken,
    ) -> [tokio::task::JoinHandle<()>; 2] {
        let sources = Sources {
            live: Arc::clone(&state.services.live),
            freshness: Arc::clone(state.services.sessions.freshness()),
            store: Arc::clone(&state.store),
            bus: Arc::clone(&state.bus),
            clock: Arc::clone(&state.clock),
        };
        let scrape = Arc::new(Scrape::new(sources, self.handle));
        tracing::info!(address = %self.address, "metrics listener");
        let server = {
            let (scrape, shutdown) = (Arc::clone(&scrape), shutdown.clone());
            let (http, geo) = (state.config.http.clone(), Arc::clone(&state.geo));
            tokio::spawn(async move {
                crate::telemetry::listener::serve(self.listener, scrape, &http, geo, shutdown)
                    .await;
            })
        };
        let upkeep = periodic(
            &scrape,
            shutdown,
            crate::telemetry::UPKEEP_INTERVAL,
            |s| async move { s.upkeep() },
        );
        [server, upkeep]
    }
}

/// Opens the configured store with an in-process bus and builds the
/// services on it, for operator commands.
pub async fn open_services(config: &Config) -> anyhow::Result<Services> {
    let store = crate::store::open(&config.database_url()).await?;
    let clock: SharedClock = Arc::new(SystemClock);
    let node = NodeId::random();
    let bus: SharedBus = Arc::new(LocalBus::new(Stamper::new(node, Arc::clone(&clock))));
    let geo = Arc::new(Geo::open(&config.locations)?);
    // An operator command checks no session: no staleness guard.
    let freshness = Arc::new(Freshness::new(node, None, false, Arc::clone(&clock)));
    build_services(config, store, bus, clock, &geo, freshness).await
}

/// Wires the services together: each gets the ports it needs and the
/// services it calls (built before it, so there are no cycles).
async fn build_services(
    config: &Config,
    store: SharedStore,
    bus: SharedBus,
    clock: SharedClock,
    geo: &Arc<Geo>,
    freshness: Arc<Freshness>,
) -> anyhow::Result<Services> {
    let hasher = Arc::new(PasswordHasher::start(&config.password_hashing)?);
    let activity = Arc::new(Activity::new(
        Arc::clone(&store),
        Arc::clone(&clock),
        Arc::clone(geo),
        config.activity.retention_days,
    ));
    let alerts = Arc::new(Alerts::new(
        &config.alerts,
        Arc::clone(&store),
        Arc::clone(&clock),
        Arc::clone(geo),
        Arc::clone(&activity),
    ));
    let sessions = Arc::new(
        Sessions::new(
            config,
            SessionPorts {
                store: Arc::clone(&store),
                bus: Arc::clone(&bus),
                clock: Arc::clone(&clock),
                hasher: Arc::clone(&hasher),
                geo: Arc::clone(geo),
                activity: Arc::clone(&activity),
                alerts: Arc::clone(&alerts),
                freshness,
            },
        )
        .await?,
    );
    let devices = Arc::new(Devices::new(
        Arc::clone(&store),
        Arc::clone(&bus),
        Arc::clone(&clock),
        Arc::clone(&sessions),
        Arc::clone(&activity),
        Arc::clone(&alerts),
    ));
    let streams = Arc::new(Streams::new(
        &config.streams,
        config.plans(),
        Arc::clone(&store),
        Arc::clone(&bus),
        Arc::clone(&clock),
        Arc::clone(&sessions),
        Arc::clone(&activity),
    ));
    let profiles = Arc::new(Profiles::new(
        &config.profiles,
        ProfilePorts {
            store: Arc::clone(&store),
            bus: Arc::clone(&bus),
            clock: Arc::clone(&clock),
            hasher: Arc::clone(&hasher),
            sessions: Arc::clone(&sessions),
            streams: Arc::clone(&streams),
            activity: Arc::clone(&activity),
        },
    ));
    let accounts = Arc::new(Accounts::new(
        config.plans(),
        config.default_plan.clone(),
        SignUpGate::new(&config.accounts, Arc::clone(&clock)),
        AccountPorts {
            store,
            clock,
            hasher,
            sessions: Arc::clone(&sessions),
            streams: Arc::clone(&streams),
            activity: Arc::clone(&activity),
        },
    ));
    Ok(Services {
        sessions,
        devices,
        streams,
        profiles,
        activity,
        alerts,
        accounts,
        live: Arc::new(LiveRegistry::new(Caps::from(&config.live))),
    })
}

fn spawn_background(
    state: &AppState,
    shutdown: &CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    let services = &state.services;
    let config = &state.config;
    let every = |ms: u64| Duration::from_millis(ms.max(10));
    let dispatcher = Dispatcher {
        sessions: Arc::clone(&services.sessions),
        live: Arc::clone(&services.live),
        store: Arc::clone(&state.store),
        bus: Arc::clone(&state.bus),
        clock: Arc::clone(&state.clock),
        metrics: crate::live::dispatch::DispatchMetrics::register(),
    };
    let freshness = Arc::clone(services.sessions.freshness());
    let mut tasks = vec![
        tokio::spawn(crate::live::dispatch::run(
            dispatcher,
            shutdown.clone(),
            CATCH_UP_INTERVAL,
        )),
        periodic(
            &services.sessions,
            shutdown,
            every(config.sessions.last_seen_flush_interval_ms),
            |s| async move { s.flush_last_seen().await },
        ),
        periodic(
            &services.sessions,
            shutdown,
            every(config.sessions.idle_sweep_interval_ms),
            |s| async move {
                match s.expire_idle_sessions().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(sessions = n, "signed out idle sessions"),
                    Err(e) => tracing::warn!(error = %e, "idle sweep failed"),
                }
            },
        ),
        periodic(
            &services.streams,
            shutdown,
            every(config.streams.reap_interval_ms),
            |s| async move {
                if let Err(e) = s.expire_leases().await {
                    tracing::warn!(error = %e, "lease expiry sweep failed");
                }
            },
        ),
        tokio::spawn(crate::alerts::webhook::run(
            Arc::clone(&services.alerts),
            shutdown.clone(),
        )),
        periodic(services, shutdown, HOUSEKEEPING_INTERVAL, |s| async move {
            match s.activity.prune().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(events = n, "pruned activity past its retention"),
                Err(e) => tracing::warn!(error = %e, "activity pruning failed"),
            }
            s.profiles.housekeeping();
            s.alerts.housekeeping();
            s.accounts.housekeeping();
            s.sessions.housekeeping().await;
        }),
    ];
    if freshness.enabled() && state.bus.proves_freshness() {
        let period = heartbeat_period(config.sessions.max_staleness_secs);
        tasks.push(tokio::spawn(crate::live::dispatch::heartbeat(
            Arc::clone(&state.bus),
            freshness,
            shutdown.clone(),
            period,
        )));
    }
    tasks
}

/// Every node heartbeats several times within the staleness bound, and at
/// least every second, so a healthy bus keeps every node's proof recent.
fn heartbeat_period(max_staleness_secs: u64) -> Duration {
    (Duration::from_secs(max_staleness_secs) / 4).min(Duration::from_secs(1))
}

/// Runs `job` on `target` every `period` until shutdown.
fn periodic<T, F, Fut>(
    target: &T,
    shutdown: &CancellationToken,
    period: Duration,
    job: F,
) -> tokio::task::JoinHandle<()>
where
    T: Clone + Send + Sync + 'static,
    F: Fn(T) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let target = target.clone();
    let shutdown = shutdown.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => job(target.clone()).await,
            }
        }
    })
}
