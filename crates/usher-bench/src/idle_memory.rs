//! Figure 3: server memory (RSS) with 0 and with 10,000 connected idle
//! devices. Target: under 10 KB per connected idle device.
//!
//! Three readings separate what a connection costs from what a known
//! session costs: `cold` (server just started), `warm` (every session used
//! once over HTTP, so the session cache and token cache hold them all, no
//! connection open), and `connected` (every device on its live connection).

use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;

use crate::fleet::Fleet;
use crate::load::{self, BearerGets, Shape};
use crate::report::{field, section, target};
use crate::seed::SeededSession;
use crate::server::Usher;
use crate::Bench;

/// Target: bytes per connected idle device.
const TARGET_BYTES: f64 = 10_000.0;

#[derive(clap::Args, Debug, Clone)]
pub struct FleetArgs {
    /// Devices holding a live connection.
    #[arg(long, default_value_t = 10_000)]
    pub devices: usize,
    /// WebSocket handshakes in flight at once while connecting.
    #[arg(long, default_value_t = 64)]
    pub connect_concurrency: usize,
    /// Seconds to let the server settle before each memory reading.
    #[arg(long, default_value_t = 2.0)]
    pub settle_secs: f64,
    /// Sessions written to the store at once while seeding.
    #[arg(long, default_value_t = 64)]
    pub seed_concurrency: usize,
}

pub struct Memory {
    pub devices: usize,
    pub cold_kib: u64,
    pub warm_kib: u64,
    pub connected_kib: u64,
}

impl Memory {
    /// Bytes per device for the connection alone (connected − warm).
    pub fn per_connection(&self) -> f64 {
        (self.connected_kib as f64 - self.warm_kib as f64) * 1024.0 / self.devices as f64
    }

    /// Bytes per device all in: connection plus cached session and token (connected − cold).
    pub fn per_device_all_in(&self) -> f64 {
        (self.connected_kib as f64 - self.cold_kib as f64) * 1024.0 / self.devices as f64
    }

    pub fn print(&self) {
        section("idle memory (server VmRSS)");
        field(
            "0 devices, server just started (cold)",
            format!("{} KiB", self.cold_kib),
        );
        field(
            "0 devices, every session used once over HTTP (warm caches)",
            format!("{} KiB", self.warm_kib),
        );
        field(
            &format!("{} devices connected and idle", self.devices),
            format!("{} KiB", self.connected_kib),
        );
        field(
            "per connected idle device: connection only (connected − warm)",
            format!(
                "{:.0} bytes ({:.2} KiB)",
                self.per_connection(),
                self.per_connection() / 1024.0
            ),
        );
        field(
            "per connected idle device: all in (connected − cold)",
            format!(
                "{:.0} bytes ({:.2} KiB)",
                self.per_device_all_in(),
                self.per_device_all_in() / 1024.0
            ),
        );
        // The figure: RSS with 10,000 devices against RSS with none.
        let all_in = self.per_device_all_in();
        target(
            "< 10 KB (10,000 bytes) per connected idle device, all in",
            all_in < TARGET_BYTES,
            format!("{all_in:.0} bytes"),
        );
    }
}

/// Takes the three readings, leaving every device connected for the caller.
pub async fn connect_and_measure(
    usher: &Usher,
    sessions: &[SeededSession],
    args: &FleetArgs,
) -> anyhow::Result<(Fleet, Memory)> {
    let settle = || tokio::time::sleep(Duration::from_secs_f64(args.settle_secs));
    settle().await;
    let cold_kib = usher.rss_kib()?;
    let tokens: Vec<String> = sessions.iter().map(|s| s.access_token.clone()).collect();
    let warm = load::run(
        usher.addr,
        Arc::new(BearerGets::new(
            usher.addr,
            "/v1/sessions/current",
            &tokens,
            false,
        )),
        Shape {
            connections: 16,
            duration: Duration::from_secs(600),
            rate: None,
        },
    )
    .await?;
    if warm.failed > 0 {
        bail!("usher refused seeded sessions: {}", warm.failures());
    }
    settle().await;
    let warm_kib = usher.rss_kib()?;
    let fleet = Fleet::connect(&[usher.addr], sessions, args.connect_concurrency).await?;
    field(
        "connected",
        format!(
            "{} devices in {:.1} s ({} handshakes at a time)",
            fleet.devices.len(),
            fleet.took.as_secs_f64(),
            args.connect_concurrency
        ),
    );
    settle().await;
    let connected_kib = usher.rss_kib()?;
    Ok((
        fleet,
        Memory {
            devices: sessions.len(),
            cold_kib,
            warm_kib,
            connected_kib,
        },
    ))
}

pub async fn run(bench: &Bench, args: &FleetArgs) -> anyhow::Result<()> {
    bench.header("idle-memory");
    section("parameters");
    field("devices", args.devices);
    field(
        "settle before each reading",
        format!("{} s", args.settle_secs),
    );
    let dir = tempfile::Builder::new().prefix("usher-bench-").tempdir()?;
    let seeded = crate::seed::seed(dir.path(), args.devices, args.seed_concurrency).await?;
    field(
        "seeded",
        format!(
            "{} sessions in {:.1} s",
            seeded.sessions.len(),
            seeded.took.as_secs_f64()
        ),
    );
    let usher = Usher::start(&bench.launch, dir.path(), &[]).await?;
    field("server", format!("pid {} on {}", usher.pid, usher.addr));
    field(
        "open-file limits",
        crate::system::describe_open_file_limits(usher.pid),
    );
    let (fleet, memory) = connect_and_measure(&usher, &seeded.sessions, args).await?;
    memory.print();
    drop(fleet);
    usher.stop().await
}
