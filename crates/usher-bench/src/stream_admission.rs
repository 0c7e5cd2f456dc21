//! Issue 3's benchmark: stream admission under contention. 1,000 accounts on
//! plan `standard` (2 streams), each with 4 signed-in devices; for 30 s every
//! device loops `POST /v1/streams`: on `201` it plays for a short random
//! time and stops (`DELETE /v1/streams/{id}`), on `409 too_many_streams` it
//! retries after a short random pause. Target: at least 5,000 admission
//! decisions (201s and 409s) per second on the embedded SQLite store.
//!
//! After the run the server is stopped and the SQLite file is checked
//! independently of usher's code (plain SQL, read-only): for every account,
//! a sweep over its streams' live intervals `[started_at, min(ended_at,
//! lease_expires_at))` finds the most streams live at any instant, which
//! must never exceed the plan's limit.
//!
//! The 4,000 devices share a bounded number of keep-alive connections: each
//! connection serves the devices assigned to it, one request in flight, in
//! the order they become ready. Device `d` is on connection `d % N`, so the
//! 4 devices of an account sit on 4 different connections and really race.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rand::Rng;
use tokio::task::JoinSet;

use crate::http1::{self, Conn, Prepared};
use crate::report::{field, section, target};
use crate::seed::{self, Seeder};
use crate::server::Usher;
use crate::stats::Latencies;
use crate::system::CpuProbe;
use crate::Bench;

/// Target: admission decisions (201 + 409) per second.
const TARGET_DECISIONS: f64 = 5_000.0;
/// How long after its end the race may take to finish its last requests.
const GRACE: Duration = Duration::from_secs(30);

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Accounts, each on `--plan`.
    #[arg(long, default_value_t = 1_000)]
    pub accounts: usize,
    /// Signed-in devices per account, all racing for its slots.
    #[arg(long, default_value_t = 4)]
    pub devices_per_account: usize,
    /// The accounts' plan (the server's default plans: basic 1, standard 2, premium 4).
    #[arg(long, default_value = "standard")]
    pub plan: String,
    /// Seconds the devices race.
    #[arg(long, default_value_t = 30.0)]
    pub duration_secs: f64,
    /// Keep-alive connections the devices are multiplexed over.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// A device that got a slot plays for a random 0..this many ms, then stops.
    #[arg(long, default_value_t = 20)]
    pub hold_max_ms: u64,
    /// A device refused with 409 retries after a random 0..this many ms.
    #[arg(long, default_value_t = 10)]
    pub retry_max_ms: u64,
    /// Sessions written to the store at once while seeding.
    #[arg(long, default_value_t = 64)]
    pub seed_concurrency: usize,
}

/// What the race produced.
#[derive(Default)]
struct Race {
    started: u64,
    refused: u64,
    stopped: u64,
    /// Answers other than 201/409 to a start and other than 204 to a stop.
    other: u64,
    first_other: Option<String>,
    /// `POST /v1/streams`, write → whole answer read, 201s and 409s.
    starts: Latencies,
    /// `DELETE /v1/streams/{id}`.
    stops: Latencies,
    elapsed: Duration,
}

impl Race {
    fn absorb(&mut self, other: Race) {
        self.started += other.started;
        self.refused += other.refused;
        self.stopped += other.stopped;
        self.other += other.other;
        if self.first_other.is_none() {
            self.first_other = other.first_other;
        }
        self.starts.merge(other.starts);
        self.stops.merge(other.stops);
    }

    fn decisions(&self) -> u64 {
        self.started + self.refused
    }
}

pub async fn run(bench: &Bench, args: &Args) -> anyhow::Result<()> {
    bench.header("stream-admission");
    section("parameters");
    field("store", "embedded SQLite (a fresh temporary database)");
    field(
        "accounts",
        format!(
            "{} on plan `{}`, {} signed-in devices each ({} devices)",
            args.accounts,
            args.plan,
            args.devices_per_account,
            args.accounts * args.devices_per_account
        ),
    );
    field(
        "each device loops",
        format!(
            "POST /v1/streams; on 201 plays 0-{} ms then DELETE /v1/streams/{{id}}; on 409 retries after 0-{} ms",
            args.hold_max_ms, args.retry_max_ms
        ),
    );
    field(
        "connections",
        format!(
            "{} keep-alive, one request in flight each; device d on connection d mod {}",
            args.connections, args.connections
        ),
    );
    field("measured", format!("{} s", args.duration_secs));

    let dir = tempfile::Builder::new().prefix("usher-bench-").tempdir()?;
    section("seeding");
    let started = Instant::now();
    let seeder = Seeder::open(&seed::sqlite_url(dir.path())).await?;
    let limit = seeder.plans().limits(&args.plan).max_streams;
    let mut devices = Vec::with_capacity(args.accounts * args.devices_per_account);
    for a in 0..args.accounts {
        let account = seeder
            .account(&format!("bench-{a:05}@example.com"), &args.plan)
            .await?;
        devices.extend(
            seeder
                .sessions(account, args.devices_per_account, args.seed_concurrency)
                .await?
                .into_iter()
                .map(|s| s.access_token),
        );
    }
    drop(seeder);
    field(
        "seeded",
        format!(
            "{} accounts and {} sessions in {:.1} s; plan `{}` allows {limit} streams",
            args.accounts,
            devices.len(),
            started.elapsed().as_secs_f64(),
            args.plan
        ),
    );

    section("server");
    let usher = Usher::start(&bench.launch, dir.path(), &[]).await?;
    field("usher", format!("pid {} on {}", usher.pid, usher.addr));
    crate::session_check::warm_up(&usher, &devices, args.connections).await?;

    section("race");
    bench.wait_until_quiet().await?;
    let probe = CpuProbe::start(usher.pid, bench.launch.core, bench.load_core)?;
    let race = race(usher.addr, &devices, args).await?;
    let cpu = probe.finish()?;
    let rate = race.decisions() as f64 / race.elapsed.as_secs_f64();
    field(
        "admission decisions",
        format!(
            "{} in {:.1} s: {rate:.0}/s ({} × 201 started, {} × 409 too_many_streams)",
            race.decisions(),
            race.elapsed.as_secs_f64(),
            race.started,
            race.refused
        ),
    );
    field(
        "stream starts",
        format!(
            "{:.0}/s; stops (204) {}",
            race.started as f64 / race.elapsed.as_secs_f64(),
            race.stopped
        ),
    );
    field(
        "other answers",
        match &race.first_other {
            None => "0".to_owned(),
            Some(first) => format!("{} (first: {first})", race.other),
        },
    );
    field("POST /v1/streams latency", race.starts.summary());
    field("DELETE /v1/streams/{id} latency", race.stops.summary());
    field(
        "cpu",
        format!(
            "{cpu}{}",
            if cpu.disturbed() {
                " — DISTURBED by other processes"
            } else {
                ""
            }
        ),
    );
    let log = usher.log.clone();
    usher.stop().await?;

    section("independent over-admission check (read-only SQL on the SQLite file)");
    let check = check_sqlite(&dir.path().join("usher.db")).await?;
    check.print(limit);
    if race.other > 0 {
        bail!("unexpected answers during the race; see {}", log.display());
    }
    target(
        "≥ 5,000 admission decisions/s",
        rate >= TARGET_DECISIONS,
        format!("{rate:.0}/s"),
    );
    target(
        "0 over-admissions",
        check.over_admitted_accounts == 0,
        format!(
            "{} accounts, {} instants",
            check.over_admitted_accounts, check.over_admissions
        ),
    );
    Ok(())
}

/// One device as its connection sees it.
struct Device {
    start: Prepared,
    token: String,
    /// The stream it holds, if any.
    playing: Option<String>,
}

/// Runs the race: every connection serves its devices until the end.
async fn race(addr: SocketAddr, tokens: &[String], args: &Args) -> anyhow::Result<Race> {
    let body = serde_json::json!({ "title": "Benchmark: The Movie" });
    let connections = args.connections.clamp(1, tokens.len().max(1));
    let mut groups: Vec<Vec<Device>> = (0..connections).map(|_| Vec::new()).collect();
    for (d, token) in tokens.iter().enumerate() {
        groups[d % connections].push(Device {
            start: http1::post_json(addr, "/v1/streams", Some(token), &body),
            token: token.clone(),
            playing: None,
        });
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.duration_secs);
    let mut tasks = JoinSet::new();
    for devices in groups {
        let (hold, retry) = (args.hold_max_ms, args.retry_max_ms);
        tasks.spawn(connection(addr, devices, deadline, hold, retry));
    }
    let mut race = Race::default();
    loop {
        match tokio::time::timeout_at((deadline + GRACE).into(), tasks.join_next()).await {
            Ok(Some(result)) => race.absorb(result.context("a race connection panicked")??),
            Ok(None) => break,
            Err(_) => bail!("the server stopped answering"),
        }
    }
    race.elapsed = started.elapsed();
    Ok(race)
}

/// One connection: takes the device that is ready first, makes its next
/// request, and schedules it again.
async fn connection(
    addr: SocketAddr,
    mut devices: Vec<Device>,
    deadline: Instant,
    hold_max_ms: u64,
    retry_max_ms: u64,
) -> anyhow::Result<Race> {
    let mut conn = Conn::open(addr).await?;
    let mut out = Race {
        starts: Latencies::with_capacity(256 * 1024),
        stops: Latencies::with_capacity(128 * 1024),
        ..Race::default()
    };
    let now = Instant::now();
    let mut ready: BinaryHeap<Reverse<(Instant, usize)>> =
        (0..devices.len()).map(|d| Reverse((now, d))).collect();
    let pause = |max_ms: u64| {
        Duration::from_micros(rand::thread_rng().gen_range(0..=max_ms.saturating_mul(1000)))
    };
    while let Some(Reverse((at, d))) = ready.pop() {
        if at >= deadline {
            break;
        }
        tokio::time::sleep_until(at.into()).await;
        if Instant::now() >= deadline {
            break;
        }
        let device = &mut devices[d];
        let sent = Instant::now();
        let next = if let Some(stream) = device.playing.take() {
            let path = format!("/v1/streams/{stream}");
            let status = conn
                .exchange(&http1::delete(addr, &path, &device.token))
                .await?;
            out.stops.record(sent.elapsed());
            if status == 204 {
                out.stopped += 1;
            } else {
                out.other(status, conn.body());
            }
            Instant::now()
        } else {
            let status = conn.exchange(&device.start).await?;
            let took = sent.elapsed();
            match status {
                201 => {
                    out.started += 1;
                    out.starts.record(took);
                    device.playing = Some(stream_id(conn.body())?);
                    Instant::now() + pause(hold_max_ms)
                }
                409 => {
                    out.refused += 1;
                    out.starts.record(took);
                    Instant::now() + pause(retry_max_ms)
                }
                _ => {
                    out.other(status, conn.body());
                    Instant::now() + pause(retry_max_ms)
                }
            }
        };
        ready.push(Reverse((next, d)));
    }
    Ok(out)
}

impl Race {
    fn other(&mut self, status: u16, body: &[u8]) {
        self.other += 1;
        if self.first_other.is_none() {
            let body = String::from_utf8_lossy(body);
            self.first_other = Some(format!(
                "{status} {}",
                body.chars().take(200).collect::<String>()
            ));
        }
    }
}

fn stream_id(body: &[u8]) -> anyhow::Result<String> {
    let lease: serde_json::Value = serde_json::from_slice(body).context("201 body is not JSON")?;
    lease["stream_id"]
        .as_str()
        .map(str::to_owned)
        .context("no stream_id in the 201 answer")
}

/// What the independent check found.
struct Check {
    streams: u64,
    accounts: usize,
    /// Streams still open when the server stopped (counted until their lease expiry).
    open: u64,
    /// Most streams live at one instant, over all accounts.
    max_live: u32,
    over_admitted_accounts: usize,
    /// Instants (starts) that took an account above its limit.
    over_admissions: u64,
    /// Longest time an account stayed above its limit.
    longest_over: i64,
}

impl Check {
    fn print(&self, limit: u32) {
        field(
            "streams checked",
            format!(
                "{} over {} accounts ({} still open at the end, counted until their lease expiry)",
                self.streams, self.accounts, self.open
            ),
        );
        field(
            "most streams live at one instant, any account",
            format!("{} (plan limit {limit})", self.max_live),
        );
        field(
            "over-admissions",
            format!(
                "{} accounts, {} instants above the limit{}",
                self.over_admitted_accounts,
                self.over_admissions,
                if self.over_admissions > 0 {
                    format!(", longest {} ms", self.longest_over)
                } else {
                    String::new()
                }
            ),
        );
    }
}

/// Reads every stream from the SQLite file (read-only, plain SQL) and
/// sweeps each account's live intervals.
async fn check_sqlite(db: &Path) -> anyhow::Result<Check> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    // Half-open interval [started_at, end): a stream stops counting when it
    // is stopped or when its lease expires, whichever comes first.
    let rows: Vec<(String, i64, i64, bool)> = conn
        .prepare(
            "SELECT account_id, started_at, \
                    CASE WHEN ended_at IS NOT NULL AND ended_at < lease_expires_at \
                         THEN ended_at ELSE lease_expires_at END, \
                    ended_at IS NULL \
             FROM streams",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    let plans: Vec<(String, String)> = conn
        .prepare("SELECT id, plan FROM accounts")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    drop(conn);
    let plans: BTreeMap<String, String> = plans.into_iter().collect();
    let default_plans = usher::Config::default().plans();
    let mut by_account: BTreeMap<&str, Vec<(i64, i32)>> = BTreeMap::new();
    let mut open = 0;
    for (account, start, end, is_open) in &rows {
        open += u64::from(*is_open);
        let events = by_account.entry(account.as_str()).or_default();
        events.push((*start, 1));
        events.push((*end, -1));
    }
    let mut check = Check {
        streams: rows.len() as u64,
        accounts: by_account.len(),
        open,
        max_live: 0,
        over_admitted_accounts: 0,
        over_admissions: 0,
        longest_over: 0,
    };
    for (account, events) in &mut by_account {
        let plan = plans
            .get(*account)
            .context("a stream of an unknown account")?;
        let account_limit = default_plans.limits(plan).max_streams;
        // At one instant, ends (-1) sort before starts (+1): half-open intervals.
        events.sort_unstable();
        let (mut live, mut over_since, mut over) = (0i64, None, false);
        for &(at, delta) in events.iter() {
            live += i64::from(delta);
            check.max_live = check.max_live.max(live as u32);
            if live > i64::from(account_limit) {
                if delta > 0 {
                    check.over_admissions += 1;
                }
                over = true;
                over_since.get_or_insert(at);
            } else if let Some(since) = over_since.take() {
                check.longest_over = check.longest_over.max(at - since);
            }
        }
        check.over_admitted_accounts += usize::from(over);
    }
    Ok(check)
}
