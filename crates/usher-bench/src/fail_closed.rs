//! Issue 12's figure: how long a node cut off from PostgreSQL and NATS keeps
//! answering session checks before it fails closed, and how long it takes
//! to serve again once the link heals.
//!
//! Two nodes on one fresh PostgreSQL database and NATS; node C reaches both
//! only through a forwarding proxy in the bench that, black-holed, stops
//! passing bytes without closing anything (as when packets are dropped).
//! A device's session is checked on C in a loop, one request at a time,
//! 20 ms apart. Per round: the time from cutting the link to sending the
//! first request C refuses with `503 stale_node` (and to that answer), when
//! `/readyz` is first red, and the time from healing to the first `200`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use usher_testkit::link::{target_of, LinkProxy};

use crate::cluster::{Database, Services};
use crate::http1::{self, Conn};
use crate::report::{field, section};
use crate::seed::{self, Seeder};
use crate::server::Usher;
use crate::stats::ms;
use crate::Bench;

/// Pause between two checks of the loop.
const PACE: Duration = Duration::from_millis(20);
/// Longest a phase may take before the run fails.
const GIVE_UP: Duration = Duration::from_secs(60);

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    #[command(flatten)]
    pub services: Services,
    /// Cut-and-heal rounds.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Settled time with the link up before each cut.
    #[arg(long, default_value_t = 3.0)]
    pub settle_secs: f64,
}

pub async fn run(bench: &Bench, args: &Args) -> anyhow::Result<()> {
    bench.header("fail-closed");
    section("parameters");
    field(
        "nodes",
        format!(
            "2 usher nodes on core {} (default sessions.max_staleness_secs = 5); node C through a black-holing proxy to PostgreSQL and NATS {}",
            bench.launch.core, args.services.nats_url
        ),
    );
    field(
        "checks",
        format!(
            "GET /v1/sessions/current on C, one at a time, {} ms apart; {} rounds, {} s settled before each cut",
            PACE.as_millis(),
            args.rounds,
            args.settle_secs
        ),
    );
    let database = Database::create(&args.services.postgres_url).await?;
    field("database", format!("{} (fresh)", database.name));
    let outcome = measure(bench, args, &database.url).await;
    let dropped = database.drop().await;
    outcome?;
    dropped
}

async fn measure(bench: &Bench, args: &Args, database_url: &str) -> anyhow::Result<()> {
    let dir = tempfile::Builder::new().prefix("usher-bench-").tempdir()?;
    let seeder = Seeder::open(database_url).await?;
    let account = seeder.account(seed::EMAIL, "basic").await?;
    let token = seeder
        .sessions(account, 1, 1)
        .await?
        .pop()
        .context("no session seeded")?
        .access_token;
    drop(seeder);

    let to_database = LinkProxy::start(target_of(database_url)).await;
    let to_nats = LinkProxy::start(target_of(&args.services.nats_url)).await;
    let a = Usher::start_node(
        &bench.launch,
        database_url,
        &args.services.nats_url,
        &dir.path().join("node-a.log"),
    )
    .await?;
    let c = Usher::start_node(
        &bench.launch,
        &to_database.url_through(database_url),
        &to_nats.url_through(&args.services.nats_url),
        &dir.path().join("node-c.log"),
    )
    .await?;
    section("nodes");
    field("node A", format!("pid {} on {}", a.pid, a.addr));
    field(
        "node C",
        format!("pid {} on {} (behind the proxy)", c.pid, c.addr),
    );

    let check = http1::get(c.addr, "/v1/sessions/current", Some(&token));
    let readyz = http1::get(c.addr, "/readyz", None);
    let mut conn = Conn::open(c.addr).await?;
    let (mut refused, mut answered, mut red, mut healed) = (vec![], vec![], vec![], vec![]);
    section("rounds");
    for round in 1..=args.rounds {
        tokio::time::sleep(Duration::from_secs_f64(args.settle_secs)).await;
        let status = conn.exchange(&check).await?;
        if status != 200 {
            bail!("round {round}: C answers {status} before the cut");
        }
        to_database.black_hole();
        to_nats.black_hole();
        let cut = Instant::now();
        // /readyz is probed beside the checks: a probe may take seconds
        // (it pings the silent database), and must not pace the checks.
        let probing = tokio::spawn(red_after(c.addr, Arc::clone(&readyz), cut));
        let (sent, back) = loop {
            if cut.elapsed() > GIVE_UP {
                bail!("round {round}: C still answers after {GIVE_UP:?}");
            }
            let sent = cut.elapsed();
            let status = conn.exchange(&check).await?;
            if status == 503 {
                break (sent, cut.elapsed());
            }
            tokio::time::sleep(PACE).await;
        };
        let stale = String::from_utf8_lossy(conn.body()).contains("stale_node");
        if !stale {
            bail!("round {round}: C refused, but not with stale_node");
        }
        let readyz_red = probing.await??;
        to_database.heal();
        to_nats.heal();
        let heal = Instant::now();
        let back_up = loop {
            if heal.elapsed() > GIVE_UP {
                bail!("round {round}: C still refuses {GIVE_UP:?} after healing");
            }
            if conn.exchange(&check).await? == 200 {
                break heal.elapsed();
            }
            tokio::time::sleep(PACE).await;
        };
        field(
            &format!("round {round}"),
            format!(
                "refused {} after the cut (answer at {}), /readyz red by {}; serving again {} after healing",
                ms(sent),
                ms(back),
                ms(readyz_red),
                ms(back_up)
            ),
        );
        refused.push(sent);
        answered.push(back);
        red.push(readyz_red);
        healed.push(back_up);
    }
    section("results");
    let span = |v: &[Duration]| {
        let min = v.iter().min().copied().unwrap_or_default();
        let max = v.iter().max().copied().unwrap_or_default();
        format!("{} – {}", ms(min), ms(max))
    };
    field(
        "time to fail closed (first refused check sent)",
        span(&refused),
    );
    field("first refusal answered", span(&answered));
    field("/readyz red", span(&red));
    field("serving again after the link heals", span(&healed));
    a.stop().await?;
    c.stop().await?;
    Ok(())
}

/// How long after `cut` `/readyz` first answers 503, asking one probe at a
/// time, `PACE` apart.
async fn red_after(
    addr: SocketAddr,
    readyz: http1::Prepared,
    cut: Instant,
) -> anyhow::Result<Duration> {
    let mut probe = Conn::open(addr).await?;
    loop {
        if cut.elapsed() > GIVE_UP {
            bail!("/readyz still green after {GIVE_UP:?}");
        }
        if probe.exchange(&readyz).await? == 503 {
            return Ok(cut.elapsed());
        }
        tokio::time::sleep(PACE).await;
    }
}
