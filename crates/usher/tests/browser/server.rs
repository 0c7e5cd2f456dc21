//! The server under test, and the devices (TVs, phones) that sign in to it
//! through the API beside the browser, each with its live channel open.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tempfile::TempDir;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use usher::clock::ManualClock;
use usher::{App, Config};
use usher_client::{
    Client, DeviceInfo, DeviceType, Lease, LiveEvent, SessionTokens, SignOutReason,
    StreamStopReason,
};

/// How long anything awaited may take before the test fails: a guard
/// against hanging, never a timing assertion. Generous, because a headless
/// browser on a shared two-core machine is sometimes slow to start.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The password every test account starts with.
pub const PASSWORD: &str = "correct horse battery staple";

/// The database of a test server: a fresh SQLite file in its own directory,
/// or (with `USHER_TEST_STORE=postgres`) a fresh PostgreSQL schema.
async fn database_url(dir: &Path) -> String {
    match std::env::var("USHER_TEST_STORE").as_deref() {
        Ok("postgres") => crate::support::fresh_postgres_schema().await,
        Ok("sqlite") | Err(_) => format!("sqlite://{}", dir.join("usher.db").display()),
        Ok(other) => panic!("USHER_TEST_STORE={other}: expected sqlite or postgres"),
    }
}

/// A running server with its own database and clock; shut down on drop.
pub struct TestApp {
    base_url: String,
    clock: ManualClock,
    client: Client,
    idle_timeout: Duration,
    shutdown: CancellationToken,
    _server: JoinHandle<anyhow::Result<()>>,
    _dir: TempDir,
}

impl TestApp {
    pub async fn spawn() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut config = Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.path().to_owned(),
            database_url: Some(database_url(dir.path()).await),
            ..Config::default()
        };
        // Real Argon2id at a cost that keeps sign-ins fast.
        config.password_hashing.memory_kib = 1024;
        config.password_hashing.iterations = 1;
        // Every sign-in of a test comes from 127.0.0.1.
        config.throttle.account_burst = 1_000;
        config.throttle.ip_burst = 10_000;
        // Sweep often, so an idle expiry shows soon after the clock moves.
        config.sessions.idle_sweep_interval_ms = 25;
        config.validate().expect("the test configuration is valid");
        let idle_timeout = Duration::from_secs(config.sessions.idle_timeout_secs);

        let clock = ManualClock::default();
        let app = App::build_with_clock(config, std::sync::Arc::new(clock.clone()))
            .await
            .expect("the server starts");
        let base_url = format!("http://{}", app.address());
        let shutdown = app.shutdown_token();
        let server = tokio::spawn(app.run_until_stopped());
        TestApp {
            client: Client::new(&base_url).expect("valid base URL"),
            base_url,
            clock,
            idle_timeout,
            shutdown,
            _server: server,
            _dir: dir,
        }
    }

    /// `http://127.0.0.1:PORT`, as the browser reaches it.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Creates `name@example.com` with [`PASSWORD`] on the default plan.
    pub async fn account(&self, name: &str) -> TestAccount {
        let email = format!("{name}@example.com");
        self.client
            .create_account(&email, PASSWORD, None)
            .await
            .expect("the account is created");
        TestAccount {
            email,
            password: PASSWORD.to_owned(),
            client: self.client.clone(),
        }
    }

    /// Moves the server's clock forward.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// How long an unused session stays signed in.
    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// An account whose password the test knows.
#[derive(Debug, Clone)]
pub struct TestAccount {
    pub email: String,
    pub password: String,
    client: Client,
}

impl TestAccount {
    /// Signs a device in through the API, with a model so the page has one
    /// to show.
    pub async fn sign_in(&self, name: &str, kind: DeviceType, model: &str) -> TestDevice {
        let device = DeviceInfo::new(name, kind).model(model);
        let tokens = self
            .client
            .sign_in(&self.email, &self.password, &device)
            .await
            .expect("the device signs in");
        TestDevice {
            client: self.client.with_token(&tokens.access_token),
            tokens,
        }
    }

    /// Signs a TV in, as the living-room TV of most tests.
    pub async fn tv(&self) -> TestDevice {
        self.sign_in("Living Room TV", DeviceType::Tv, "Bravia XR")
            .await
    }

    /// Signs a phone in.
    pub async fn phone(&self) -> TestDevice {
        self.sign_in("Alex's phone", DeviceType::Phone, "Pixel 8")
            .await
    }
}

/// A device signed in through the API.
#[derive(Debug, Clone)]
pub struct TestDevice {
    pub client: Client,
    pub tokens: SessionTokens,
}

impl TestDevice {
    pub fn session_id(&self) -> &str {
        &self.tokens.session_id
    }

    /// Opens the device's live channel and waits for its `hello`.
    pub async fn live(&self) -> Live {
        Live::open(self).await
    }

    /// Starts playing `title`, which must be admitted.
    pub async fn play(&self, title: &str) -> Lease {
        self.client
            .start_stream(title, None)
            .await
            .unwrap_or_else(|e| panic!("{title} should start on {}: {e}", self.session_id()))
    }

    /// Puts the device on the profile called `name` (unlocked); its id.
    pub async fn pick_profile(&self, name: &str) -> String {
        let list = self
            .client
            .raw(usher_client::Method::GET, "/v1/profiles")
            .send()
            .await
            .expect("an answer")
            .json()
            .expect("a profile list");
        let id = list["profiles"]
            .as_array()
            .expect("profiles")
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no profile called {name}: {list}"))["profile_id"]
            .as_str()
            .expect("an id")
            .to_owned();
        let picked = self
            .client
            .raw(usher_client::Method::POST, "/v1/sessions/current/profile")
            .json(&serde_json::json!({ "profile_id": id }))
            .expect("serialisable")
            .send()
            .await
            .expect("an answer");
        assert_eq!(picked.status, 200, "{}", picked.text());
        id
    }

    /// Asserts the device's tokens still work.
    pub async fn assert_signed_in(&self) {
        if let Err(e) = self.client.current_session().await {
            panic!("{} should still be signed in: {e}", self.session_id());
        }
    }

    /// Asserts the device's calls are refused as signed out for `reason`.
    pub async fn assert_signed_out(&self, reason: SignOutReason) {
        match self.client.current_session().await {
            Ok(session) => panic!("{} should be signed out: {session:?}", self.session_id()),
            Err(e) => {
                assert_eq!(
                    (e.status(), e.code(), e.reason()),
                    (Some(401), Some("session_revoked"), Some(reason.as_str())),
                    "{e}"
                );
            }
        }
    }
}

/// A device's open live channel. A task reads it all the time, as a real
/// device would (so pings are answered); the test takes events from a queue.
pub struct Live {
    session_id: String,
    events: mpsc::UnboundedReceiver<Result<LiveEvent, String>>,
    reader: JoinHandle<()>,
}

impl Live {
    async fn open(device: &TestDevice) -> Self {
        let mut connection = device
            .client
            .live(false)
            .await
            .unwrap_or_else(|e| panic!("{}'s live channel opens: {e}", device.session_id()));
        let (sender, events) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            while let Some(event) = connection.next_event().await {
                if sender.send(event.map_err(|e| e.to_string())).is_err() {
                    break;
                }
            }
        });
        let mut live = Live {
            session_id: device.session_id().to_owned(),
            events,
            reader,
        };
        match live.next().await {
            LiveEvent::Hello { session_id } => assert_eq!(session_id, live.session_id),
            other => panic!("expected hello, got {other}"),
        }
        live
    }

    /// The next event other than `devices_changed`.
    async fn next(&mut self) -> LiveEvent {
        loop {
            let event = match tokio::time::timeout(PATIENCE, self.events.recv()).await {
                Err(_) => panic!("{}: no live event within {PATIENCE:?}", self.session_id),
                Ok(None) => panic!("{}: the live channel ended", self.session_id),
                Ok(Some(Err(e))) => panic!("{}: the live channel failed: {e}", self.session_id),
                Ok(Some(Ok(event))) => event,
            };
            if !matches!(event, LiveEvent::DevicesChanged) {
                return event;
            }
        }
    }

    /// Awaits `signed_out` with `reason`.
    pub async fn expect_signed_out(&mut self, reason: SignOutReason) {
        match self.next().await {
            LiveEvent::SignedOut { reason: got, .. } => {
                assert_eq!(got, reason, "{}: signed_out reason", self.session_id)
            }
            other => panic!(
                "{}: expected signed_out ({reason}), got {other}",
                self.session_id
            ),
        }
    }

    /// Awaits `stream_stopped` for `stream_id` with `reason`.
    pub async fn expect_stream_stopped(&mut self, stream_id: &str, reason: StreamStopReason) {
        match self.next().await {
            LiveEvent::StreamStopped {
                stream_id: got,
                reason: why,
            } => assert_eq!((got.as_str(), why), (stream_id, reason)),
            other => panic!(
                "{}: expected stream_stopped {stream_id} ({reason}), got {other}",
                self.session_id
            ),
        }
    }

    /// Awaits `profile_locked` for `profile_id`.
    pub async fn expect_profile_locked(&mut self, profile_id: &str) {
        match self.next().await {
            LiveEvent::ProfileLocked { profile_id: got } => assert_eq!(got, profile_id),
            other => panic!(
                "{}: expected profile_locked {profile_id}, got {other}",
                self.session_id
            ),
        }
    }

    /// Asserts nothing but `devices_changed` has arrived so far.
    pub fn expect_nothing_yet(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            match event {
                Ok(LiveEvent::DevicesChanged) => continue,
                other => panic!("{}: unexpected live event {other:?}", self.session_id),
            }
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.reader.abort();
    }
}
