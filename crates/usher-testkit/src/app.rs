//! The server under test: the real app on port 0 with its own database and a
//! manual clock, shut down when dropped.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use axum::response::Response;
use chrono::{DateTime, Utc};
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use usher::clock::{Clock, ManualClock};
use usher::services::Services;
use usher::{App, Config};
use usher_client::{Client, DeviceType};

use crate::{TestAccount, TestDevice, PATIENCE};

/// Which store the suite runs on: `sqlite` (default) or `postgres`.
const TEST_STORE_ENV: &str = "USHER_TEST_STORE";

/// The database a test server uses: a fresh SQLite file in the test's own
/// directory, or (with `USHER_TEST_STORE=postgres`) a fresh PostgreSQL schema.
pub async fn database_url(dir: &Path) -> String {
    match std::env::var(TEST_STORE_ENV).as_deref() {
        Ok("postgres") => crate::postgres::fresh_postgres_schema().await,
        Ok("sqlite") | Err(_) => format!("sqlite://{}", dir.join("usher.db").display()),
        Ok(other) => panic!("{TEST_STORE_ENV}={other}: expected sqlite or postgres"),
    }
}

/// The configuration of every test server (and cluster node) before a test
/// adjusts it: port 0, cheap password hashing, an address limit that every
/// sign-in from 127.0.0.1 fits in (the failure budgets are the defaults).
pub fn test_config(database_url: String) -> Config {
    let mut config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: Some(database_url),
        ..Config::default()
    };
    // Real Argon2id at a cost that keeps sign-ins fast.
    config.password_hashing.memory_kib = 1024;
    config.password_hashing.iterations = 1;
    // Every sign-in of a test comes from 127.0.0.1; only throttle tests tighten this.
    config.throttle.address_burst = 10_000;
    // Likewise every sign-up: only sign-up tests limit them per address.
    config.accounts.sign_up_burst = 10_000;
    // Likewise every connection: only connection tests cap them per address.
    config.http.max_connections_per_address = 100_000;
    config
}

/// A running server with its own database and clock; shut down on drop.
pub struct TestApp {
    pub address: SocketAddr,
    pub clock: ManualClock,
    client: Client,
    router: axum::Router,
    services: Services,
    shutdown: CancellationToken,
    server: Option<JoinHandle<anyhow::Result<()>>>,
    config: Config,
    dir: Option<TempDir>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Starts a server whose configuration `configure` has adjusted.
    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut config = test_config(database_url(dir.path()).await);
        config.data_dir = dir.path().to_owned();
        // Sweep often, so idle expiry shows up as an event soon after the clock moves.
        config.sessions.idle_sweep_interval_ms = 25;
        configure(&mut config);
        Self::start(config, dir, ManualClock::default()).await
    }

    async fn start(config: Config, dir: TempDir, clock: ManualClock) -> Self {
        config.validate().expect("the test configuration is valid");
        let app = App::build_with_clock(config.clone(), Arc::new(clock.clone()))
            .await
            .expect("the server starts");
        let address = app.address();
        let services = app.services();
        let router = app.router();
        let shutdown = app.shutdown_token();
        let server = tokio::spawn(app.run_until_stopped());
        TestApp {
            address,
            clock,
            client: Client::new(&format!("http://{address}")).expect("valid base URL"),
            router,
            services,
            shutdown,
            server: Some(server),
            config,
            dir: Some(dir),
        }
    }

    /// Stops the server gracefully and starts another on the same database
    /// and clock, with its configuration adjusted by `configure`.
    pub async fn restart_with(mut self, configure: impl FnOnce(&mut Config)) -> Self {
        self.stopped().await;
        let mut config = self.config.clone();
        configure(&mut config);
        let dir = self.dir.take().expect("the data directory is kept");
        Self::start(config, dir, self.clock.clone()).await
    }

    /// Shuts the server down gracefully and waits until it has stopped.
    pub async fn stop(mut self) {
        self.stopped().await;
    }

    async fn stopped(&mut self) {
        self.shutdown.cancel();
        let server = self.server.take().expect("the server runs until stopped");
        tokio::time::timeout(PATIENCE, server)
            .await
            .expect("the server stops in time")
            .expect("the server task does not panic")
            .expect("the server stops cleanly");
    }

    /// `http://127.0.0.1:PORT`, as a browser reaches it.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Answers `request` in-process, on the running server's state but
    /// without a socket (so with no client address): fast enough for
    /// property tests that send hundreds of requests.
    pub async fn oneshot(&self, request: Request<Body>) -> Response {
        self.router
            .clone()
            .oneshot(request)
            .await
            .expect("the router always answers")
    }

    /// The server's router (what [`TestApp::oneshot`] answers with), for
    /// tests that list its routes.
    pub fn router(&self) -> &axum::Router {
        &self.router
    }

    /// A client with no token.
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// Creates `name@example.com` with [`PASSWORD`](crate::PASSWORD) on the default plan.
    pub async fn account(&self, name: &str) -> TestAccount {
        TestAccount::create(&self.client, name).await
    }

    /// Creates `name@example.com` with [`PASSWORD`](crate::PASSWORD) on
    /// `plan`: signed up, then moved to the plan by the operator (a sign-up
    /// cannot choose one).
    pub async fn account_on(&self, name: &str, plan: &str) -> TestAccount {
        let account = self.account(name).await;
        self.set_plan(&account, plan).await;
        account
    }

    /// An account with a device signed in, for tests about one device.
    pub async fn signed_in(&self, name: &str) -> TestDevice {
        self.account(name)
            .await
            .sign_in("Living Room TV", DeviceType::Tv)
            .await
    }

    /// Moves the server's clock forward.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Waits until the server sleeps on its clock (a retry scheduled for
    /// later, say), then moves the clock to the earliest time it waits for,
    /// so that the wait ends exactly when the server started it: no pacing.
    pub async fn advance_when_waiting(&self) {
        let at = tokio::time::timeout(PATIENCE, self.clock.next_sleeper())
            .await
            .expect("the server waits for time on its clock");
        self.clock.advance_to(at);
    }

    /// The server's time now, at the millisecond precision of the API.
    pub fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.clock.now()).expect("the clock is in range")
    }

    /// How long an unused session stays signed in.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.config.sessions.idle_timeout_secs)
    }

    /// Moves `account` to `plan`, as `usher account set-plan` does.
    pub async fn set_plan(&self, account: &TestAccount, plan: &str) {
        // Operator actions reach the domain here, in `prune_activity` and in `keys.rs` only.
        account.move_to_plan(&self.services, plan).await;
    }

    /// The server's services, for the operator's actions (`keys.rs`).
    pub(crate) fn operator(&self) -> &Services {
        &self.services
    }

    /// The server's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Deletes history past its retention, as the daily prune does; how many
    /// entries went.
    pub async fn prune_activity(&self) -> u64 {
        self.services.activity.prune().await.expect("pruned")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
