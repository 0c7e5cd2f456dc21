//! Printing: every figure goes out with the machine and the parameters that
//! produced it, as `key: value` lines that read well and grep well.

use std::fmt::Display;
use std::path::Path;

use crate::server::Launch;

/// Prints the header of a benchmark run: what ran, where, and when.
pub fn machine(benchmark: &str, launch: &Launch, load_core: usize) {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let online = std::fs::read_to_string("/sys/devices/system/cpu/online")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    println!("== usher-bench {benchmark} ==");
    field("date", chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"));
    field("cpu", cpu);
    field(
        "cores",
        format!("online {online} (nproc for this process: {nproc})"),
    );
    field("kernel", kernel);
    field("load average before run", load);
    field(
        "bench build",
        if cfg!(debug_assertions) {
            "debug (figures are not meaningful)"
        } else {
            "release"
        },
    );
    field("server binary", binary_identity(&launch.usher_bin));
    field(
        "server metrics",
        if launch.metrics {
            format!(
                "on (metrics_listen on port 0, scraped every {} s by the bench)",
                crate::server::SCRAPE_EVERY.as_secs()
            )
        } else {
            "off".to_owned()
        },
    );
    if !launch.usher_env.is_empty() {
        let env: Vec<String> = launch
            .usher_env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        field("server environment (--server-env)", env.join(" "));
    }
    field(
        "pinning",
        format!(
            "server on core {} (taskset), load generator on core {load_core} (sched_setaffinity)",
            launch.core
        ),
    );
}

/// Prints one `key: value` line, indented under the header.
pub fn field(key: &str, value: impl Display) {
    println!("  {key}: {value}");
}

/// Prints a section title inside a run.
pub fn section(title: &str) {
    println!("-- {title}");
}

/// Prints whether a target is met.
pub fn target(what: &str, met: bool, detail: impl Display) {
    let verdict = if met { "MET" } else { "MISSED" };
    println!("  target {what}: {verdict} ({detail})");
}

/// The binary's path, size and modification time: enough to tell builds apart.
fn binary_identity(path: &Path) -> String {
    match std::fs::metadata(path) {
        Ok(meta) => {
            let modified = meta
                .modified()
                .map(|t| {
                    chrono::DateTime::<chrono::Utc>::from(t)
                        .format("%Y-%m-%dT%H:%M:%SZ")
                        .to_string()
                })
                .unwrap_or_default();
            format!(
                "{} ({} bytes, built {modified})",
                path.display(),
                meta.len()
            )
        }
        Err(_) => format!("{} (missing)", path.display()),
    }
}
