//! What the bench needs from the operating system: CPU pinning, the open-file
//! limit, CPU-time accounting and a process's resident memory. Linux only.

use std::time::{Duration, Instant};

use anyhow::Context;

/// Pins the calling thread to one core. Threads created afterwards (the
/// runtime's, SQLite's) inherit the mask, so calling this first thing in
/// `main` pins the whole load generator.
pub fn pin_current_thread(core: usize) -> anyhow::Result<()> {
    // SAFETY: `set` is a plain bit set initialised by CPU_ZERO; pid 0 means
    // the calling thread, and the size passed is the size of the set.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).context(format!("pinning to core {core}"));
    }
    Ok(())
}

/// Raises this process's open-file limit to `wanted` (raising the hard limit
/// too when allowed, as root). Children inherit it, so the server started
/// afterwards can hold as many sockets as the bench opens. Returns the limit
/// in force.
pub fn raise_open_files(wanted: u64) -> anyhow::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error()).context("getrlimit(RLIMIT_NOFILE)");
    }
    if lim.rlim_cur >= wanted {
        return Ok(lim.rlim_cur);
    }
    let raised = libc::rlimit {
        rlim_cur: wanted,
        rlim_max: lim.rlim_max.max(wanted),
    };
    // SAFETY: `raised` is a valid rlimit.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
        return Ok(wanted);
    }
    // Not allowed to raise the hard limit: take what it allows.
    let capped = libc::rlimit {
        rlim_cur: lim.rlim_max,
        rlim_max: lim.rlim_max,
    };
    // SAFETY: as above.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &capped) } != 0 {
        return Err(std::io::Error::last_os_error()).context("setrlimit(RLIMIT_NOFILE)");
    }
    Ok(lim.rlim_max)
}

/// The soft open-file limit of another process, from `/proc/<pid>/limits`.
pub fn open_file_limit_of(pid: u32) -> Option<u64> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The open-file limits in force for the bench and for the server.
pub fn describe_open_file_limits(server_pid: u32) -> String {
    let show = |pid| open_file_limit_of(pid).map_or("?".to_owned(), |n| n.to_string());
    format!(
        "bench {}, server {}",
        show(std::process::id()),
        show(server_pid)
    )
}

fn clock_ticks_per_sec() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as u64
    } else {
        100
    }
}

/// User + system CPU time of a whole process (all its threads).
pub fn process_cpu(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // The command name may contain spaces; fields are counted after its ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("malformed /proc/<pid>/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat(5); `rest` starts at field 3.
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    Ok(Duration::from_millis(ticks * 1000 / clock_ticks_per_sec()))
}

/// User + system CPU time of this process.
pub fn own_cpu() -> Duration {
    // SAFETY: `usage` is a valid, writable rusage.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Resident memory of a process in KiB (`VmRSS`).
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS in /proc/<pid>/status")
}

/// Jiffies one core spent in each state, from `/proc/stat`.
#[derive(Clone, Copy, Default)]
struct CoreTimes {
    user: u64,
    system: u64,
    /// Interrupts and softirqs: on loopback, much of TCP's receive path.
    irq: u64,
    /// Time the hypervisor gave to another guest.
    steal: u64,
    idle: u64,
}

impl CoreTimes {
    fn read(core: usize) -> anyhow::Result<Self> {
        let stat = std::fs::read_to_string("/proc/stat")?;
        let name = format!("cpu{core} ");
        let line = stat
            .lines()
            .find(|l| l.starts_with(&name))
            .with_context(|| format!("no cpu{core} in /proc/stat"))?;
        let v: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        let at = |i: usize| v.get(i).copied().unwrap_or(0);
        // user nice system idle iowait irq softirq steal
        Ok(Self {
            user: at(0) + at(1),
            system: at(2),
            irq: at(5) + at(6),
            steal: at(7),
            idle: at(3) + at(4),
        })
    }

    fn since(self, before: Self) -> Self {
        Self {
            user: self.user - before.user,
            system: self.system - before.system,
            irq: self.irq - before.irq,
            steal: self.steal - before.steal,
            idle: self.idle - before.idle,
        }
    }

    fn total(self) -> u64 {
        self.user + self.system + self.irq + self.steal + self.idle
    }
}

/// How one core spent an interval, as fractions.
pub struct CoreUse {
    pub core: usize,
    pub user: f64,
    pub system: f64,
    pub irq: f64,
    pub steal: f64,
}

impl CoreUse {
    /// Busy for any reason, including time stolen by the hypervisor.
    pub fn busy(&self) -> f64 {
        self.user + self.system + self.irq + self.steal
    }
}

/// CPU use over an interval: how each core spent it and how much CPU the
/// server and this process took. Tells whether the load generator, rather
/// than the server, was the limit, and whether other processes (on a shared
/// machine) ran on either core and disturbed the figure.
pub struct CpuProbe {
    started: Instant,
    server_pid: u32,
    server_cpu: Duration,
    own_cpu: Duration,
    server_core: (usize, CoreTimes),
    load_core: (usize, CoreTimes),
}

pub struct CpuUse {
    /// Fraction of one core used by the server process.
    pub server: f64,
    /// Fraction of one core used by the load generator (this process).
    pub load: f64,
    pub server_core: CoreUse,
    pub load_core: CoreUse,
}

impl CpuUse {
    /// Share of the server's core used by other processes (user and system
    /// time on that core beyond the server's own).
    pub fn others_on_server_core(&self) -> f64 {
        (self.server_core.user + self.server_core.system - self.server).max(0.0)
    }

    /// Share of the load generator's core used by other processes.
    pub fn others_on_load_core(&self) -> f64 {
        (self.load_core.user + self.load_core.system - self.load).max(0.0)
    }

    /// Whether other processes took a noticeable share of either core.
    /// On the load core they matter when that core was nearly full, or when
    /// the server's was not: the server then waited for requests that the
    /// other processes held back.
    pub fn disturbed(&self) -> bool {
        let load_core_shared = self.others_on_load_core() > DISTURBED;
        self.others_on_server_core() > DISTURBED
            || (load_core_shared
                && (self.load_core.busy() > 0.90 || self.server_core.busy() < 0.90))
    }

    /// Whether the load generator's core, not the server's, was the limit.
    pub fn load_bound(&self) -> bool {
        self.load_core.busy() > 0.95 && self.server_core.busy() < 0.90
    }
}

/// Share of a core taken by other processes above which a figure is flagged.
const DISTURBED: f64 = 0.05;

impl CpuProbe {
    pub fn start(server_pid: u32, server_core: usize, load_core: usize) -> anyhow::Result<Self> {
        Ok(Self {
            started: Instant::now(),
            server_pid,
            server_cpu: process_cpu(server_pid)?,
            own_cpu: own_cpu(),
            server_core: (server_core, CoreTimes::read(server_core)?),
            load_core: (load_core, CoreTimes::read(load_core)?),
        })
    }

    pub fn finish(&self) -> anyhow::Result<CpuUse> {
        let wall = self.started.elapsed().as_secs_f64().max(1e-9);
        let core_use = |(core, before): (usize, CoreTimes)| -> anyhow::Result<CoreUse> {
            let t = CoreTimes::read(core)?.since(before);
            let total = (t.total() as f64).max(1.0);
            Ok(CoreUse {
                core,
                user: t.user as f64 / total,
                system: t.system as f64 / total,
                irq: t.irq as f64 / total,
                steal: t.steal as f64 / total,
            })
        };
        Ok(CpuUse {
            server: (process_cpu(self.server_pid)? - self.server_cpu).as_secs_f64() / wall,
            load: (own_cpu() - self.own_cpu).as_secs_f64() / wall,
            server_core: core_use(self.server_core)?,
            load_core: core_use(self.load_core)?,
        })
    }
}

impl std::fmt::Display for CoreUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "core {} busy {:.0}% (user {:.0}%, system {:.0}%, irq+softirq {:.0}%, steal {:.0}%)",
            self.core,
            self.busy() * 100.0,
            self.user * 100.0,
            self.system * 100.0,
            self.irq * 100.0,
            self.steal * 100.0
        )
    }
}

impl std::fmt::Display for CpuUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "server process {:.0}% of a core, load generator {:.0}%; {}; {}; other processes: {:.0}% of the server's core, {:.0}% of the load core",
            self.server * 100.0,
            self.load * 100.0,
            self.server_core,
            self.load_core,
            self.others_on_server_core() * 100.0,
            self.others_on_load_core() * 100.0,
        )
    }
}

/// Waits, at most `max_wait`, until both cores have been nearly idle for a
/// second: on a shared machine, other people's builds and tests come and go,
/// and a figure taken while they run measures them too. Returns how long it
/// waited and whether the machine was quiet in the end.
pub async fn wait_until_quiet(
    cores: &[usize],
    max_wait: Duration,
) -> anyhow::Result<(Duration, bool)> {
    const WINDOW: Duration = Duration::from_secs(1);
    /// Busy share of a core below which it counts as idle.
    const IDLE: f64 = 0.05;
    let started = Instant::now();
    loop {
        let before: Vec<CoreTimes> = cores
            .iter()
            .map(|&c| CoreTimes::read(c))
            .collect::<anyhow::Result<_>>()?;
        tokio::time::sleep(WINDOW).await;
        let mut quiet = true;
        for (&core, &b) in cores.iter().zip(&before) {
            let t = CoreTimes::read(core)?.since(b);
            let busy = (t.total() - t.idle) as f64 / (t.total() as f64).max(1.0);
            quiet &= busy < IDLE;
        }
        if quiet {
            return Ok((started.elapsed(), true));
        }
        if started.elapsed() >= max_wait {
            return Ok((started.elapsed(), false));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core(core: usize, busy: f64) -> CoreUse {
        CoreUse {
            core,
            user: busy,
            system: 0.0,
            irq: 0.0,
            steal: 0.0,
        }
    }

    #[test]
    fn others_on_the_load_core_disturb_a_server_left_waiting() {
        // A round seen on a shared machine: the server at half a core, the
        // load generator at a third of its core, other processes at half.
        let starved = CpuUse {
            server: 0.50,
            load: 0.36,
            server_core: core(0, 0.61),
            load_core: core(1, 0.84),
        };
        assert!(starved.disturbed());
        // The same share of the load core beside a saturated server is not.
        let saturated = CpuUse {
            server: 0.99,
            load: 0.36,
            server_core: core(0, 0.99),
            load_core: core(1, 0.84),
        };
        assert!(!saturated.disturbed());
    }
}
