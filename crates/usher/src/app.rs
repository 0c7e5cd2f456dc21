//! [`App`]: builds the service from a [`Config`], binds its listener and runs
//! it with its background tasks until shut down.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::bus::local::LocalBus;
use crate::bus::nats::NatsBus;
use crate::bus::SharedBus;
use crate::clock::{SharedClock, SystemClock};
use crate::config::Config;
use crate::core::Usher;
use crate::http::{router, AppState};

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
}

impl App {
    /// Builds with the wall clock.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Builds with the given clock (tests pass a `ManualClock`).
    pub async fn build_with_clock(config: Config, clock: SharedClock) -> anyhow::Result<Self> {
        let store = crate::store::open(&config.database_url()).await?;
        let bus: SharedBus = match &config.nats_url {
            Some(url) => Arc::new(NatsBus::connect(url, &config.nats_subject).await?),
            None => Arc::new(LocalBus::new()),
        };
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
        let address = listener.local_addr()?;
        let usher = Arc::new(Usher::new(config, store, bus, clock).await?);
        let state = AppState::new(usher);
        Ok(Self {
            listener,
            address,
            state,
        })
    }

    /// The bound address (useful with port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn usher(&self) -> Arc<Usher> {
        Arc::clone(&self.state.usher)
    }

    /// Cancel it to shut the server down gracefully.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.state.shutdown.clone()
    }

    /// Serves until the shutdown token is cancelled, then closes live
    /// connections (code 1001, so devices reconnect elsewhere), waits for
    /// them, and writes pending activity.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Self {
            listener,
            state,
            address,
        } = self;
        let usher = Arc::clone(&state.usher);
        let shutdown = state.shutdown.clone();
        let background = spawn_background(&usher, &shutdown);
        tracing::info!(%address, store = %usher.store.describe(), bus = %usher.bus.describe(), "usher is listening");
        let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        // No Nagle delay: a small live-channel frame (`signed_out`) written
        // right after another one must not wait for the device's ACK.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "could not set TCP_NODELAY");
            }
        });
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.clone().cancelled_owned())
            .await?;
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
        usher.flush_activity().await;
        tracing::info!("usher stopped");
        Ok(())
    }
}

fn spawn_background(
    usher: &Arc<Usher>,
    shutdown: &CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    let sessions = &usher.config.sessions;
    let every = |ms: u64| Duration::from_millis(ms.max(10));
    vec![
        tokio::spawn(crate::live::dispatch::run(
            Arc::clone(usher),
            shutdown.clone(),
            CATCH_UP_INTERVAL,
        )),
        periodic(
            usher,
            shutdown,
            every(sessions.activity_flush_interval_ms),
            |u| async move { u.flush_activity().await },
        ),
        periodic(
            usher,
            shutdown,
            every(sessions.idle_sweep_interval_ms),
            |u| async move {
                match u.expire_idle_sessions().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(sessions = n, "signed out idle sessions"),
                    Err(e) => tracing::warn!(error = %e, "idle sweep failed"),
                }
            },
        ),
        periodic(
            usher,
            shutdown,
            every(usher.config.streams.reap_interval_ms),
            |u| async move {
                if let Err(e) = u.expire_leases().await {
                    tracing::warn!(error = %e, "lease expiry sweep failed");
                }
            },
        ),
        tokio::spawn(crate::alerts::webhook::run(
            Arc::clone(usher),
            shutdown.clone(),
        )),
        periodic(usher, shutdown, HOUSEKEEPING_INTERVAL, |u| async move {
            match u.prune_activity().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(events = n, "pruned activity past its retention"),
                Err(e) => tracing::warn!(error = %e, "activity pruning failed"),
            }
            let now = u.clock.now();
            u.tokens.prune(now);
            // A tombstone must outlive every access token that could name its session.
            let keep_ms = (u.config.tokens.access_ttl_secs as i64 + 60) * 1000;
            u.sessions.prune_tombstones(now - keep_ms);
            u.throttle.tidy();
            u.pin_throttle.tidy();
            if let Err(e) = u.tokens.reload().await {
                tracing::warn!(error = %e, "could not reload signing keys");
            }
        }),
    ]
}

/// Runs `job` every `period` until shutdown.
fn periodic<F, Fut>(
    usher: &Arc<Usher>,
    shutdown: &CancellationToken,
    period: Duration,
    job: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(Arc<Usher>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let usher = Arc::clone(usher);
    let shutdown = shutdown.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => job(Arc::clone(&usher)).await,
            }
        }
    })
}
