//! Figure 4: sign-ins per second at the server's default Argon2id cost
//! (m=19456 KiB, t=2, p=1), and session-check latency while that flood runs.
//! Target: session-check p99 under 5 ms during the flood.
//!
//! The sign-in throttle is relaxed on the server for this run (through its
//! `USHER_` environment layer): the flood is one account from one address,
//! which the default limits would answer with 429 after a few attempts.

use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;

use crate::http1;
use crate::load::{self, BearerGets, Outcome, Repeat, Shape};
use crate::report::{field, section, target};
use crate::seed;
use crate::server::Usher;
use crate::system::CpuProbe;
use crate::Bench;

const PATH: &str = "/v1/sessions/current";
const TARGET_P99: Duration = Duration::from_millis(5);
/// Every sign-in of the flood comes from one address with the right
/// password: the per-address limit (every attempt counts) applies, and the
/// client's failure budget, since each of the 16 concurrent attempts
/// reserves a failure until its password is checked.
const RELAXED_THROTTLE: [(&str, &str); 2] = [
    ("USHER_THROTTLE__ADDRESS_BURST", "1000000"),
    ("USHER_THROTTLE__CLIENT_FAILURE_BURST", "1000000"),
];

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Concurrent signers, each signing in again as soon as it is answered.
    #[arg(long, default_value_t = 16)]
    pub signers: usize,
    /// Seconds of flood.
    #[arg(long, default_value_t = 10.0)]
    pub duration_secs: f64,
    /// Keep-alive connections doing session checks during the flood.
    #[arg(long, default_value_t = 8)]
    pub check_connections: usize,
    /// Session checks per second in total; 0 = closed loop (as fast as answered).
    #[arg(long, default_value_t = 0.0)]
    pub check_rate: f64,
    /// Signed-in sessions the checks cycle through.
    #[arg(long, default_value_t = 1_000)]
    pub check_sessions: usize,
    /// Seconds of session checks alone, before the flood, for comparison.
    #[arg(long, default_value_t = 5.0)]
    pub baseline_secs: f64,
}

pub async fn run(bench: &Bench, args: &Args) -> anyhow::Result<()> {
    bench.header("sign-in-flood");
    section("parameters");
    field("signers (closed loop, one connection each)", args.signers);
    field("flood duration", format!("{} s", args.duration_secs));
    let pace = (args.check_rate > 0.0).then_some(args.check_rate);
    field(
        "session checks",
        format!(
            "{} connections, {}, over {} sessions",
            args.check_connections,
            match pace {
                Some(rate) =>
                    format!("paced at {rate:.0}/s in total (latency from when each was due)"),
                None => "closed loop".into(),
            },
            args.check_sessions
        ),
    );
    field(
        "password hashing",
        "server defaults: Argon2id m=19456 KiB, t=2, p=1",
    );
    field(
        "server environment",
        RELAXED_THROTTLE
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" "),
    );

    let dir = tempfile::Builder::new().prefix("usher-bench-").tempdir()?;
    let seeded = seed::seed(dir.path(), args.check_sessions, 64).await?;
    let tokens = seeded.tokens();
    let usher = Usher::start(&bench.launch, dir.path(), &RELAXED_THROTTLE).await?;
    field("server", format!("pid {} on {}", usher.pid, usher.addr));
    let warm = load::run(
        usher.addr,
        Arc::new(BearerGets::new(usher.addr, PATH, &tokens, false)),
        Shape {
            connections: args.check_connections,
            duration: Duration::from_secs(60),
            rate: None,
        },
    )
    .await?;
    if warm.failed > 0 {
        bail!("usher refused seeded sessions: {}", warm.failures());
    }
    let checks = |duration: f64| -> anyhow::Result<_> {
        Ok(load::run(
            usher.addr,
            Arc::new(BearerGets::new(usher.addr, PATH, &tokens, true)),
            Shape {
                connections: args.check_connections,
                duration: Duration::from_secs_f64(duration),
                rate: pace,
            },
        ))
    };

    section("session checks alone (baseline)");
    bench.wait_until_quiet().await?;
    let probe = CpuProbe::start(usher.pid, bench.launch.core, bench.load_core)?;
    let baseline = checks(args.baseline_secs)?.await?;
    print_checks(&baseline);
    field("cpu", probe.finish()?);

    section("session checks during the sign-in flood");
    bench.wait_until_quiet().await?;
    let probe = CpuProbe::start(usher.pid, bench.launch.core, bench.load_core)?;
    let flood = load::run(
        usher.addr,
        Arc::new(Repeat::new(
            http1::post_json(
                usher.addr,
                "/v1/sessions",
                None,
                &seed::sign_in_body("Flood phone"),
            ),
            201,
        )),
        Shape {
            connections: args.signers,
            duration: Duration::from_secs_f64(args.duration_secs),
            rate: None,
        },
    );
    let (flood, during) = tokio::join!(flood, checks(args.duration_secs)?);
    let (flood, during) = (flood?, during?);
    let cpu = probe.finish()?;
    print_checks(&during);
    section("sign-ins during the flood");
    field(
        "sign-ins",
        format!(
            "{:.1} per second ({} in {:.1} s, failures {})",
            flood.per_second(),
            flood.ok,
            flood.elapsed.as_secs_f64(),
            flood.failures()
        ),
    );
    field("sign-in latency", flood.latencies.clone().summary());
    field("cpu", cpu);

    section("result");
    let p99 = during.latencies.clone().summary().p99;
    target(
        "session-check p99 < 5 ms during the flood",
        p99 < TARGET_P99,
        format!("p99 {}", crate::stats::ms(p99)),
    );
    usher.stop().await
}

fn print_checks(out: &Outcome) {
    field(
        "throughput",
        format!(
            "{:.0} checks/s ({} in {:.1} s, failures {})",
            out.per_second(),
            out.ok,
            out.elapsed.as_secs_f64(),
            out.failures()
        ),
    );
    field("latency", out.latencies.clone().summary());
}
