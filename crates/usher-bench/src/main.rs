//! `usher-bench`: the load generators behind the figures in BENCHMARKS.md.
//!
//! Each subcommand starts its own server (the usher release binary, pinned to
//! one core with `taskset`) on a fresh temporary database, drives it from this
//! process (pinned to another core), and prints its figures with the machine
//! and the parameters that produced them.

mod cluster;
mod fail_closed;
mod fleet;
mod http1;
mod idle_memory;
mod load;
mod metrics_cost;
mod report;
mod revoke_latency;
mod seed;
mod server;
mod session_check;
mod sign_in_flood;
mod stats;
mod stream_admission;
mod system;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use server::Launch;

/// Open files the bench asks for: 10,000 devices plus headroom, on each side.
const OPEN_FILES: u64 = 65_536;

#[derive(Parser)]
#[command(
    name = "usher-bench",
    about = "Load generators for usher's benchmarks (see BENCHMARKS.md)"
)]
struct Cli {
    /// The usher binary to benchmark [default: `usher` next to this binary].
    #[arg(long, global = true)]
    usher_bin: Option<PathBuf>,
    /// nginx binary for the static floor.
    #[arg(long, global = true, default_value = "/usr/sbin/nginx")]
    nginx_bin: PathBuf,
    /// Core the server runs on.
    #[arg(long, global = true, default_value_t = 0)]
    server_core: usize,
    /// Core this load generator runs on.
    #[arg(long, global = true, default_value_t = 1)]
    load_core: usize,
    /// Longest wait, before each measurement, for both cores to be idle
    /// (the machine is shared); then it measures anyway and says so.
    #[arg(long, global = true, default_value_t = 60.0)]
    quiet_wait_secs: f64,
    /// Extra environment for the usher server, `KEY=VALUE` (repeatable), to
    /// try a configuration: e.g. `USHER_SESSIONS__ACTIVITY_FLUSH_INTERVAL_MS=60000`.
    #[arg(long = "server-env", global = true, value_parser = parse_env)]
    server_env: Vec<(String, String)>,
    /// Start every usher server with its Prometheus metrics listener on,
    /// scraped every second by this process (`metrics-cost` compares both).
    #[arg(long, global = true)]
    metrics: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Session-check throughput and latency, against nginx's static floor.
    SessionCheck(session_check::Args),
    /// Time from a remote sign-out request to the device receiving `signed_out`
    /// (also prints idle memory).
    RevokeLatency(revoke_latency::Args),
    /// Server memory with 0 and with N connected idle devices.
    IdleMemory(idle_memory::FleetArgs),
    /// Sign-ins per second, and session-check latency during a sign-in flood.
    SignInFlood(sign_in_flood::Args),
    /// Stream admission decisions per second with accounts' devices racing
    /// for their plan's slots, then an independent over-admission check.
    StreamAdmission(stream_admission::Args),
    /// Three nodes on PostgreSQL and NATS: cross-node revocation latency,
    /// session checks on PostgreSQL against SQLite, and the NATS floor.
    Cluster(cluster::Args),
    /// A node cut off from PostgreSQL and NATS: time until it fails closed
    /// (`503 stale_node`), and until it serves again once healed.
    FailClosed(fail_closed::Args),
    /// Session-check throughput and sign-out latency with Prometheus metrics
    /// on (scraped every second) against the same with them off, in one run.
    MetricsCost(metrics_cost::Args),
    /// All of the above with default parameters, one after another
    /// (`cluster` only if PostgreSQL and NATS answer on their default addresses).
    All,
}

/// What every benchmark needs: how to start servers, and where it runs.
pub struct Bench {
    pub launch: Launch,
    pub load_core: usize,
    pub quiet_wait: std::time::Duration,
}

impl Bench {
    /// Waits (boundedly) for both cores to be idle before a measurement.
    pub async fn wait_until_quiet(&self) -> anyhow::Result<()> {
        let cores = [self.launch.core, self.load_core];
        let (waited, quiet) = system::wait_until_quiet(&cores, self.quiet_wait).await?;
        if !quiet {
            report::field(
                "note",
                format!(
                    "the machine was still busy after {:.0} s; measuring anyway",
                    waited.as_secs_f64()
                ),
            );
        } else if waited.as_secs_f64() > 2.0 {
            report::field(
                "note",
                format!(
                    "waited {:.0} s for the machine to be quiet",
                    waited.as_secs_f64()
                ),
            );
        }
        Ok(())
    }

    pub fn header(&self, benchmark: &str) {
        report::machine(benchmark, &self.launch, self.load_core);
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("usher-bench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    // Before the runtime exists, so every thread this process starts
    // inherits the pinning.
    system::pin_current_thread(cli.load_core)?;
    system::raise_open_files(OPEN_FILES)?;
    let usher_bin = match cli.usher_bin {
        Some(path) => path,
        None => std::env::current_exe()?.with_file_name("usher"),
    };
    let bench = Bench {
        launch: Launch {
            usher_bin,
            nginx_bin: cli.nginx_bin,
            core: cli.server_core,
            usher_env: cli.server_env,
            metrics: cli.metrics,
        },
        load_core: cli.load_core,
        quiet_wait: std::time::Duration::from_secs_f64(cli.quiet_wait_secs),
    };
    // One thread drives every connection: no cross-thread wake-ups, and the
    // load generator's cost is exactly one core's worth at most.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match cli.command {
            Command::SessionCheck(args) => session_check::run(&bench, &args).await,
            Command::RevokeLatency(args) => revoke_latency::run(&bench, &args).await,
            Command::IdleMemory(args) => idle_memory::run(&bench, &args).await,
            Command::SignInFlood(args) => sign_in_flood::run(&bench, &args).await,
            Command::StreamAdmission(args) => stream_admission::run(&bench, &args).await,
            Command::Cluster(args) => cluster::run(&bench, &args).await,
            Command::FailClosed(args) => fail_closed::run(&bench, &args).await,
            Command::MetricsCost(args) => metrics_cost::run(&bench, &args).await,
            Command::All => {
                session_check::run(&bench, &defaults()?).await?;
                println!();
                revoke_latency::run(&bench, &defaults()?).await?;
                println!();
                sign_in_flood::run(&bench, &defaults()?).await?;
                println!();
                stream_admission::run(&bench, &defaults()?).await?;
                println!();
                metrics_cost::run(&bench, &defaults()?).await?;
                println!();
                let cluster: cluster::Args = defaults()?;
                match cluster::services_missing(&cluster).await {
                    None => {
                        cluster::run(&bench, &cluster).await?;
                        println!();
                        fail_closed::run(&bench, &defaults()?).await
                    }
                    Some(missing) => {
                        println!("== usher-bench cluster ==\n  skipped: {missing}");
                        Ok(())
                    }
                }
            }
        }
    })
}

/// A subcommand's arguments with every flag at its default.
fn defaults<A: clap::Args + clap::FromArgMatches>() -> anyhow::Result<A> {
    let command = A::augment_args(clap::Command::new("defaults").no_binary_name(true));
    Ok(A::from_arg_matches(
        &command.try_get_matches_from(std::iter::empty::<String>())?,
    )?)
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("expected KEY=VALUE, got `{s}`"))
}
