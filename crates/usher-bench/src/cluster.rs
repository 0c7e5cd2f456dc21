//! Issue 4's benchmark: three usher nodes on one PostgreSQL database and
//! one NATS server, all on this machine.
//!
//! (a) 3,000 devices hold live connections spread over the three nodes; 500
//!     of them are signed out one at a time through a node other than the
//!     one holding the device's socket; each latency runs from sending the
//!     request to the device receiving `signed_out`. Target: p99 < 50 ms.
//! (b) Session-check throughput of one node on PostgreSQL against one node
//!     on SQLite, measured in alternating rounds of the same load as figure 1.
//! (c) The floor for (a): raw NATS publish → subscriber latency, one small
//!     message at a time, on the same NATS server.
//!
//! Every node runs on the server core (`taskset`), the bench on the load
//! core; PostgreSQL and NATS are the machine's own services and are not
//! pinned (they run wherever the scheduler puts them). The run creates a
//! fresh database and drops it at the end.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures_util::StreamExt;
use sqlx::{Connection, Executor};

use crate::fleet::Fleet;
use crate::report::{field, section, target};
use crate::revoke_latency::{self, SignOutPlan};
use crate::seed::{self, Seeder};
use crate::server::Usher;
use crate::session_check::{self, RoundShape, Target, FLUSH_INTERVAL};
use crate::stats::{ms, Latencies};
use crate::Bench;

const TARGET_P99: Duration = Duration::from_millis(50);

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    #[command(flatten)]
    pub services: Services,
    /// usher nodes.
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// Devices on live connections, spread evenly over the nodes.
    #[arg(long, default_value_t = 3_000)]
    pub devices: usize,
    /// Devices signed out one at a time, each through another node.
    #[arg(long, default_value_t = 500)]
    pub sign_outs: usize,
    /// Pause between one sign-out's completion and the next request.
    #[arg(long, default_value_t = 0)]
    pub sign_out_interval_ms: u64,
    /// Longest wait for one device's `signed_out` before the run fails.
    #[arg(long, default_value_t = 5.0)]
    pub timeout_secs: f64,
    /// Sessions in each store for the session-check comparison.
    #[arg(long, default_value_t = 20_000)]
    pub check_sessions: usize,
    /// Keep-alive connections of the session-check load.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Measured seconds per session-check round and store.
    #[arg(long, default_value_t = 8.0)]
    pub duration_secs: f64,
    /// Session-check rounds; each measures PostgreSQL, then SQLite.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// NATS messages for the floor, one at a time (after 10 unrecorded).
    #[arg(long, default_value_t = 1_000)]
    pub nats_messages: usize,
    /// WebSocket handshakes in flight at once while connecting.
    #[arg(long, default_value_t = 64)]
    pub connect_concurrency: usize,
    /// Sessions written to the store at once while seeding.
    #[arg(long, default_value_t = 64)]
    pub seed_concurrency: usize,
}

/// The PostgreSQL and NATS servers a multi-node benchmark runs its nodes on.
#[derive(clap::Args, Debug, Clone)]
pub struct Services {
    /// PostgreSQL URL of a database to connect to while creating (and
    /// finally dropping) the run's own fresh database.
    #[arg(
        long,
        default_value = "postgres://postgres:postgres@127.0.0.1:5432/postgres"
    )]
    pub postgres_url: String,
    /// The NATS server the nodes share.
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
}

pub async fn run(bench: &Bench, args: &Args) -> anyhow::Result<()> {
    bench.header("cluster");
    section("parameters");
    field(
        "nodes",
        format!(
            "{} usher nodes, all on core {} (taskset), on one PostgreSQL database and NATS {}",
            args.nodes, bench.launch.core, args.services.nats_url
        ),
    );
    field(
        "PostgreSQL and NATS",
        "the machine's own services, on 127.0.0.1, not pinned",
    );
    field(
        "devices on live connections",
        format!("{}, device i on node i mod {}", args.devices, args.nodes),
    );
    field(
        "sign-outs, one at a time",
        format!(
            "{}, {} ms apart, each sent to the node after the device's (node + 1 mod {})",
            args.sign_outs, args.sign_out_interval_ms, args.nodes
        ),
    );
    field(
        "session checks",
        format!(
            "{} sessions per store, {} connections, {} rounds × {} s per store alternating PostgreSQL and SQLite",
            args.check_sessions, args.connections, args.rounds, args.duration_secs
        ),
    );
    field(
        "NATS floor",
        format!(
            "{} messages of 64 bytes, one at a time, publisher and subscriber in the bench",
            args.nats_messages
        ),
    );
    if args.nodes < 2 {
        bail!("a cluster needs at least 2 nodes");
    }
    if args.sign_outs > args.devices {
        bail!("cannot sign out more devices than are connected");
    }

    let database = Database::create(&args.services.postgres_url).await?;
    field("database", format!("{} (fresh)", database.name));
    let outcome = measure(bench, args, &database.url).await;
    let dropped = database.drop().await;
    outcome?;
    dropped
}

async fn measure(bench: &Bench, args: &Args, database_url: &str) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new().prefix("usher-bench-").tempdir()?;
    section("seeding");
    let started = Instant::now();
    let seeder = Seeder::open(database_url).await?;
    let account = seeder.account(seed::EMAIL, "basic").await?;
    // The last session is the "remote control" that signs the others out.
    let mut devices = seeder
        .sessions(account, args.devices + 1, args.seed_concurrency)
        .await?;
    let remote = devices.pop().context("no sessions seeded")?.access_token;
    let checks_account = seeder.account("bench-checks@example.com", "basic").await?;
    let pg_checks: Vec<String> = seeder
        .sessions(checks_account, args.check_sessions, args.seed_concurrency)
        .await?
        .into_iter()
        .map(|s| s.access_token)
        .collect();
    drop(seeder);
    field(
        "PostgreSQL",
        format!(
            "{} sessions in {:.1} s ({} at a time)",
            args.devices + 1 + args.check_sessions,
            started.elapsed().as_secs_f64(),
            args.seed_concurrency
        ),
    );
    let sqlite = seed::seed(dir.path(), args.check_sessions, args.seed_concurrency).await?;
    field(
        "SQLite",
        format!(
            "{} sessions in {:.1} s",
            sqlite.sessions.len(),
            sqlite.took.as_secs_f64()
        ),
    );
    let sqlite_checks = sqlite.tokens();
    drop(sqlite);

    section("nodes");
    let mut nodes = Vec::with_capacity(args.nodes);
    for i in 0..args.nodes {
        let log = dir.path().join(format!("node-{i}.log"));
        let node =
            Usher::start_node(&bench.launch, database_url, &args.services.nats_url, &log).await?;
        field(
            &format!("node {i}"),
            format!("pid {} on {}", node.pid, node.addr),
        );
        nodes.push(node);
    }
    let addrs: Vec<SocketAddr> = nodes.iter().map(|n| n.addr).collect();
    let mut fleet = Fleet::connect(&addrs, &devices, args.connect_concurrency).await?;
    field(
        "connected",
        format!(
            "{} devices in {:.1} s ({} handshakes at a time)",
            fleet.devices.len(),
            fleet.took.as_secs_f64(),
            args.connect_concurrency
        ),
    );

    section("(c) NATS floor: publish → subscriber receives");
    bench.wait_until_quiet().await?;
    let floor = nats_floor(&args.services.nats_url, args.nats_messages).await?;
    field("latency", floor.summary());

    section("(a) sign-outs through another node");
    bench.wait_until_quiet().await?;
    let plan = SignOutPlan {
        count: args.sign_outs,
        pause: Duration::from_millis(args.sign_out_interval_ms),
        timeout: Duration::from_secs_f64(args.timeout_secs),
    };
    let outcome = revoke_latency::sign_out(&addrs, &mut fleet.devices, &remote, &plan).await?;
    let summary = outcome.print(TARGET_P99);
    target(
        "p99 < 50 ms",
        summary.p99 < TARGET_P99,
        format!("p99 {}", ms(summary.p99)),
    );
    drop(fleet);
    // One node answers the session checks; the others are stopped so that
    // their periodic work is not on the server core.
    let node = nodes.remove(0);
    for other in nodes {
        other.stop().await?;
    }

    section("(b) session checks: one node on PostgreSQL against one on SQLite");
    let sqlite = Usher::start(&bench.launch, dir.path(), &[]).await?;
    field(
        "nodes",
        format!(
            "PostgreSQL: node 0 (pid {}), SQLite: pid {} on {}",
            node.pid, sqlite.pid, sqlite.addr
        ),
    );
    session_check::warm_up(&node, &pg_checks, args.connections).await?;
    session_check::warm_up(&sqlite, &sqlite_checks, args.connections).await?;
    let targets = [
        Target {
            name: "usher on PostgreSQL".into(),
            addr: node.addr,
            pid: node.pid,
            requests: session_check::session_checks(node.addr, &pg_checks),
            settle: Some(FLUSH_INTERVAL),
        },
        Target {
            name: "usher on SQLite".into(),
            addr: sqlite.addr,
            pid: sqlite.pid,
            requests: session_check::session_checks(sqlite.addr, &sqlite_checks),
            settle: Some(FLUSH_INTERVAL),
        },
    ];
    let shape = RoundShape {
        connections: args.connections,
        duration: Duration::from_secs_f64(args.duration_secs),
        rounds: args.rounds,
        mirrored: false,
    };
    let rounds = session_check::alternate(bench, &targets, &shape).await?;
    node.stop().await?;
    sqlite.stop().await?;

    section("result");
    let mut rates = targets
        .iter()
        .zip(rounds)
        .map(|(t, r)| session_check::summarise(&t.name, r));
    let (Some(Some(pg)), Some(Some(lite))) = (rates.next(), rates.next()) else {
        bail!("no session-check round completed");
    };
    field(
        "PostgreSQL / SQLite (medians)",
        format!("{pg:.0} / {lite:.0} requests/s = {:.1}%", pg / lite * 100.0),
    );
    field(
        "sign-out through another node → signed_out",
        format!("p50 {}, p99 {}", ms(summary.p50), ms(summary.p99)),
    );
    Ok(())
}

/// Publishes `count` small messages one at a time on a fresh subject and
/// times each from just before `publish` to the subscriber receiving it.
async fn nats_floor(url: &str, count: usize) -> anyhow::Result<Latencies> {
    const WARM_UP: usize = 10;
    let client = async_nats::connect(url)
        .await
        .with_context(|| format!("connecting to NATS at {url}"))?;
    let subject = format!(
        "usher-bench.floor.{}.{}",
        std::process::id(),
        chrono::Utc::now().timestamp_millis()
    );
    let mut subscriber = client.subscribe(subject.clone()).await?;
    client.flush().await?;
    let payload = vec![b'x'; 64];
    let mut latencies = Latencies::with_capacity(count);
    for i in 0..WARM_UP + count {
        let sent = Instant::now();
        client
            .publish(subject.clone(), payload.clone().into())
            .await?;
        let (flushed, received) = tokio::join!(
            client.flush(),
            tokio::time::timeout(Duration::from_secs(5), subscriber.next())
        );
        let received_at = Instant::now();
        flushed?;
        match received {
            Ok(Some(_)) => {}
            Ok(None) => bail!("the NATS subscription ended"),
            Err(_) => bail!("a NATS message did not arrive within 5 s"),
        }
        if i >= WARM_UP {
            latencies.record(received_at - sent);
        }
    }
    subscriber.unsubscribe().await?;
    Ok(latencies)
}

/// A database of its own for the run, created fresh and dropped at the end.
/// A fresh database for one run, dropped at its end.
pub struct Database {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl Database {
    pub async fn create(admin_url: &str) -> anyhow::Result<Self> {
        let (server, _) = admin_url
            .rsplit_once('/')
            .filter(|(server, _)| server.contains("://") && !server.ends_with('/'))
            .context(
                "--postgres-url must name a database: postgres://user:password@host:port/db",
            )?;
        let name = format!(
            "usher_bench_{}_{}",
            std::process::id(),
            chrono::Utc::now().timestamp_millis()
        );
        let mut conn = sqlx::PgConnection::connect(admin_url)
            .await
            .with_context(|| format!("connecting to PostgreSQL at {admin_url}"))?;
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .context("creating the run's database")?;
        conn.close().await?;
        Ok(Self {
            admin_url: admin_url.to_owned(),
            url: format!("{server}/{name}"),
            name,
        })
    }

    pub async fn drop(self) -> anyhow::Result<()> {
        let mut conn = sqlx::PgConnection::connect(&self.admin_url).await?;
        conn.execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
            .await
            .context("dropping the run's database")?;
        conn.close().await?;
        field("database", format!("{} dropped", self.name));
        Ok(())
    }
}

/// `None` when PostgreSQL and NATS answer at `args`' addresses, else what
/// is missing (`usher-bench all` then skips this benchmark).
pub async fn services_missing(args: &Args) -> Option<String> {
    if let Err(e) = sqlx::PgConnection::connect(&args.services.postgres_url).await {
        return Some(format!(
            "no PostgreSQL at {} ({e})",
            args.services.postgres_url
        ));
    }
    if let Err(e) = async_nats::connect(&args.services.nats_url).await {
        return Some(format!("no NATS at {} ({e})", args.services.nats_url));
    }
    None
}
