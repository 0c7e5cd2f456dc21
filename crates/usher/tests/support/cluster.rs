//! Nodes, devices and waiting, for cluster tests (shared by the `cluster`
//! and `pg_restart` test binaries).

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use usher::clock::SystemClock;
use usher::{App, Config};
use usher_client::{Client, DeviceInfo, DeviceType, LiveConnection, LiveEvent, SignOutReason};

/// A guard against hanging, never a timing assertion.
pub const PATIENCE: Duration = Duration::from_secs(15);
pub const PASSWORD: &str = "correct horse battery staple";

/// The shared NATS server the test command provides.
pub fn system_nats_url() -> String {
    std::env::var("USHER_TEST_NATS_URL").unwrap_or_else(|_| {
        panic!("USHER_TEST_NATS_URL is not set: run the tests with ./scripts/test.sh, which provides NATS")
    })
}

/// One usher node.
pub struct Node {
    pub client: Client,
    shutdown: CancellationToken,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Node {
    /// Shuts the node down gracefully and waits until it has stopped.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(PATIENCE, server).await;
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Nodes sharing one fresh database schema and one NATS subject.
pub struct Cluster {
    pub nodes: Vec<Node>,
    database_url: String,
    nats_url: String,
    subject: String,
}

impl Cluster {
    /// `n` nodes on the shared NATS server.
    pub async fn start(n: usize) -> Self {
        Self::start_on(n, &system_nats_url()).await
    }

    /// `n` nodes on the NATS server at `nats_url`.
    pub async fn start_on(n: usize, nats_url: &str) -> Self {
        let database_url = crate::support::fresh_postgres_schema().await;
        // A subject per cluster: clusters of tests running side by side
        // share the NATS server but never hear each other.
        let subject = format!("usher.test.{}", uuid::Uuid::new_v4().simple());
        let mut cluster = Cluster {
            nodes: Vec::with_capacity(n),
            database_url,
            nats_url: nats_url.to_owned(),
            subject,
        };
        for _ in 0..n {
            cluster.add_node().await;
        }
        cluster
    }

    /// Starts one more node on the cluster's database and bus.
    pub async fn add_node(&mut self) {
        let node = start_node(&self.database_url, &self.nats_url, &self.subject).await;
        self.nodes.push(node);
    }

    pub fn node(&self, i: usize) -> &Client {
        &self.nodes[i].client
    }
}

async fn start_node(database_url: &str, nats_url: &str, subject: &str) -> Node {
    let mut config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: Some(database_url.to_owned()),
        nats_url: Some(nats_url.to_owned()),
        nats_subject: subject.to_owned(),
        ..Config::default()
    };
    config.password_hashing.memory_kib = 1024;
    config.password_hashing.iterations = 1;
    config.throttle.account_burst = 1_000;
    config.throttle.ip_burst = 10_000;
    let app = App::build_with_clock(config, Arc::new(SystemClock))
        .await
        .expect("the node starts");
    let client = Client::new(&format!("http://{}", app.address())).expect("valid URL");
    let shutdown = app.shutdown_token();
    let server = tokio::spawn(app.run_until_stopped());
    Node {
        client,
        shutdown,
        server: Some(server),
    }
}

/// Creates an account through `node`; returns its email.
pub async fn account(node: &Client, name: &str, plan: Option<&str>) -> String {
    let email = format!("{name}-{}@example.com", uuid::Uuid::new_v4().simple());
    node.create_account(&email, PASSWORD, plan)
        .await
        .expect("account created");
    email
}

/// A device signed in through some node.
#[derive(Clone)]
pub struct Device {
    pub session_id: String,
    pub access_token: String,
}

impl Device {
    pub async fn sign_in(node: &Client, email: &str, name: &str) -> Self {
        let tokens = node
            .sign_in(email, PASSWORD, &DeviceInfo::new(name, DeviceType::Tv))
            .await
            .expect("signed in");
        Device {
            session_id: tokens.session_id.to_string(),
            access_token: tokens.access_token,
        }
    }

    /// This device's view of a node.
    pub fn on(&self, node: &Client) -> Client {
        node.with_token(&self.access_token)
    }

    /// Opens the live channel on `node` and waits for its hello.
    pub async fn live_on(&self, node: &Client) -> LiveConnection {
        let mut live = self.on(node).live(false).await.expect("live channel opens");
        match next_event(&mut live).await {
            LiveEvent::Hello { .. } => live,
            other => panic!("expected hello, got {other:?}"),
        }
    }
}

pub async fn next_event(live: &mut LiveConnection) -> LiveEvent {
    match tokio::time::timeout(PATIENCE, live.next_event()).await {
        Ok(Some(Ok(event))) => event,
        Ok(other) => panic!("the live channel ended: {other:?}"),
        Err(_) => panic!("no live event within {PATIENCE:?}"),
    }
}

/// Waits for `signed_out` with `reason`, skipping other events.
pub async fn expect_signed_out(live: &mut LiveConnection, reason: SignOutReason) {
    loop {
        match next_event(live).await {
            LiveEvent::SignedOut { reason: got, .. } => {
                assert_eq!(got, reason);
                return;
            }
            LiveEvent::DevicesChanged | LiveEvent::StreamStopped { .. } => continue,
            other => panic!("expected signed_out, got {other:?}"),
        }
    }
}

/// Asserts that `node` refuses the device with `session_revoked`.
pub async fn assert_refused(device: &Device, node: &Client, reason: SignOutReason) {
    let err = device
        .on(node)
        .current_session()
        .await
        .expect_err("a signed-out device is refused");
    assert_eq!(err.code(), Some("session_revoked"), "{err}");
    assert_eq!(err.reason(), Some(reason.to_string().as_str()), "{err}");
}

/// Polls `check` until it holds: for conditions no event announces (a node
/// reconnecting to NATS). A failure guard, not a timing assertion.
pub async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} did not happen within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A NATS server of the test's own, which it may stop and start.
pub struct PrivateNats {
    pub port: u16,
    child: Option<tokio::process::Child>,
}

impl PrivateNats {
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut nats = PrivateNats { port, child: None };
        nats.restart().await;
        nats
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on the same port.
    pub async fn restart(&mut self) {
        let binary =
            std::env::var("USHER_TEST_NATS_SERVER").unwrap_or_else(|_| "nats-server".into());
        let child = tokio::process::Command::new(&binary)
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run {binary}: {e} (the test command installs NATS)")
            });
        self.child = Some(child);
        let port = self.port;
        wait_until("NATS accepting connections", || async move {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        })
        .await;
    }

    /// Kills the server (as a crash would) and waits until it is gone.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("NATS stops");
        }
    }
}
