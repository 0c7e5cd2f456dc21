//! The server under test and the vocabulary the tests speak: accounts,
//! signed-in devices, their live channels, and the problems they get back.

use std::fmt::Debug;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use usher::clock::{Clock, ManualClock};
use usher::services::Services;
use usher::{App, Config};
use usher_client::{
    Client, Device, DeviceInfo, DeviceType, Lease, LiveConnection, LiveEvent, Method, Problem,
    RawResponse, SessionTokens, SignOutReason, StreamStopReason, CLOSE_SIGNED_OUT,
};

/// How long anything awaited may take before the test fails. A guard against
/// hanging, never a timing assertion: on a healthy server events arrive in
/// milliseconds.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The password every test account starts with.
pub const PASSWORD: &str = "correct horse battery staple";

/// Which store the suite runs on: `sqlite` (default) or `postgres`.
const TEST_STORE_ENV: &str = "USHER_TEST_STORE";

/// The database a test server uses: a fresh SQLite file in the test's own
/// directory, or (with `USHER_TEST_STORE=postgres`) a fresh PostgreSQL schema.
pub async fn database_url(dir: &Path) -> String {
    match std::env::var(TEST_STORE_ENV).as_deref() {
        Ok("postgres") => crate::support::fresh_postgres_schema().await,
        Ok("sqlite") | Err(_) => format!("sqlite://{}", dir.join("usher.db").display()),
        Ok(other) => panic!("{TEST_STORE_ENV}={other}: expected sqlite or postgres"),
    }
}

/// The configuration of every test server before a test adjusts it.
async fn test_config(dir: &Path) -> Config {
    let mut config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: dir.to_owned(),
        database_url: Some(database_url(dir).await),
        ..Config::default()
    };
    // Real Argon2id at a cost that keeps sign-ins fast.
    config.password_hashing.memory_kib = 1024;
    config.password_hashing.iterations = 1;
    // Every sign-in of a test comes from 127.0.0.1; only throttle tests tighten these.
    config.throttle.account_burst = 1_000;
    config.throttle.ip_burst = 10_000;
    // Sweep often, so idle expiry shows up as an event soon after the clock moves.
    config.sessions.idle_sweep_interval_ms = 25;
    config
}

/// A running server with its own database and clock; shut down on drop.
pub struct TestApp {
    pub address: SocketAddr,
    pub clock: ManualClock,
    client: Client,
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
        let mut config = test_config(dir.path()).await;
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
        let shutdown = app.shutdown_token();
        let server = tokio::spawn(app.run_until_stopped());
        TestApp {
            address,
            clock,
            client: Client::new(&format!("http://{address}")).expect("valid base URL"),
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
        self.shutdown.cancel();
        let server = self.server.take().expect("the server runs until stopped");
        tokio::time::timeout(PATIENCE, server)
            .await
            .expect("the server stops in time")
            .expect("the server task does not panic")
            .expect("the server stops cleanly");
        let mut config = self.config.clone();
        configure(&mut config);
        let dir = self.dir.take().expect("the data directory is kept");
        Self::start(config, dir, self.clock.clone()).await
    }

    /// A client with no token.
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// Creates `name@example.com` with [`PASSWORD`] on the default plan.
    pub async fn account(&self, name: &str) -> TestAccount {
        TestAccount::create(&self.client, name, None).await
    }

    /// Creates `name@example.com` with [`PASSWORD`] on `plan`.
    pub async fn account_on(&self, name: &str, plan: &str) -> TestAccount {
        TestAccount::create(&self.client, name, Some(plan)).await
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

    /// The server's time now, at the millisecond precision of the API.
    pub fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.clock.now()).expect("the clock is in range")
    }

    /// The services behind the server, for what only an operator can do.
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Moves `account` to `plan`, as `usher account set-plan` does.
    pub async fn set_plan(&self, account: &TestAccount, plan: &str) {
        let id = account.id.parse().expect("an account id");
        self.services()
            .accounts
            .set_plan(id, usher::domain::PlanName(plan.to_owned()))
            .await
            .expect("the plan is changed");
    }

    /// Shuts the server down gracefully and waits until it has stopped.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        let server = self.server.take().expect("the server runs until stopped");
        tokio::time::timeout(PATIENCE, server)
            .await
            .expect("the server stops in time")
            .expect("the server task does not panic")
            .expect("the server stops cleanly");
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
    pub id: String,
    pub email: String,
    pub password: String,
    client: Client,
}

impl TestAccount {
    /// Creates `name@example.com` with [`PASSWORD`] through `client`'s server.
    pub async fn create(client: &Client, name: &str, plan: Option<&str>) -> Self {
        let email = format!("{name}@example.com");
        let created = client
            .create_account(&email, PASSWORD, plan)
            .await
            .expect("the account is created");
        TestAccount {
            id: created.account_id,
            email,
            password: PASSWORD.to_owned(),
            client: client.without_token(),
        }
    }

    /// The same account on another server process (after a restart).
    pub fn on(&self, server: &Client) -> Self {
        TestAccount {
            client: server.without_token(),
            ..self.clone()
        }
    }

    /// Signs a device in, with a model so the device list has one to show.
    pub async fn sign_in(&self, name: &str, kind: DeviceType) -> TestDevice {
        self.sign_in_device(&DeviceInfo::new(name, kind).model(format!("{name} model")))
            .await
    }

    pub async fn sign_in_device(&self, device: &DeviceInfo) -> TestDevice {
        let tokens = self
            .client
            .sign_in(&self.email, &self.password, device)
            .await
            .expect("the device signs in");
        TestDevice::new(&self.client, tokens)
    }

    /// Signs a device in with another password (after a change).
    pub async fn sign_in_with_password(&self, name: &str, password: &str) -> TestDevice {
        let tokens = self
            .client
            .sign_in(
                &self.email,
                password,
                &DeviceInfo::new(name, DeviceType::Phone),
            )
            .await
            .expect("the device signs in with the new password");
        TestDevice::new(&self.client, tokens)
    }

    /// A phone's sign-in with `password`, for tests that expect a refusal.
    pub async fn try_sign_in(&self, password: &str) -> usher_client::Result<SessionTokens> {
        let phone = DeviceInfo::new("Phone", DeviceType::Phone);
        self.client.sign_in(&self.email, password, &phone).await
    }
}

/// A signed-in device: a client carrying its access token, and its tokens.
#[derive(Debug, Clone)]
pub struct TestDevice {
    pub client: Client,
    pub tokens: SessionTokens,
}

impl TestDevice {
    pub fn new(server: &Client, tokens: SessionTokens) -> Self {
        TestDevice {
            client: server.with_token(&tokens.access_token),
            tokens,
        }
    }

    pub fn session_id(&self) -> &str {
        &self.tokens.session_id
    }

    /// The same device talking to another server process (after a restart).
    pub fn on(&self, server: &Client) -> Self {
        TestDevice::new(server, self.tokens.clone())
    }

    /// Starts playing `title`, which must be admitted.
    pub async fn play(&self, title: &str) -> Lease {
        self.client
            .start_stream(title, None)
            .await
            .unwrap_or_else(|e| panic!("{title} should start on {}: {e}", self.session_id()))
    }

    /// The ids of the streams holding the account's slots, sorted.
    pub async fn streams_playing(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .client
            .streams()
            .await
            .expect("the stream list")
            .into_iter()
            .map(|s| s.stream_id)
            .collect();
        ids.sort();
        ids
    }

    /// Opens the live channel and waits for its `hello`.
    pub async fn live(&self) -> Live {
        Live::opened(self.client.live(false).await, self.session_id()).await
    }

    /// Opens the live channel as an account page that watches the device list.
    pub async fn watch_devices(&self) -> Live {
        Live::opened(self.client.live(true).await, self.session_id()).await
    }

    /// Asserts that every call with this device's tokens is refused with `reason`.
    pub async fn assert_signed_out(&self, reason: SignOutReason) {
        self.client.current_session().await.expect_revoked(&reason);
        self.client
            .refresh(&self.tokens.refresh_token)
            .await
            .expect_revoked(&reason);
        self.client.live(false).await.expect_revoked(&reason);
    }

    /// The session ids in this device's device list.
    pub async fn device_list(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .client
            .devices()
            .await
            .expect("the device list")
            .into_iter()
            .map(|d| d.session_id)
            .collect();
        ids.sort();
        ids
    }
}

/// Profile calls. The typed client does not model profiles, so these are
/// raw requests; each asserts the answer it expects.
impl TestDevice {
    /// Sends `method path` with an optional JSON body, as this device.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> RawResponse {
        let mut request = self.client.raw(method, path);
        if let Some(body) = body {
            request = request.json(&body).expect("serialisable");
        }
        request.send().await.expect("an answer")
    }

    /// `GET /v1/profiles`.
    pub async fn profiles(&self) -> Value {
        let answer = self.call(Method::GET, "/v1/profiles", None).await;
        expect_json(&answer, 200)
    }

    /// The account's profile ids and names, in the listed order.
    pub async fn profile_names(&self) -> Vec<String> {
        self.profiles().await["profiles"]
            .as_array()
            .expect("a profile list")
            .iter()
            .map(|p| p["name"].as_str().expect("a name").to_owned())
            .collect()
    }

    /// The default profile's id.
    pub async fn default_profile(&self) -> String {
        let list = self.profiles().await;
        let default = list["profiles"]
            .as_array()
            .expect("a profile list")
            .iter()
            .find(|p| p["default"] == true)
            .expect("a default profile");
        default["profile_id"].as_str().expect("an id").to_owned()
    }

    /// Adds a profile, which must succeed; its id.
    pub async fn add_profile(&self, name: &str) -> String {
        let answer = self
            .call(Method::POST, "/v1/profiles", Some(json!({ "name": name })))
            .await;
        let created = expect_json(&answer, 201);
        assert_eq!(created["name"], name.trim());
        assert_eq!(created["locked"], false);
        created["profile_id"].as_str().expect("an id").to_owned()
    }

    /// Sets or changes a profile's PIN with the right password.
    pub async fn lock_profile(&self, profile_id: &str, pin: &str) {
        let answer = self.set_pin(profile_id, PASSWORD, pin).await;
        let locked = expect_json(&answer, 200);
        assert_eq!(locked["locked"], true);
    }

    /// `PUT /v1/profiles/{id}/pin`.
    pub async fn set_pin(&self, profile_id: &str, password: &str, pin: &str) -> RawResponse {
        let body = json!({ "password": password, "pin": pin });
        self.call(
            Method::PUT,
            &format!("/v1/profiles/{profile_id}/pin"),
            Some(body),
        )
        .await
    }

    /// `POST /v1/sessions/current/profile`.
    pub async fn pick_profile(&self, profile_id: &str, pin: Option<&str>) -> RawResponse {
        let mut body = json!({ "profile_id": profile_id });
        if let Some(pin) = pin {
            body["pin"] = pin.into();
        }
        self.call(Method::POST, "/v1/sessions/current/profile", Some(body))
            .await
    }

    /// The profile `GET /v1/sessions/current` says this device is on.
    pub async fn current_profile(&self) -> Option<String> {
        self.client
            .current_session()
            .await
            .expect("the current session")
            .profile_id
            .map(std::borrow::Cow::into_owned)
    }
}

/// The JSON body of a success answer with `status`.
#[track_caller]
pub fn expect_json(answer: &RawResponse, status: u16) -> Value {
    assert_eq!(
        answer.status.as_u16(),
        status,
        "{} {}",
        answer.status,
        answer.text()
    );
    answer.json().expect("a JSON body")
}

/// Sorted session ids, to compare with [`TestDevice::device_list`].
pub fn session_ids(devices: &[&TestDevice]) -> Vec<String> {
    let mut ids: Vec<String> = devices.iter().map(|d| d.session_id().to_owned()).collect();
    ids.sort();
    ids
}

/// An open live channel.
pub struct Live(LiveConnection);

impl Live {
    /// Checks the handshake succeeded and the `hello` names `session_id`.
    pub async fn opened(
        connection: usher_client::Result<LiveConnection>,
        session_id: &str,
    ) -> Self {
        let mut live = Live(connection.expect("the live channel opens"));
        match live.next().await {
            LiveEvent::Hello { session_id: got } => assert_eq!(got, session_id),
            other => panic!("expected hello, got {other}"),
        }
        live
    }

    pub fn connection(&self) -> &LiveConnection {
        &self.0
    }

    /// The next event, whatever it is.
    pub async fn next(&mut self) -> LiveEvent {
        match tokio::time::timeout(PATIENCE, self.0.next_event()).await {
            Err(_) => panic!("no live event within {PATIENCE:?}"),
            Ok(None) => panic!("the live channel ended without a close frame"),
            Ok(Some(Err(e))) => panic!("the live channel failed: {e}"),
            Ok(Some(Ok(event))) => event,
        }
    }

    /// The next event other than `devices_changed`, which a watching
    /// connection may receive at any moment.
    async fn next_about_this_device(&mut self) -> LiveEvent {
        loop {
            match self.next().await {
                LiveEvent::DevicesChanged => continue,
                event => return event,
            }
        }
    }

    /// Awaits `signed_out` with `reason`, then the close that must follow it.
    pub async fn expect_signed_out(&mut self, reason: SignOutReason) -> LiveEvent {
        let event = self.next_about_this_device().await;
        match &event {
            LiveEvent::SignedOut { reason: got, .. } => assert_eq!(*got, reason),
            other => panic!("expected signed_out ({reason}), got {other}"),
        }
        self.expect_closed(CLOSE_SIGNED_OUT).await;
        event
    }

    /// Awaits `stream_stopped` for `stream_id` with `reason`.
    pub async fn expect_stream_stopped(&mut self, stream_id: &str, reason: StreamStopReason) {
        match self.next_about_this_device().await {
            LiveEvent::StreamStopped {
                stream_id: got,
                reason: why,
            } => assert_eq!((got.as_str(), why), (stream_id, reason)),
            other => panic!("expected stream_stopped {stream_id} ({reason}), got {other}"),
        }
    }

    /// Awaits `profile_locked` for `profile_id`.
    pub async fn expect_profile_locked(&mut self, profile_id: &str) {
        match self.next_about_this_device().await {
            LiveEvent::ProfileLocked { profile_id: got } => assert_eq!(got, profile_id),
            other => panic!("expected profile_locked {profile_id}, got {other}"),
        }
    }

    /// Awaits the server's close frame with `code`.
    pub async fn expect_closed(&mut self, code: u16) {
        match self.next_about_this_device().await {
            LiveEvent::Closed { code: got, .. } => assert_eq!(got, code, "close code"),
            other => panic!("expected the socket to close with {code}, got {other}"),
        }
    }

    /// Awaits `devices_changed` until `viewer`'s device list satisfies
    /// `shows`: the account page re-reads the list on each event, as a user's
    /// page would, and must end up showing the change.
    pub async fn expect_list_update(
        &mut self,
        viewer: &TestDevice,
        shows: impl Fn(&[Device]) -> bool,
    ) {
        loop {
            match self.next().await {
                LiveEvent::DevicesChanged => {
                    let list = viewer.client.devices().await.expect("the device list");
                    if shows(&list) {
                        return;
                    }
                }
                other => panic!("expected devices_changed, got {other}"),
            }
        }
    }

    /// Counts the `devices_changed` events that arrive before this
    /// connection's own `signed_out`.
    pub async fn list_updates_before_signed_out(&mut self) -> usize {
        let mut updates = 0;
        loop {
            match self.next().await {
                LiveEvent::DevicesChanged => updates += 1,
                LiveEvent::SignedOut { .. } => return updates,
                other => panic!("expected devices_changed or signed_out, got {other}"),
            }
        }
    }
}

/// Assertions on a refused typed call.
pub trait ExpectProblem {
    /// Asserts the call failed with `status` and problem `code`.
    fn expect_problem(self, status: u16, code: &str) -> usher_client::Error;

    /// Asserts `401 session_revoked` with `reason`.
    fn expect_revoked(self, reason: &SignOutReason) -> usher_client::Error;

    /// Asserts `410 stream_ended` with `reason`.
    fn expect_stream_ended(self, reason: StreamStopReason) -> usher_client::Error;
}

impl<T: Debug> ExpectProblem for usher_client::Result<T> {
    #[track_caller]
    fn expect_problem(self, status: u16, code: &str) -> usher_client::Error {
        let error = match self {
            Ok(value) => panic!("expected {status} {code}, got success: {value:?}"),
            Err(error) => error,
        };
        assert_eq!(
            (error.status(), error.code()),
            (Some(status), Some(code)),
            "unexpected answer: {error}"
        );
        error
    }

    #[track_caller]
    fn expect_revoked(self, reason: &SignOutReason) -> usher_client::Error {
        let error = self.expect_problem(401, "session_revoked");
        assert_eq!(error.reason(), Some(reason.as_str()), "{error}");
        error
    }

    #[track_caller]
    fn expect_stream_ended(self, reason: StreamStopReason) -> usher_client::Error {
        let error = self.expect_problem(410, "stream_ended");
        assert_eq!(error.stream_end_reason(), Some(reason), "{error}");
        error
    }
}

/// Assertions on a raw answer.
pub trait RawProblem {
    /// Asserts a problem+json answer with `status` and `code`.
    fn expect_problem(&self, status: u16, code: &str) -> Problem;
}

impl RawProblem for RawResponse {
    #[track_caller]
    fn expect_problem(&self, status: u16, code: &str) -> Problem {
        let summary = format!("{} {}", self.status, self.text());
        assert_eq!(self.status.as_u16(), status, "{summary}");
        assert_eq!(
            self.content_type(),
            Some("application/problem+json"),
            "{summary}"
        );
        let problem = self
            .problem()
            .unwrap_or_else(|| panic!("not a problem: {summary}"));
        assert_eq!(problem.code, code, "{summary}");
        let body = self.json().expect("problem bodies are JSON");
        assert_eq!(
            body["status"], status,
            "the body repeats the status: {summary}"
        );
        assert!(
            body["title"].is_string(),
            "a problem has a title: {summary}"
        );
        problem
    }
}
