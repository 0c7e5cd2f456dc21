//! What Prometheus metrics cost: figures 1 and 2 (session-check throughput
//! and remote sign-out latency) measured in one run against two servers
//! alike in everything but `metrics_listen`: one with metrics off, one with
//! them on and scraped every second (fifteen times Prometheus's default)
//! while it is measured. Its scraper pauses while the other server is
//! measured: the scrapes would run on the same core and slow "off" down.
//!
//! Both servers run pinned to the same core and take turns: session-check
//! rounds alternate A B, B A, …, and the sign-outs go in blocks in the same
//! mirrored order, each block with figure 2's background session checks on
//! the server being measured. A difference smaller than the spread between
//! one server's own rounds (or blocks) is noise; one larger in favour of
//! "on" is a difference between the two servers that would hide a cost of
//! its size, and the verdict says so rather than count it as no cost.
//!
//! Each block connects its own fleet of `devices` to the server it measures
//! and closes it after: two fleets at once would need twice the open files
//! (the bench holds one end of every connection), more than some machines'
//! hard limit allows (20,000 here).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use usher::domain::SessionId;

use crate::fleet::Fleet;
use crate::load::{self, BearerGets, Shape};
use crate::report::{field, section, target};
use crate::revoke_latency::{self, SignOutPlan, SignOuts};
use crate::seed::{self, SeededSession};
use crate::server::{Launch, Usher};
use crate::session_check::{self, RoundShape, Target};
use crate::stats::{ms, Summary};
use crate::system::CpuProbe;
use crate::Bench;

const CHECK_PATH: &str = "/v1/sessions/current";

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Signed-in sessions in each server's store; session checks cycle
    /// through all of them, each block's devices take theirs from the first
    /// ones (past those signed out before), the background load from the last.
    #[arg(long, default_value_t = 100_000)]
    pub sessions: usize,
    /// Keep-alive connections of the session-check load.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Measured seconds per session-check round and server.
    #[arg(long, default_value_t = 10.0)]
    pub duration_secs: f64,
    /// Session-check rounds per server.
    #[arg(long, default_value_t = 4)]
    pub rounds: usize,
    /// Devices holding a live connection to each server.
    #[arg(long, default_value_t = 10_000)]
    pub devices: usize,
    /// Devices signed out, one at a time, on each server.
    #[arg(long, default_value_t = 1_000)]
    pub sign_outs: usize,
    /// Blocks the sign-outs of each server are taken in (alternating servers).
    #[arg(long, default_value_t = 4)]
    pub blocks: usize,
    /// Sessions of the background session checks during the sign-outs.
    #[arg(long, default_value_t = 10_000)]
    pub background_sessions: usize,
    /// Rate of the background session checks, per second.
    #[arg(long, default_value_t = 20_000.0)]
    pub background_rate: f64,
    /// Seconds the background load runs before a block's first sign-out.
    #[arg(long, default_value_t = 2.0)]
    pub background_lead_secs: f64,
    /// Longest wait for one device's `signed_out` before the run fails.
    #[arg(long, default_value_t = 5.0)]
    pub timeout_secs: f64,
    /// WebSocket handshakes in flight at once while connecting.
    #[arg(long, default_value_t = 64)]
    pub connect_concurrency: usize,
    /// Sessions written to the store at once while seeding.
    #[arg(long, default_value_t = 64)]
    pub seed_concurrency: usize,
}

/// One of the two servers.
struct Server {
    name: &'static str,
    usher: Usher,
    sessions: Vec<SeededSession>,
    _dir: tempfile::TempDir,
}

pub async fn run(bench: &Bench, args: &Args) -> anyhow::Result<()> {
    bench.header("metrics-cost");
    section("parameters");
    field(
        "servers",
        format!(
            "two, both on core {}: metrics off, and metrics on (scraped every {} s while it is measured, paused while off is)",
            bench.launch.core,
            crate::server::SCRAPE_EVERY.as_secs()
        ),
    );
    field("sessions in each store", args.sessions);
    field(
        "session checks",
        format!(
            "{} rounds × {} s per server, {} connections, order mirrored every round",
            args.rounds, args.duration_secs, args.connections
        ),
    );
    field(
        "sign-outs",
        format!(
            "{} per server in {} blocks per server (mirrored order), each among {} devices \
             connected for the block, with {:.0} background checks/s over {} sessions from {} s before",
            args.sign_outs,
            args.blocks,
            args.devices,
            args.background_rate,
            args.background_sessions,
            args.background_lead_secs
        ),
    );
    if args.devices + args.sign_outs + args.background_sessions > args.sessions {
        bail!("--sessions must cover --devices, --sign-outs and --background-sessions");
    }
    if args.blocks == 0
        || !args.sign_outs.is_multiple_of(args.blocks)
        || args.sign_outs > args.devices
    {
        bail!("--sign-outs must be a multiple of --blocks and at most --devices");
    }

    section("seeding and servers");
    let off = start(bench, args, "metrics off", false).await?;
    let on = start(bench, args, "metrics on", true).await?;
    let servers = [off, on];

    section("session checks");
    let targets: Vec<Target> = servers
        .iter()
        .map(|s| Target {
            name: s.name.into(),
            addr: s.usher.addr,
            pid: s.usher.pid,
            requests: session_check::session_checks(s.usher.addr, &tokens(&s.sessions)),
            settle: Some(session_check::FLUSH_INTERVAL),
        })
        .collect();
    let shape = RoundShape {
        connections: args.connections,
        duration: Duration::from_secs_f64(args.duration_secs),
        rounds: args.rounds,
        mirrored: true,
    };
    let scrape_only = |measured: usize| {
        for (i, s) in servers.iter().enumerate() {
            s.usher.set_scraping(i == measured);
        }
    };
    let rounds = session_check::alternate_with(bench, &targets, &shape, &scrape_only).await?;
    let spreads: Vec<Spread> = rounds.iter().map(|r| Spread::of(r)).collect();
    section("session checks: result");
    let mut medians = Vec::new();
    for (t, r) in targets.iter().zip(rounds) {
        medians.push(session_check::summarise(&t.name, r).unwrap_or(f64::NAN));
    }
    let (off_rate, on_rate) = (medians[0], medians[1]);
    let noise = spreads
        .iter()
        .map(|s| s.half_range_ratio())
        .fold(0.0, f64::max);
    field(
        "metrics on / off (medians)",
        format!(
            "{on_rate:.0} / {off_rate:.0} requests/s = {:.1}%",
            on_rate / off_rate * 100.0
        ),
    );
    for (s, spread) in servers.iter().zip(&spreads) {
        field(&format!("  {} rounds (undisturbed)", s.name), spread);
    }
    let cost = 1.0 - on_rate / off_rate;
    let verdict = if spreads.iter().all(Spread::comparable) {
        Verdict::of(cost, noise)
    } else {
        Verdict::Unmeasured
    };
    target(
        "session-check throughput with metrics on within the noise of off, either way (noise: half the widest spread of one server's rounds)",
        verdict == Verdict::Noise,
        format!(
            "on is {:+.1}% against off, noise ± {:.1}%",
            -cost * 100.0,
            noise * 100.0
        ),
    );
    field("  reading", verdict.reading());

    section("remote sign-outs");
    let mut remotes = Vec::new();
    for s in &servers {
        remotes.push(revoke_latency::sign_in(&s.usher).await?);
    }
    let per_block = args.sign_outs / args.blocks;
    let mut results = [SignOuts::new(), SignOuts::new()];
    let mut block_p50s: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    let mut rss_kib = [0, 0];
    for block in 0..args.blocks {
        let order: [usize; 2] = if block % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let s = &servers[i];
            scrape_only(i);
            // The devices signed out in earlier blocks are gone: start past them.
            let first = block * per_block;
            let mut fleet = Fleet::connect(
                &[s.usher.addr],
                &s.sessions[first..first + args.devices],
                args.connect_concurrency,
            )
            .await?;
            // This block signs out the first `per_block` of its sessions
            // (devices connect in any order).
            let leaving: HashSet<SessionId> = s.sessions[first..first + per_block]
                .iter()
                .map(|session| session.id)
                .collect();
            fleet
                .devices
                .sort_by_key(|d| !leaving.contains(&d.session_id));
            rss_kib[i] = s.usher.rss_kib()?;
            bench.wait_until_quiet().await?;
            let probe = CpuProbe::start(s.usher.pid, bench.launch.core, bench.load_core)?;
            let outcome = with_background(s, args, async {
                revoke_latency::sign_out(
                    &[s.usher.addr],
                    &mut fleet.devices[..per_block],
                    &remotes[i],
                    &SignOutPlan {
                        count: per_block,
                        pause: Duration::ZERO,
                        timeout: Duration::from_secs_f64(args.timeout_secs),
                    },
                )
                .await
            })
            .await?;
            let disturbed = probe.finish()?.disturbed();
            let summary = outcome.delivered();
            field(
                &format!("block {} {}", block + 1, s.name),
                format!(
                    "{} devices connected in {:.1} s; request sent → device told: {summary}{}",
                    fleet.devices.len(),
                    fleet.took.as_secs_f64(),
                    if disturbed {
                        " — DISTURBED by other processes: left out"
                    } else {
                        ""
                    }
                ),
            );
            if !disturbed {
                block_p50s[i].push(summary.p50);
                results[i].merge(outcome);
            }
        }
    }

    section("remote sign-outs: result (undisturbed blocks)");
    let summaries: Vec<Summary> = servers
        .iter()
        .zip(&results)
        .zip(&block_p50s)
        .map(|((s, r), p50s)| {
            let summary = r.delivered();
            field(
                &format!(
                    "{}: request sent → device told ({} blocks)",
                    s.name,
                    p50s.len()
                ),
                summary,
            );
            summary
        })
        .collect();
    let (off, on) = (summaries[0], summaries[1]);
    field(
        "metrics on − off",
        format!(
            "p50 {:+.3} ms, p99 {:+.3} ms",
            (on.p50.as_secs_f64() - off.p50.as_secs_f64()) * 1e3,
            (on.p99.as_secs_f64() - off.p99.as_secs_f64()) * 1e3
        ),
    );
    let block_noise = block_p50s
        .iter()
        .map(|p50s| half_range(p50s))
        .max()
        .unwrap_or_default();
    field(
        "noise (half the widest spread of one server's block p50s)",
        ms(block_noise),
    );
    for (s, p50s) in servers.iter().zip(&block_p50s) {
        let (min, max) = (p50s.iter().min(), p50s.iter().max());
        if let (Some(min), Some(max)) = (min, max) {
            field(
                &format!("  {} block p50s", s.name),
                format!("{} … {}", ms(*min), ms(*max)),
            );
        }
    }
    let added = on.p50.as_secs_f64() - off.p50.as_secs_f64();
    // A spread needs two blocks of each server.
    let verdict = if block_p50s.iter().all(|p50s| p50s.len() >= 2) {
        Verdict::of(added, block_noise.as_secs_f64())
    } else {
        Verdict::Unmeasured
    };
    target(
        "sign-out p50 with metrics on within the noise of off, either way",
        verdict == Verdict::Noise,
        format!(
            "on − off {:+.3} ms, noise ± {}",
            added * 1e3,
            ms(block_noise)
        ),
    );
    field("  reading", verdict.reading());

    section("memory and the server's own view");
    for (s, kib) in servers.iter().zip(rss_kib) {
        field(
            &format!(
                "{}: VmRSS with {} devices connected (last block)",
                s.name, args.devices
            ),
            format!("{kib} KiB"),
        );
    }
    if let Some(text) = servers[1].usher.scrape().await? {
        print_propagation(&text);
    }
    let [off, on] = servers;
    off.usher.stop().await?;
    on.usher.stop().await
}

/// Seeds a store of its own and starts a server on it, metrics `on` or off,
/// warmed up (every session checked once).
async fn start(bench: &Bench, args: &Args, name: &'static str, on: bool) -> anyhow::Result<Server> {
    let dir = tempfile::Builder::new().prefix("usher-bench-").tempdir()?;
    let seeded = seed::seed(dir.path(), args.sessions, args.seed_concurrency).await?;
    field(
        &format!("{name}: seeded"),
        format!(
            "{} sessions in {:.1} s",
            seeded.sessions.len(),
            seeded.took.as_secs_f64()
        ),
    );
    let launch = Launch {
        metrics: on,
        ..bench.launch.clone()
    };
    let usher = Usher::start(&launch, dir.path(), &[]).await?;
    field(
        &format!("{name}: server"),
        match usher.metrics {
            Some(at) => format!("pid {} on {}, metrics on {at}", usher.pid, usher.addr),
            None => format!("pid {} on {}", usher.pid, usher.addr),
        },
    );
    session_check::warm_up(&usher, &tokens(&seeded.sessions), args.connections).await?;
    Ok(Server {
        name,
        usher,
        sessions: seeded.sessions,
        _dir: dir,
    })
}

/// Runs `work` while background session checks load `server`, starting
/// them `background_lead_secs` before it.
async fn with_background<T>(
    server: &Server,
    args: &Args,
    work: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let from = server.sessions.len() - args.background_sessions;
    let background = tokens(&server.sessions[from..]);
    let checks = load::run(
        server.usher.addr,
        Arc::new(BearerGets::new(
            server.usher.addr,
            CHECK_PATH,
            &background,
            true,
        )),
        Shape {
            connections: 16,
            duration: Duration::from_secs(3600),
            rate: Some(args.background_rate),
        },
    );
    let work = async {
        tokio::time::sleep(Duration::from_secs_f64(args.background_lead_secs)).await;
        work.await
    };
    tokio::select! {
        outcome = work => outcome,
        checks = checks => bail!("the background load stopped early: {:?}", checks.map(|o| o.failures())),
    }
}

/// What an on-off difference can show, given the noise: how much one
/// server's own repeats vary (half the widest range of either).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Within the noise, either way.
    Noise,
    /// On is worse by more than the noise.
    Cost,
    /// On is better by more than the noise: the servers differ.
    Bias,
    /// Fewer than two undisturbed repeats of a server: no noise to compare with.
    Unmeasured,
}

impl Verdict {
    /// `cost`: how much worse "on" is than "off" (negative: better), in the
    /// unit of `noise`.
    fn of(cost: f64, noise: f64) -> Self {
        if cost.abs() <= noise {
            Self::Noise
        } else if cost > 0.0 {
            Self::Cost
        } else {
            Self::Bias
        }
    }

    fn reading(self) -> &'static str {
        match self {
            Self::Noise => {
                "no difference beyond the noise, either way: a cost smaller than the noise \
                 cannot be seen; a larger one would show unless the servers differed by \
                 themselves, in favour of on, by as much (the run measures the difference, \
                 not its cause)"
            }
            Self::Cost => {
                "on is worse by more than the noise: a cost of metrics, or a difference \
                 between the two servers that this run cannot tell from one"
            }
            Self::Bias => {
                "on is better by more than the noise: the two servers differ by more than \
                 either varies on its own, in favour of on; a cost up to that difference \
                 would be hidden by it, so this run cannot show what metrics cost"
            }
            Self::Unmeasured => {
                "not measured: a server has fewer than two undisturbed rounds or blocks, \
                 so neither its noise nor the difference means anything"
            }
        }
    }
}

fn tokens(sessions: &[SeededSession]) -> Vec<String> {
    sessions.iter().map(|s| s.access_token.clone()).collect()
}

/// Throughput across one server's undisturbed rounds (all, if every one was).
struct Spread {
    min: f64,
    median: f64,
    max: f64,
    used: usize,
    /// Whether the rounds used were undisturbed (else every one was disturbed).
    clean: bool,
}

impl Spread {
    fn of(rounds: &[session_check::Round]) -> Self {
        let clean: Vec<f64> = rounds
            .iter()
            .filter(|r| !r.disturbed())
            .map(|r| r.per_second())
            .collect();
        let was_clean = !clean.is_empty();
        let mut rates = if was_clean {
            clean
        } else {
            rounds.iter().map(|r| r.per_second()).collect()
        };
        rates.sort_by(f64::total_cmp);
        Self {
            min: rates.first().copied().unwrap_or(f64::NAN),
            median: rates.get(rates.len() / 2).copied().unwrap_or(f64::NAN),
            max: rates.last().copied().unwrap_or(f64::NAN),
            used: rates.len(),
            clean: was_clean,
        }
    }

    /// Whether it is a spread at all: two undisturbed rounds or more.
    fn comparable(&self) -> bool {
        self.clean && self.used >= 2
    }

    /// Half the range, as a share of the median.
    fn half_range_ratio(&self) -> f64 {
        (self.max - self.min) / 2.0 / self.median
    }
}

impl std::fmt::Display for Spread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.0} … {:.0} requests/s over {} rounds (± {:.1}%){}",
            self.min,
            self.max,
            self.used,
            self.half_range_ratio() * 100.0,
            if self.clean {
                ""
            } else {
                ", every one disturbed"
            }
        )
    }
}

fn half_range(values: &[Duration]) -> Duration {
    let (Some(min), Some(max)) = (values.iter().min(), values.iter().max()) else {
        return Duration::ZERO;
    };
    (*max - *min) / 2
}

/// The metered server's own propagation histogram (commit → device told),
/// as it would show in Prometheus: count, mean and the buckets' bounds
/// around p50 and p99.
fn print_propagation(text: &str) {
    const NAME: &str = "usher_revocation_propagation_seconds";
    // `<suffix>{<labels>} <value>` lines of the bus path.
    let lines = |suffix: &str| -> Vec<(String, f64)> {
        let prefix = format!("{NAME}{suffix}{{");
        text.lines()
            .filter_map(|l| l.strip_prefix(prefix.as_str()))
            .filter(|rest| rest.contains(r#"path="bus""#))
            .filter_map(|rest| {
                let (labels, value) = rest.rsplit_once(' ')?;
                Some((labels.to_owned(), value.parse().ok()?))
            })
            .collect()
    };
    let first = |suffix: &str| lines(suffix).first().map_or(0.0, |(_, v)| *v);
    let (count, sum) = (first("_count"), first("_sum"));
    if count == 0.0 {
        field("server's propagation histogram (bus)", "empty");
        return;
    }
    let buckets: Vec<(f64, f64)> = lines("_bucket")
        .into_iter()
        .filter_map(|(labels, n)| {
            let le = labels.split("le=\"").nth(1)?.split('"').next()?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, n))
        })
        .collect();
    let at_most = |q: f64| {
        buckets
            .iter()
            .filter(|(_, n)| *n >= q * count)
            .map(|(le, _)| *le)
            .fold(f64::INFINITY, f64::min)
    };
    field(
        "server's propagation histogram (bus), commit → device told",
        format!(
            "{count:.0} sign-outs, mean {:.3} ms, p50 ≤ {} ms, p99 ≤ {} ms (bucket bounds)",
            sum / count * 1e3,
            at_most(0.5) * 1e3,
            at_most(0.99) * 1e3
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_difference_in_favour_of_metrics_on_is_not_read_as_no_cost() {
        assert_eq!(Verdict::of(0.01, 0.02), Verdict::Noise);
        assert_eq!(Verdict::of(-0.02, 0.02), Verdict::Noise);
        assert_eq!(Verdict::of(0.03, 0.02), Verdict::Cost);
        assert_eq!(
            Verdict::of(-0.03, 0.02),
            Verdict::Bias,
            "on 3% faster against 2% noise: a bias that could hide a 3% cost"
        );
    }
}
