//! Figure 1: session-check throughput and latency (`GET /v1/sessions/current`,
//! keep-alive, every request a different session out of 100,000), and the
//! same load against nginx returning usher's answer as a static body: the
//! floor. Target: usher reaches at least 60% of the floor.
//!
//! The two servers are measured in alternating rounds within one run, so a
//! slow drift of the machine affects both alike; a round during which other
//! processes took a noticeable share of either core is flagged and left out
//! of the summary (the machine is shared).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};

use crate::http1;
use crate::load::{self, BearerGets, Outcome, Repeat, Shape};
use crate::report::{field, section, target};
use crate::server::{Nginx, Usher};
use crate::stats::{ms, Latencies};
use crate::system::{CpuProbe, CpuUse};
use crate::Bench;

const PATH: &str = "/v1/sessions/current";
const TARGET_RATIO: f64 = 0.60;
/// usher writes coalesced last-active times every 5 s by default; a round
/// starts only after the previous round's writes are done.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(5_500);

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Signed-in sessions in the store; requests cycle through all of them.
    #[arg(long, default_value_t = 100_000)]
    pub sessions: usize,
    /// Keep-alive connections.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Measured seconds per round and server.
    #[arg(long, default_value_t = 10.0)]
    pub duration_secs: f64,
    /// Rounds; each measures usher, then nginx.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Seconds of warm-up load on nginx (usher's warm-up is one request per session).
    #[arg(long, default_value_t = 2.0)]
    pub nginx_warmup_secs: f64,
    /// Sessions written to the store at once while seeding.
    #[arg(long, default_value_t = 64)]
    pub seed_concurrency: usize,
    /// Also measure usher's `GET /healthz` (same server, router and
    /// middleware, no session check) in each round: splits the gap to nginx
    /// into the framework's share and the session check's.
    #[arg(long)]
    pub healthz: bool,
}

/// One measured round of one server.
pub struct Round {
    outcome: Outcome,
    cpu: CpuUse,
}

impl Round {
    pub fn per_second(&self) -> f64 {
        self.outcome.per_second()
    }

    /// Other processes took a noticeable share of a core (left out).
    pub fn disturbed(&self) -> bool {
        self.cpu.disturbed()
    }
}

pub async fn run(bench: &Bench, args: &Args) -> anyhow::Result<()> {
    bench.header("session-check");
    section("parameters");
    field("sessions in the store", args.sessions);
    field(
        "connections (keep-alive, one request in flight each)",
        args.connections,
    );
    field(
        "measured",
        format!(
            "{} rounds × {} s per server, alternating usher and nginx",
            args.rounds, args.duration_secs
        ),
    );
    field(
        "request",
        format!("GET {PATH}, a different session's token each time, cycling"),
    );

    let dir = tempfile::Builder::new().prefix("usher-bench-").tempdir()?;
    section("seeding");
    let seeded = crate::seed::seed(dir.path(), args.sessions, args.seed_concurrency).await?;
    field(
        "seeded",
        format!(
            "{} sessions in {:.1} s ({:.0}/s, {} at a time)",
            seeded.sessions.len(),
            seeded.took.as_secs_f64(),
            seeded.sessions.len() as f64 / seeded.took.as_secs_f64(),
            args.seed_concurrency
        ),
    );
    let tokens = seeded.tokens();
    drop(seeded);

    section("servers");
    let usher = Usher::start(&bench.launch, dir.path(), &[]).await?;
    field("usher", format!("pid {} on {}", usher.pid, usher.addr));
    warm_up(&usher, &tokens, args.connections).await?;
    let (_, body) = load::once(usher.addr, &http1::get(usher.addr, PATH, Some(&tokens[0]))).await?;
    let body = String::from_utf8(body).context("usher's answer is not UTF-8")?;
    let floor_body = as_static_body(&body);
    let nginx = Nginx::start(&bench.launch, &floor_body).await?;
    field(
        "nginx",
        format!(
            "{}, worker pid {} on {}, `return 200` with usher's {}-byte answer as its body",
            bench.launch.nginx_bin.display(),
            nginx.worker,
            nginx.addr,
            floor_body.len()
        ),
    );
    let floor = Arc::new(Repeat::new(http1::get(nginx.addr, PATH, None), 200));
    load::run(
        nginx.addr,
        floor.clone(),
        Shape {
            connections: args.connections,
            duration: Duration::from_secs_f64(args.nginx_warmup_secs),
            rate: None,
        },
    )
    .await?;

    let mut targets = vec![Target {
        name: "usher".into(),
        addr: usher.addr,
        pid: usher.pid,
        requests: session_checks(usher.addr, &tokens),
        settle: Some(FLUSH_INTERVAL),
    }];
    if args.healthz {
        targets.push(Target {
            name: "usher /healthz".into(),
            addr: usher.addr,
            pid: usher.pid,
            requests: Arc::new(Repeat::new(http1::get(usher.addr, "/healthz", None), 200)),
            settle: None,
        });
    }
    targets.push(Target {
        name: "nginx".into(),
        addr: nginx.addr,
        pid: nginx.worker,
        requests: floor,
        settle: None,
    });
    let rounds = alternate(bench, &targets, &args.rounds()).await?;
    usher.stop().await?;
    nginx.stop().await?;

    section("result");
    let mut rates = targets
        .iter()
        .zip(rounds)
        .map(|(t, r)| summarise(&t.name, r));
    let usher_rate = rates.next().flatten();
    let healthz_rate = if args.healthz {
        rates.next().flatten()
    } else {
        None
    };
    let nginx_rate = rates.next().flatten();
    let (Some(usher_rate), Some(nginx_rate)) = (usher_rate, nginx_rate) else {
        bail!("no round completed");
    };
    let ratio = usher_rate / nginx_rate;
    field(
        "usher / nginx (medians)",
        format!(
            "{usher_rate:.0} / {nginx_rate:.0} requests/s = {:.1}%",
            ratio * 100.0
        ),
    );
    if let Some(healthz_rate) = healthz_rate {
        field(
            "usher /healthz / nginx (the framework's own ceiling)",
            format!(
                "{healthz_rate:.0} / {nginx_rate:.0} requests/s = {:.1}%",
                healthz_rate / nginx_rate * 100.0
            ),
        );
    }
    target(
        "usher ≥ 60% of the nginx floor",
        ratio >= TARGET_RATIO,
        format!("{:.1}%", ratio * 100.0),
    );
    Ok(())
}

impl Args {
    pub fn rounds(&self) -> RoundShape {
        RoundShape {
            connections: self.connections,
            duration: Duration::from_secs_f64(self.duration_secs),
            rounds: self.rounds,
            mirrored: false,
        }
    }
}

/// How the measured rounds run.
#[derive(Debug, Clone, Copy)]
pub struct RoundShape {
    pub connections: usize,
    /// Per round and target.
    pub duration: Duration,
    pub rounds: usize,
    /// Every second round measures the targets in reverse order (A B, B A,
    /// …), so that neither is always the one measured first.
    pub mirrored: bool,
}

/// One server (and request) measured in rounds.
pub struct Target {
    pub name: String,
    pub addr: SocketAddr,
    /// The process whose CPU is the server's.
    pub pid: u32,
    pub requests: Arc<dyn load::Requests>,
    /// For usher: how long to wait after each of its rounds for the round's
    /// deferred activity writes, whose server CPU is then shown.
    pub settle: Option<Duration>,
}

/// Every session once, in one pass: usher loads each from the store on
/// first sight (token verification and a read), which is not what the
/// rounds measure. Fails if the server refused any.
pub async fn warm_up(usher: &Usher, tokens: &[String], connections: usize) -> anyhow::Result<()> {
    let warm = load::run(
        usher.addr,
        Arc::new(BearerGets::new(usher.addr, PATH, tokens, false)),
        Shape {
            connections,
            duration: Duration::from_secs(600),
            rate: None,
        },
    )
    .await?;
    field(
        "usher warm-up (each session once; first sight loads it from the store)",
        format!(
            "{} requests in {:.1} s ({:.0}/s), failures {}",
            warm.ok + warm.failed,
            warm.elapsed.as_secs_f64(),
            warm.per_second(),
            warm.failures()
        ),
    );
    if warm.failed > 0 {
        bail!(
            "usher refused seeded sessions during warm-up; see {}",
            usher.log.display()
        );
    }
    Ok(())
}

/// `GET /v1/sessions/current` cycling through every token.
pub fn session_checks(addr: SocketAddr, tokens: &[String]) -> Arc<dyn load::Requests> {
    Arc::new(BearerGets::new(addr, PATH, tokens, true))
}

/// Measures the targets in alternating rounds (round 1 of each in turn,
/// then round 2, …), waiting for a quiet machine before each; returns each
/// target's rounds, in the order given.
pub async fn alternate(
    bench: &Bench,
    targets: &[Target],
    shape: &RoundShape,
) -> anyhow::Result<Vec<Vec<Round>>> {
    alternate_with(bench, targets, shape, |_| {}).await
}

/// [`alternate`], calling `turn` with a target's index before each of its
/// rounds (before the wait for a quiet machine).
pub async fn alternate_with(
    bench: &Bench,
    targets: &[Target],
    shape: &RoundShape,
    turn: impl Fn(usize),
) -> anyhow::Result<Vec<Vec<Round>>> {
    section("rounds");
    let mut rounds: Vec<Vec<Round>> = targets.iter().map(|_| Vec::new()).collect();
    for round in 1..=shape.rounds {
        let mut order: Vec<(usize, &Target, &mut Vec<Round>)> = targets
            .iter()
            .zip(&mut rounds)
            .enumerate()
            .map(|(i, (target, done))| (i, target, done))
            .collect();
        if shape.mirrored && round % 2 == 0 {
            order.reverse();
        }
        for (i, target, done) in order {
            turn(i);
            bench.wait_until_quiet().await?;
            let r = measure(target, bench, shape).await?;
            print_round(&format!("round {round} {}", target.name), &r);
            done.push(r);
            if let Some(settle) = target.settle {
                // The round's last-active times are written after it ends:
                // show that deferred cost (its share during the round is in
                // the round's figure).
                let cpu_before = crate::system::process_cpu(target.pid)?;
                tokio::time::sleep(settle).await;
                field(
                    &format!(
                        "  server CPU in the {:.1} s after the round (deferred activity writes)",
                        settle.as_secs_f64()
                    ),
                    format!(
                        "{:.2} s",
                        (crate::system::process_cpu(target.pid)? - cpu_before).as_secs_f64()
                    ),
                );
            }
        }
    }
    Ok(rounds)
}

async fn measure(target: &Target, bench: &Bench, shape: &RoundShape) -> anyhow::Result<Round> {
    let probe = CpuProbe::start(target.pid, bench.launch.core, bench.load_core)?;
    let outcome = load::run(
        target.addr,
        Arc::clone(&target.requests),
        Shape {
            connections: shape.connections,
            duration: shape.duration,
            rate: None,
        },
    )
    .await?;
    if outcome.failed > 0 {
        bail!("requests failed: {}", outcome.failures());
    }
    Ok(Round {
        outcome,
        cpu: probe.finish()?,
    })
}

fn print_round(name: &str, r: &Round) {
    let s = r.outcome.latencies.clone().summary();
    let mut flags = Vec::new();
    if r.cpu.disturbed() {
        flags.push("DISTURBED by other processes: left out");
    }
    if r.cpu.load_bound() {
        flags.push("LOAD-BOUND: the load generator's core was the limit");
    }
    field(
        name,
        format!(
            "{:.0} requests/s, p50 {}, p99 {}, max {}{}{}",
            r.outcome.per_second(),
            ms(s.p50),
            ms(s.p99),
            ms(s.max),
            if flags.is_empty() { "" } else { " — " },
            flags.join("; ")
        ),
    );
    field("  cpu", &r.cpu);
}

/// Prints a server's summary over its undisturbed rounds (all rounds if
/// every one was disturbed, saying so) and returns its median throughput.
pub fn summarise(name: &str, rounds: Vec<Round>) -> Option<f64> {
    let total = rounds.len();
    let (clean, disturbed): (Vec<Round>, Vec<Round>) =
        rounds.into_iter().partition(|r| !r.cpu.disturbed());
    let (used, note) = if clean.is_empty() {
        (
            disturbed,
            " (every round was disturbed: figures are pessimistic)".to_owned(),
        )
    } else {
        let n = clean.len();
        (clean, format!(" ({n} of {total} rounds undisturbed)"))
    };
    let mut rates: Vec<f64> = used.iter().map(|r| r.outcome.per_second()).collect();
    rates.sort_by(|a, b| a.total_cmp(b));
    let median = *rates.get(rates.len() / 2)?;
    let best = *rates.last()?;
    let mut latencies = Latencies::default();
    let mut load_bound = false;
    for r in used {
        load_bound |= r.cpu.load_bound();
        latencies.merge(r.outcome.latencies);
    }
    field(
        name,
        format!(
            "median {median:.0} requests/s, best {best:.0}{note}; latency {}",
            latencies.summary()
        ),
    );
    if load_bound {
        field(
            &format!("  note ({name})"),
            "in at least one round the load generator's core was saturated while the server's was not: the server can do more than shown",
        );
    }
    Some(median)
}

/// usher's own answer, served verbatim by nginx: same shape, same length.
/// (nginx's `return` takes it single-quoted, so those few characters go.)
fn as_static_body(usher_body: &str) -> String {
    usher_body
        .chars()
        .map(|c| match c {
            '\'' | '\\' | '$' => '_',
            c => c,
        })
        .collect()
}
