//! The servers under test, each started pinned to one core with `taskset`:
//! the usher release binary, and Debian's nginx serving a static JSON answer
//! (the floor that session-check throughput is compared with).

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long a server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a server may take to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// How often a server started with metrics on is scraped: fifteen times as
/// often as Prometheus's default, so the cost shown is an upper bound.
pub const SCRAPE_EVERY: Duration = Duration::from_secs(1);
/// What `usher serve` prints when its metrics listener is on.
const METRICS_PREFIX: &str = "metrics on http://";
/// Every simulated client connects from 127.0.0.1: the per-address
/// connection cap, meant for one household or office, must not throttle them.
const ONE_ADDRESS_FOR_ALL: (&str, &str) = ("USHER_HTTP__MAX_CONNECTIONS_PER_ADDRESS", "100000000");
/// The fleets are thousands of devices of one seeded account: the live
/// connection cap per account, meant for one household, must not replace them.
const ONE_ACCOUNT_FOR_ALL: (&str, &str) = ("USHER_LIVE__MAX_PER_ACCOUNT", "100000");

/// Where and how servers are started.
#[derive(Clone)]
pub struct Launch {
    pub usher_bin: PathBuf,
    pub nginx_bin: PathBuf,
    pub core: usize,
    /// Extra `USHER_*` settings for every usher started (experiments).
    pub usher_env: Vec<(String, String)>,
    /// Start every usher with its metrics listener on (on port 0), scraped
    /// every [`SCRAPE_EVERY`] by this process while it runs.
    pub metrics: bool,
}

/// A running `usher serve` on a fresh port.
pub struct Usher {
    child: Child,
    pub addr: SocketAddr,
    pub pid: u32,
    pub log: PathBuf,
    /// The metrics listener, when the server was started with metrics on.
    pub metrics: Option<SocketAddr>,
    /// Scrapes the metrics listener until the server is dropped.
    scraper: Option<Scraper>,
}

/// Scrapes a metrics listener every [`SCRAPE_EVERY`] while it is on; the
/// task ends when this is dropped.
struct Scraper {
    on: tokio::sync::watch::Sender<bool>,
    _task: AbortOnDrop,
}

impl Scraper {
    fn start(at: SocketAddr) -> Self {
        let (on, scraping) = tokio::sync::watch::channel(true);
        Self {
            on,
            _task: AbortOnDrop(tokio::spawn(scrape_every(at, SCRAPE_EVERY, scraping))),
        }
    }
}

/// A task that ends when this is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Usher {
    /// Starts `usher serve --listen 127.0.0.1:0 --data-dir <data_dir>` pinned
    /// to `launch.core`, with extra environment (configuration overrides).
    /// Its log goes to `<data_dir>/usher.log`.
    pub async fn start(
        launch: &Launch,
        data_dir: &Path,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let args = [OsStr::new("--data-dir"), data_dir.as_os_str()];
        Self::start_with(launch, &args, &data_dir.join("usher.log"), env).await
    }

    /// Starts a cluster node: `usher serve --listen 127.0.0.1:0
    /// --database-url <database_url> --nats-url <nats_url>`, pinned like
    /// [`Usher::start`], its log in `log`.
    pub async fn start_node(
        launch: &Launch,
        database_url: &str,
        nats_url: &str,
        log: &Path,
    ) -> anyhow::Result<Self> {
        let args = ["--database-url", database_url, "--nats-url", nats_url].map(OsStr::new);
        Self::start_with(launch, &args, log, &[]).await
    }

    /// Starts `usher serve --listen 127.0.0.1:0 <args>` pinned to
    /// `launch.core`, its standard error in `log`.
    async fn start_with(
        launch: &Launch,
        args: &[&OsStr],
        log: &Path,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        if !launch.usher_bin.exists() {
            bail!(
                "{} does not exist: run `cargo build --release -p usher` first",
                launch.usher_bin.display()
            );
        }
        let log = log.to_path_buf();
        let stderr = std::fs::File::create(&log).context("creating the server log")?;
        let mut command = Command::new("taskset");
        command
            .arg("-c")
            .arg(launch.core.to_string())
            .arg(&launch.usher_bin)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .envs([ONE_ADDRESS_FOR_ALL, ONE_ACCOUNT_FOR_ALL])
            // The seeded tokens live longer than any run; the server refuses
            // a token whose lifetime exceeds its own access-token lifetime.
            .env(
                "USHER_TOKENS__ACCESS_TTL_SECS",
                crate::seed::TOKEN_TTL_SECS.to_string(),
            )
            .envs(
                launch
                    .usher_env
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .envs(env.iter().copied())
            .envs(
                launch
                    .metrics
                    .then_some(("USHER_METRICS_LISTEN", "127.0.0.1:0")),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true);
        let mut child = command.spawn().context("starting taskset/usher")?;
        let pid = child.id().context("usher exited at once")?;
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut metrics = None;
        let addr = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = line.strip_prefix(METRICS_PREFIX) {
                    let addr = url.trim().trim_end_matches("/metrics");
                    metrics = Some(
                        addr.parse::<SocketAddr>()
                            .context("parsing the metrics address")?,
                    );
                }
                if let Some(url) = line.strip_prefix("usher listening on http://") {
                    return url
                        .trim()
                        .parse::<SocketAddr>()
                        .context("parsing the listen address");
                }
            }
            bail!("usher exited before listening; see {}", log.display())
        })
        .await
        .context("usher did not start listening in time")??;
        if launch.metrics && metrics.is_none() {
            bail!("usher was started with metrics on but names no metrics listener");
        }
        // Keep draining stdout so the server can never block on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self {
            child,
            addr,
            pid,
            log,
            metrics,
            scraper: metrics.map(Scraper::start),
        })
    }

    /// Pauses or resumes the scraping of its metrics listener (no-op with
    /// metrics off): a comparison on one core pauses it while the other
    /// server is measured, whose figures it would otherwise disturb.
    pub fn set_scraping(&self, on: bool) {
        if let Some(scraper) = &self.scraper {
            scraper.on.send_replace(on);
        }
    }

    /// One scrape of the metrics listener (its text), when metrics are on.
    pub async fn scrape(&self) -> anyhow::Result<Option<String>> {
        let Some(at) = self.metrics else {
            return Ok(None);
        };
        let (status, body) =
            crate::load::once(at, &crate::http1::get(at, "/metrics", None)).await?;
        if status != 200 {
            bail!("/metrics answered {status}");
        }
        Ok(Some(
            String::from_utf8(body).context("the metrics are not UTF-8")?,
        ))
    }

    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        crate::system::rss_kib(self.pid)
    }

    /// Stops the server with SIGTERM (graceful shutdown), killing it if it
    /// does not exit in time.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        stop(&mut self.child, self.pid, libc::SIGTERM).await
    }
}

/// Scrapes `/metrics` at `at` every `period` while `on`, as Prometheus
/// would; a failed scrape is ignored (the figures are the server's, not the
/// scraper's).
async fn scrape_every(
    at: SocketAddr,
    period: Duration,
    mut on: tokio::sync::watch::Receiver<bool>,
) {
    let request = crate::http1::get(at, "/metrics", None);
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if !*on.borrow_and_update() {
            if on.wait_for(|&on| on).await.is_err() {
                return;
            }
            // Resumed: the next scrape a period from now.
            tick.reset();
            continue;
        }
        let _ = crate::load::once(at, &request).await;
    }
}

/// A running nginx (one worker) that answers every request with a fixed JSON body.
pub struct Nginx {
    child: Child,
    pub addr: SocketAddr,
    master: u32,
    /// The worker process: the one that serves, and whose CPU is measured.
    pub worker: u32,
    _dir: tempfile::TempDir,
}

impl Nginx {
    pub async fn start(launch: &Launch, body: &str) -> anyhow::Result<Self> {
        if body.contains(['\'', '\\', '$']) {
            bail!("the static body must not contain quotes, backslashes or `$`");
        }
        let dir = tempfile::Builder::new()
            .prefix("usher-bench-nginx-")
            .tempdir()?;
        let port = free_port()?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, nginx_config(dir.path(), addr, body))?;
        let mut child = Command::new("taskset")
            .arg("-c")
            .arg(launch.core.to_string())
            .arg(&launch.nginx_bin)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", launch.nginx_bin.display()))?;
        let master = child.id().context("nginx exited at once")?;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                break;
            }
            if let Some(status) = child.try_wait()? {
                let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
                bail!("nginx exited ({status}): {log}");
            }
            if Instant::now() > deadline {
                bail!("nginx did not start listening on {addr}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The master listens before it forks the worker; wait for the worker.
        let worker = loop {
            if let Some(&worker) = children_of(master).first() {
                break worker;
            }
            if Instant::now() > deadline {
                bail!("nginx started no worker process");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        Ok(Self {
            child,
            addr,
            master,
            worker,
            _dir: dir,
        })
    }

    /// Stops nginx (SIGQUIT: graceful), killing it if it does not exit in time.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        stop(&mut self.child, self.master, libc::SIGQUIT).await
    }
}

fn nginx_config(dir: &Path, addr: SocketAddr, body: &str) -> String {
    let dir = dir.display();
    // Run as root, the master would switch workers to `nobody`, whose group
    // is `nogroup` on Debian; say so, or nginx looks for a group `nobody`.
    // SAFETY: geteuid has no preconditions.
    let user = if unsafe { libc::geteuid() } == 0 {
        "user nobody nogroup;"
    } else {
        ""
    };
    format!(
        "{user}
daemon off;
master_process on;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    # Same keep-alive behaviour as usher: never close a busy connection.
    keepalive_requests 100000000;
    keepalive_timeout 75s;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    server {{
        listen {addr};
        location / {{
            default_type application/json;
            return 200 '{body}';
        }}
    }}
}}
"
    )
}

/// A port that was free a moment ago (bound to port 0, then released).
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Child processes of `pid`, found through `/proc/*/stat`.
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    let rest = s.rsplit_once(')')?.1.to_owned();
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(pid)
        })
        .collect()
}

async fn stop(child: &mut Child, pid: u32, signal: libc::c_int) -> anyhow::Result<()> {
    // SAFETY: kill has no memory-safety preconditions; `pid` is our child,
    // not yet reaped (we hold its `Child`), so the pid cannot have been reused.
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
    match tokio::time::timeout(STOP_TIMEOUT, child.wait()).await {
        Ok(status) => {
            status?;
            Ok(())
        }
        Err(_) => {
            child.kill().await?;
            bail!("process {pid} did not stop within {STOP_TIMEOUT:?}; killed")
        }
    }
}
