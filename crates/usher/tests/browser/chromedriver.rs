//! The system's Chromium and chromedriver: found, started on a free loopback
//! port, and killed with everything they started when the test is done.

use std::fs::File;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::server::PATIENCE;

const CHROMIUM_ENV: &str = "USHER_TEST_CHROMIUM";
const CHROMEDRIVER_ENV: &str = "USHER_TEST_CHROMEDRIVER";

/// The Chromium binary: `USHER_TEST_CHROMIUM` or Debian's `/usr/bin/chromium`.
pub fn chromium() -> PathBuf {
    installed(CHROMIUM_ENV, "/usr/bin/chromium", "Chromium")
}

/// The chromedriver binary: `USHER_TEST_CHROMEDRIVER` or Debian's `/usr/bin/chromedriver`.
fn chromedriver() -> PathBuf {
    installed(CHROMEDRIVER_ENV, "/usr/bin/chromedriver", "chromedriver")
}

/// A browser test cannot be skipped: without the binary it fails, saying how
/// to get it.
fn installed(variable: &str, default: &str, what: &str) -> PathBuf {
    let path = std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    assert!(
        path.is_file(),
        "{} not found: the browser tests need Debian's `chromium` and `chromium-driver` \
         packages (run ./scripts/test.sh, which installs them, or \
         `apt-get install chromium chromium-driver`), or set {variable} to the path of a {what} binary",
        path.display()
    );
    path
}

/// A chromedriver process listening on `127.0.0.1:port`. It runs in a process
/// group of its own, so that dropping this kills the browsers it started too,
/// even when a test panics before closing its session.
pub struct Chromedriver {
    child: Child,
    url: String,
    log: PathBuf,
    _dir: TempDir,
}

impl Chromedriver {
    /// Starts chromedriver and waits until it says it is ready.
    pub async fn start() -> Self {
        let binary = chromedriver();
        // Another process may take the free port before chromedriver binds
        // it; a second port almost never has the same bad luck.
        let mut failures = Vec::new();
        for _ in 0..3 {
            match Self::try_start(&binary).await {
                Ok(driver) => return driver,
                Err(failure) => failures.push(failure),
            }
        }
        panic!(
            "chromedriver ({}) did not start:\n{}",
            binary.display(),
            failures.join("\n---\n")
        );
    }

    async fn try_start(binary: &Path) -> Result<Self, String> {
        let dir = tempfile::tempdir().expect("a directory for chromedriver's log");
        let log = dir.path().join("chromedriver.log");
        let port = free_port();
        let output = File::create(&log).expect("chromedriver's log file");
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(output.try_clone().expect("the log file, twice"))
            .stderr(output)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
        let mut driver = Chromedriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        };
        driver.wait_until_ready().await?;
        Ok(driver)
    }

    /// Polls `/status` until chromedriver answers `ready`.
    async fn wait_until_ready(&mut self) -> Result<(), String> {
        let http = reqwest::Client::new();
        let status = format!("{}/status", self.url);
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(exit) = self.child.try_wait().expect("chromedriver's status") {
                return Err(format!("chromedriver exited ({exit}):\n{}", self.log()));
            }
            if let Ok(answer) = http.get(&status).send().await {
                if let Ok(body) = answer.json::<serde_json::Value>().await {
                    if body["value"]["ready"] == true {
                        return Ok(());
                    }
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "chromedriver did not answer {status} within {PATIENCE:?}:\n{}",
                    self.log()
                ));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The WebDriver endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What chromedriver has printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The group's id is chromedriver's pid; Chromium and its helpers
        // inherit the group.
        let group = self.child.id() as libc::pid_t;
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// A loopback port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}
