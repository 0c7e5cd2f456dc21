//! Figure 2: how fast a remote sign-out reaches the device. 10,000 devices
//! hold live connections; another device signs 1,000 of them out one at a
//! time (`DELETE /v1/devices/{id}`), and each latency runs from sending that
//! request to the device's socket receiving `signed_out`. Target: p99 < 10 ms.
//!
//! The same run also takes figure 3's memory readings (printed separately).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::fleet::Device;
use crate::http1::{self, Conn};
use crate::idle_memory::{self, FleetArgs};
use crate::load::{self, BearerGets, Shape};
use crate::report::{field, section, target};
use crate::seed;
use crate::server::Usher;
use crate::stats::{ms, Latencies, Summary};
use crate::Bench;

const TARGET_P99: Duration = Duration::from_millis(10);
const CHECK_PATH: &str = "/v1/sessions/current";

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    #[command(flatten)]
    pub fleet: FleetArgs,
    /// Devices signed out, one at a time, spread evenly over the fleet.
    #[arg(long, default_value_t = 1_000)]
    pub sign_outs: usize,
    /// Pause between one sign-out's completion and the next request (0 =
    /// back to back); spreads the sign-outs over the server's periodic work.
    #[arg(long, default_value_t = 0)]
    pub sign_out_interval_ms: u64,
    /// Longest wait for one device's `signed_out` before the run fails.
    #[arg(long, default_value_t = 5.0)]
    pub timeout_secs: f64,
    /// Optional: more signed-in sessions, used by a background session-check
    /// load that runs during the sign-outs (0 = no background load).
    #[arg(long, default_value_t = 0)]
    pub background_sessions: usize,
    /// Total rate of the background session checks, per second.
    #[arg(long, default_value_t = 20_000.0)]
    pub background_rate: f64,
    /// Seconds the background load runs before the first sign-out.
    #[arg(long, default_value_t = 6.0)]
    pub background_lead_secs: f64,
}

/// What the sign-outs measured.
pub struct SignOuts {
    /// Request sent → the device's socket receives `signed_out`.
    delivered: Latencies,
    /// Request sent → the `204` answer is read.
    answered: Latencies,
    /// Devices told before the answer was read.
    before_answer: usize,
}

pub async fn run(bench: &Bench, args: &Args) -> anyhow::Result<()> {
    bench.header("revoke-latency (and idle-memory)");
    section("parameters");
    field("devices on live connections", args.fleet.devices);
    field(
        "sign-outs, one at a time",
        format!("{}, {} ms apart", args.sign_outs, args.sign_out_interval_ms),
    );
    field(
        "settle before each memory reading",
        format!("{} s", args.fleet.settle_secs),
    );
    if args.sign_outs > args.fleet.devices {
        bail!("cannot sign out more devices than are connected");
    }

    if args.background_sessions > 0 {
        field(
            "background load during the sign-outs",
            format!(
                "GET /v1/sessions/current paced at {:.0}/s over {} other sessions, from {} s before the first sign-out",
                args.background_rate, args.background_sessions, args.background_lead_secs
            ),
        );
    }

    let dir = tempfile::Builder::new().prefix("usher-bench-").tempdir()?;
    let total = args.fleet.devices + args.background_sessions;
    let mut seeded = seed::seed(dir.path(), total, args.fleet.seed_concurrency).await?;
    field(
        "seeded",
        format!(
            "{} sessions in {:.1} s",
            seeded.sessions.len(),
            seeded.took.as_secs_f64()
        ),
    );
    let background: Vec<String> = seeded
        .sessions
        .split_off(args.fleet.devices)
        .into_iter()
        .map(|s| s.access_token)
        .collect();
    let usher = Usher::start(&bench.launch, dir.path(), &[]).await?;
    field("server", format!("pid {} on {}", usher.pid, usher.addr));
    field(
        "open-file limits",
        crate::system::describe_open_file_limits(usher.pid),
    );
    let remote = sign_in(&usher).await?;

    let (mut fleet, memory) =
        idle_memory::connect_and_measure(&usher, &seeded.sessions, &args.fleet).await?;
    memory.print();

    section("remote sign-outs");
    let outcome = if background.is_empty() {
        bench.wait_until_quiet().await?;
        sign_out(&[usher.addr], &mut fleet.devices, &remote, &args.plan()).await?
    } else {
        let warm = load::run(
            usher.addr,
            Arc::new(BearerGets::new(usher.addr, CHECK_PATH, &background, false)),
            Shape {
                connections: 16,
                duration: Duration::from_secs(600),
                rate: None,
            },
        )
        .await?;
        if warm.failed > 0 {
            bail!("usher refused background sessions: {}", warm.failures());
        }
        bench.wait_until_quiet().await?;
        let checks = load::run(
            usher.addr,
            Arc::new(BearerGets::new(usher.addr, CHECK_PATH, &background, true)),
            Shape {
                connections: 16,
                duration: Duration::from_secs(3600),
                rate: Some(args.background_rate),
            },
        );
        let sign_outs = async {
            tokio::time::sleep(Duration::from_secs_f64(args.background_lead_secs)).await;
            sign_out(&[usher.addr], &mut fleet.devices, &remote, &args.plan()).await
        };
        tokio::select! {
            outcome = sign_outs => outcome?,
            checks = checks => bail!("the background load stopped early: {:?}", checks.map(|o| o.failures())),
        }
    };
    let summary = outcome.print(TARGET_P99);
    target(
        "p99 < 10 ms",
        summary.p99 < TARGET_P99,
        format!("p99 {}", crate::stats::ms(summary.p99)),
    );
    drop(fleet);
    usher.stop().await
}

impl Args {
    fn plan(&self) -> SignOutPlan {
        SignOutPlan {
            count: self.sign_outs,
            pause: Duration::from_millis(self.sign_out_interval_ms),
            timeout: Duration::from_secs_f64(self.timeout_secs),
        }
    }
}

/// Which sign-outs to make, and how.
pub struct SignOutPlan {
    /// Devices signed out, spread evenly over the fleet.
    pub count: usize,
    /// Pause between one sign-out's completion and the next request.
    pub pause: Duration,
    /// Longest wait for one device's `signed_out`.
    pub timeout: Duration,
}

impl SignOuts {
    /// No sign-out yet.
    pub fn new() -> Self {
        Self {
            delivered: Latencies::default(),
            answered: Latencies::default(),
            before_answer: 0,
        }
    }

    /// Adds another run's sign-outs to these.
    pub fn merge(&mut self, other: SignOuts) {
        self.delivered.merge(other.delivered);
        self.answered.merge(other.answered);
        self.before_answer += other.before_answer;
    }

    /// Request sent → device told, summarised.
    pub fn delivered(&self) -> Summary {
        self.delivered.clone().summary()
    }

    /// Prints the figures, counting the sign-outs slower than `slow`;
    /// returns the delivery latency summary.
    pub fn print(self, slow: Duration) -> Summary {
        let count = self.delivered.count_above(slow);
        let n = self.answered.clone().summary().count;
        let summary = self.delivered.summary();
        field("request sent → device receives signed_out", summary);
        field(
            &format!("sign-outs delivered in more than {}", ms(slow)),
            format!("{count} of {n}"),
        );
        field("request sent → 204 answer read", self.answered.summary());
        field(
            "devices told before the 204 answer was read",
            format!("{} of {n}", self.before_answer),
        );
        summary
    }
}

/// Signs devices out one at a time, spread evenly over `devices` (a fleet's,
/// or part of it), each time waiting for both the answer and the device's
/// `signed_out`. With several servers, each request goes to the server after
/// the one holding the device's socket (`servers[(node + 1) % len]`): never
/// the same one.
pub async fn sign_out(
    servers: &[SocketAddr],
    devices: &mut [Device],
    remote: &str,
    plan: &SignOutPlan,
) -> anyhow::Result<SignOuts> {
    let mut conns = Vec::with_capacity(servers.len());
    for &addr in servers {
        conns.push(Conn::open(addr).await?);
    }
    let mut out = SignOuts {
        delivered: Latencies::with_capacity(plan.count),
        answered: Latencies::with_capacity(plan.count),
        before_answer: 0,
    };
    let fleet = devices;
    let devices = fleet.len();
    if plan.count > devices {
        bail!("cannot sign out more devices than are connected");
    }
    for k in 0..plan.count {
        if k > 0 && !plan.pause.is_zero() {
            tokio::time::sleep(plan.pause).await;
        }
        let device = &mut fleet[k * devices / plan.count];
        let via = (device.node + 1) % servers.len();
        let conn = &mut conns[via];
        let path = format!("/v1/devices/{}", device.session_id);
        let request = http1::delete(servers[via], &path, remote);
        let sent = Instant::now();
        let answer = async {
            let result = conn.exchange(&request).await;
            (result, Instant::now())
        };
        let ((result, answered_at), told_at) =
            tokio::join!(answer, device.signed_out(plan.timeout));
        let status = result?;
        if status != 204 {
            bail!(
                "sign-out answered {status}: {}",
                String::from_utf8_lossy(conn.body())
            );
        }
        let told_at =
            told_at.with_context(|| format!("device {} was not told", device.session_id))?;
        out.delivered.record(told_at - sent);
        out.answered.record(answered_at - sent);
        if told_at <= answered_at {
            out.before_answer += 1;
        }
    }
    Ok(out)
}

/// Signs in a "remote control" device through the API (one real Argon2
/// verification) and returns its access token.
pub async fn sign_in(usher: &Usher) -> anyhow::Result<String> {
    let request = http1::post_json(
        usher.addr,
        "/v1/sessions",
        None,
        &seed::sign_in_body("Remote control phone"),
    );
    let (status, body) = load::once(usher.addr, &request).await?;
    if status != 201 {
        bail!(
            "sign-in answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    let tokens: serde_json::Value = serde_json::from_slice(&body)?;
    tokens["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("no access_token in the sign-in answer")
}
