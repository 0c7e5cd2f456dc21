//! Several usher nodes on one fresh PostgreSQL schema and one NATS subject,
//! for the cluster and PostgreSQL-restart suites. Nodes run in the test's
//! process, each with its own listener, caches, live connections and bus
//! connection, sharing nothing but the database and NATS, as separate
//! machines would.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use usher::clock::{Clock, ManualClock, SharedClock, SystemClock};
use usher::services::Services;
use usher::{App, Config};
use usher_client::{Client, DeviceType};

use crate::link::{target_of, LinkProxy};
use crate::{test_config, Live, TestAccount, TestDevice, PATIENCE};

/// The shared NATS server the test command provides.
pub fn system_nats_url() -> String {
    std::env::var("USHER_TEST_NATS_URL").unwrap_or_else(|_| {
        panic!("USHER_TEST_NATS_URL is not set: run the tests with ./scripts/test.sh, which provides NATS")
    })
}

/// One usher node.
pub struct Node {
    /// Where it listens, as a load balancer in front reaches it.
    pub address: SocketAddr,
    pub client: Client,
    pub services: Services,
    shutdown: CancellationToken,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Node {
    /// Waits until this node can show it has seen every revocation up to
    /// `at` (its clock's time), within [`PATIENCE`].
    pub async fn await_proof_since(&self, at: usher::domain::Millis) {
        let freshness = self.services.sessions.freshness();
        tokio::time::timeout(PATIENCE, freshness.proven_since(at))
            .await
            .unwrap_or_else(|_| {
                let why = freshness.staleness(at).why;
                panic!("the node did not prove itself fresh within {PATIENCE:?}: {why}")
            });
    }

    /// Waits until this node hears `nodes` nodes (itself included) on the
    /// bus and has then read the revocation log: what it may have missed
    /// from before it heard them is behind it.
    pub async fn await_settled(&self, nodes: usize, clock: &ManualClock) {
        let freshness = self.services.sessions.freshness();
        tokio::time::timeout(PATIENCE, freshness.hearing(nodes))
            .await
            .unwrap_or_else(|_| panic!("the node did not hear {nodes} nodes within {PATIENCE:?}"));
        clock.advance(std::time::Duration::from_millis(1));
        self.await_proof_since(clock.now()).await;
    }

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
    clock: SharedClock,
    /// What every node's configuration gets on top of [`test_config`].
    configure: fn(&mut Config),
}

impl Cluster {
    /// `n` nodes on the shared NATS server.
    pub async fn start(n: usize) -> Self {
        Self::start_on(n, &system_nats_url()).await
    }

    /// `n` nodes on the NATS server at `nats_url`.
    pub async fn start_on(n: usize, nats_url: &str) -> Self {
        Self::start_with(n, nats_url, Arc::new(SystemClock), |_| {}).await
    }

    /// `n` nodes on the shared NATS server, each configured by `configure`
    /// (for this node and any added later).
    pub async fn start_configured(n: usize, configure: fn(&mut Config)) -> Self {
        Self::start_with(n, &system_nats_url(), Arc::new(SystemClock), configure).await
    }

    /// `n` nodes on the shared NATS server whose time is `clock` (they share
    /// the database, so they share a clock, as machines share the wall's).
    pub async fn start_on_clock(n: usize, nats_url: &str, clock: &ManualClock) -> Self {
        Self::start_with(n, nats_url, Arc::new(clock.clone()), |_| {}).await
    }

    /// [`Cluster::start_on_clock`] on the shared NATS server, each node
    /// configured by `configure`.
    pub async fn start_configured_on_clock(
        n: usize,
        clock: &ManualClock,
        configure: fn(&mut Config),
    ) -> Self {
        Self::start_with(n, &system_nats_url(), Arc::new(clock.clone()), configure).await
    }

    async fn start_with(
        n: usize,
        nats_url: &str,
        clock: SharedClock,
        configure: fn(&mut Config),
    ) -> Self {
        let database_url = crate::postgres::fresh_postgres_schema().await;
        // A subject per cluster: clusters of tests running side by side
        // share the NATS server but never hear each other.
        let subject = format!("usher.test.{}", uuid::Uuid::new_v4().simple());
        let mut cluster = Cluster {
            nodes: Vec::with_capacity(n),
            database_url,
            nats_url: nats_url.to_owned(),
            subject,
            clock,
            configure,
        };
        for _ in 0..n {
            cluster.add_node().await;
        }
        cluster
    }

    /// Starts one more node on the cluster's database and bus.
    pub async fn add_node(&mut self) {
        let (database_url, nats_url) = (self.database_url.clone(), self.nats_url.clone());
        self.start_node(database_url, nats_url).await;
    }

    /// Starts one more node that reaches the database and NATS only through
    /// `link`, which the test may cut.
    pub async fn add_node_behind(&mut self, link: &Link) {
        let database_url = link.database.url_through(&self.database_url);
        let nats_url = link.nats.url_through(&self.nats_url);
        self.start_node(database_url, nats_url).await;
    }

    async fn start_node(&mut self, database_url: String, nats_url: String) {
        let mut config = test_config(database_url);
        config.nats_url = Some(nats_url);
        config.nats_subject = self.subject.clone();
        (self.configure)(&mut config);
        let app = App::build_with_clock(config, Arc::clone(&self.clock))
            .await
            .expect("the node starts");
        let address = app.address();
        let client = Client::new(&format!("http://{address}")).expect("valid URL");
        let services = app.services();
        let shutdown = app.shutdown_token();
        let server = tokio::spawn(app.run_until_stopped());
        self.nodes.push(Node {
            address,
            client,
            services,
            shutdown,
            server: Some(server),
        });
    }

    /// The cluster's time now.
    pub fn now(&self) -> usher::domain::Millis {
        self.clock.now()
    }

    pub fn node(&self, i: usize) -> &Client {
        &self.nodes[i].client
    }

    /// Where the nodes listen, in order.
    pub fn addresses(&self) -> Vec<SocketAddr> {
        self.nodes.iter().map(|node| node.address).collect()
    }

    /// Stops the node at `address` gracefully (see [`Node::stop`]) and
    /// takes it out of the cluster.
    pub async fn stop_node_at(&mut self, address: SocketAddr) {
        let i = self
            .nodes
            .iter()
            .position(|node| node.address == address)
            .unwrap_or_else(|| panic!("no node of the cluster listens on {address}"));
        self.nodes.remove(i).stop().await;
    }

    /// Opens `device`'s live channel the way it talks to the cluster (a
    /// load balancer in front, say) and tells which node took it: the one
    /// that holds one connection more once the `hello` has arrived (a node
    /// registers a connection before it says hello). Nothing else may open
    /// or close live connections meanwhile.
    pub async fn live_and_its_node(&self, device: &TestDevice) -> (Live, SocketAddr) {
        let before: Vec<usize> = self.live_connections();
        let live = device.live().await;
        let after = self.live_connections();
        let mut grown = self
            .nodes
            .iter()
            .zip(before.iter().zip(&after))
            .filter(|(_, (before, after))| after > before)
            .map(|(node, _)| node.address);
        match (grown.next(), grown.next()) {
            (Some(node), None) => (live, node),
            _ => panic!("expected one node to take the live connection: {before:?} → {after:?}"),
        }
    }

    /// How many live connections each node holds, in order.
    fn live_connections(&self) -> Vec<usize> {
        self.nodes
            .iter()
            .map(|node| node.services.live.connections())
            .collect()
    }

    /// Creates `name@example.com` through the first node, on `plan` (set
    /// by the operator) or the default.
    pub async fn account(&self, name: &str, plan: Option<&str>) -> TestAccount {
        let account = TestAccount::create(self.node(0), name).await;
        if let Some(plan) = plan {
            account.move_to_plan(&self.nodes[0].services, plan).await;
        }
        account
    }

    /// Signs `account` in twice: "TV" through node A, then "Phone" (also of
    /// type TV) through node B, as the suites' two devices on two nodes.
    pub async fn tv_on_a_phone_on_b(&self, account: &TestAccount) -> (TestDevice, TestDevice) {
        let tv = account.sign_in("TV", DeviceType::Tv).await;
        let phone = account
            .on(self.node(1))
            .sign_in("Phone", DeviceType::Tv)
            .await;
        (tv, phone)
    }
}

/// One node's links to the database and to NATS, which a test may cut (see
/// [`LinkProxy`]).
pub struct Link {
    pub database: LinkProxy,
    pub nats: LinkProxy,
}

impl Link {
    /// Proxies in front of the cluster's database and NATS server.
    pub async fn to(cluster: &Cluster) -> Self {
        Self {
            database: LinkProxy::start(target_of(&cluster.database_url)).await,
            nats: LinkProxy::start(target_of(&cluster.nats_url)).await,
        }
    }

    /// Both links go silent: nothing passes, nothing closes.
    pub fn black_hole(&self) {
        self.database.black_hole();
        self.nats.black_hole();
    }

    pub fn heal(&self) {
        self.database.heal();
        self.nats.heal();
    }
}

/// Cluster vocabulary for a device: the same device talking to node `i`.
impl TestDevice {
    /// Asserts that `node` refuses this device with `session_revoked` and `reason`.
    pub async fn assert_refused_by(&self, node: &Client, reason: usher_client::SignOutReason) {
        let err = self
            .on(node)
            .client
            .current_session()
            .await
            .expect_err("a signed-out device is refused");
        assert_eq!(err.code(), Some("session_revoked"), "{err}");
        assert_eq!(err.reason(), Some(reason.to_string().as_str()), "{err}");
    }
}

/// Whether `node` says it is ready (`/readyz` answers 200).
pub async fn is_ready(node: &Client) -> bool {
    readiness(node).await.0 == 200
}

/// `/readyz`'s status and body (`store`, `bus`, `fresh`, …).
pub async fn readiness(node: &Client) -> (u16, serde_json::Value) {
    let answer = node
        .raw(usher_client::Method::GET, "/readyz")
        .no_auth()
        .send()
        .await
        .expect("/readyz answers");
    let body = answer.json().unwrap_or_default();
    (answer.status.as_u16(), body)
}

/// Waits until every node is ready and reaches its database again, after
/// PostgreSQL came back: each node is asked again as soon as it has
/// answered (a readiness answer pings the database, which paces the
/// questions), within [`PATIENCE`].
pub async fn await_database(cluster: &Cluster, what: &str) {
    for (i, node) in cluster.nodes.iter().enumerate() {
        let asking = async {
            loop {
                let (status, body) = readiness(&node.client).await;
                if status == 200 && body["store"] == true {
                    return;
                }
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(PATIENCE, asking)
            .await
            .unwrap_or_else(|_| panic!("node {i}: {what} did not happen within {PATIENCE:?}"));
    }
}

/// A NATS server of the test's own, which it may stop and start. It runs
/// with protocol tracing, so the test hears each client subscribe.
pub struct PrivateNats {
    pub port: u16,
    child: Option<tokio::process::Child>,
    /// The client (connection) id of each `SUB` the running server received.
    subscribers: mpsc::UnboundedReceiver<String>,
}

/// What nats-server logs once it accepts clients.
const NATS_READY: &str = "Server is ready";
/// How a traced `SUB` from a client starts, after its `cid:N - `.
const NATS_SUB: &str = "<<- [SUB ";

impl PrivateNats {
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let (_, subscribers) = mpsc::unbounded_channel();
        let mut nats = PrivateNats {
            port,
            child: None,
            subscribers,
        };
        nats.restart().await;
        nats
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on the same port and waits until it logs
    /// that it is ready.
    pub async fn restart(&mut self) {
        let binary =
            std::env::var("USHER_TEST_NATS_SERVER").unwrap_or_else(|_| "nats-server".into());
        let mut child = tokio::process::Command::new(&binary)
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string(), "-V"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run {binary}: {e} (the test command installs NATS)")
            });
        let mut log = BufReader::new(child.stderr.take().expect("piped")).lines();
        let ready = async {
            let mut said = String::new();
            loop {
                match log.next_line().await {
                    Ok(Some(line)) if line.contains(NATS_READY) => return,
                    Ok(Some(line)) => said.push_str(&format!("{line}\n")),
                    _ => panic!("nats-server exited before it was ready:\n{said}"),
                }
            }
        };
        tokio::time::timeout(PATIENCE, ready)
            .await
            .expect("nats-server is ready in time");
        let (subscribed, subscribers) = mpsc::unbounded_channel();
        self.subscribers = subscribers;
        // Keep reading, so the server never blocks on a full pipe.
        tokio::spawn(async move {
            while let Ok(Some(line)) = log.next_line().await {
                if let Some(client) = subscribing_client(&line) {
                    let _ = subscribed.send(client.to_owned());
                }
            }
        });
        self.child = Some(child);
    }

    /// Waits until `clients` different clients have subscribed to the
    /// server started last. A reconnecting client marks itself connected
    /// before it subscribes again, so a node heard here reports its bus
    /// ready.
    pub async fn await_subscribers(&mut self, clients: usize) {
        let mut heard = HashSet::new();
        let hearing = async {
            while heard.len() < clients {
                let client = self.subscribers.recv().await.expect("nats-server runs");
                heard.insert(client);
            }
        };
        tokio::time::timeout(PATIENCE, hearing)
            .await
            .unwrap_or_else(|_| panic!("{clients} clients did not subscribe within {PATIENCE:?}"));
    }

    /// Kills the server (as a crash would) and waits until it is gone.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("NATS stops");
        }
    }
}

/// The `cid:N` of a traced `SUB` line.
fn subscribing_client(line: &str) -> Option<&str> {
    let (before, _) = line.split_once(NATS_SUB)?;
    before.split(" - ").find(|part| part.starts_with("cid:"))
}
