//! The system's Chromium and chromedriver: found, started on a loopback port
//! of chromedriver's choosing, and killed with everything they started when
//! the test is done.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

use crate::PATIENCE;

const CHROMIUM_ENV: &str = "USHER_TEST_CHROMIUM";
const CHROMEDRIVER_ENV: &str = "USHER_TEST_CHROMEDRIVER";

/// What chromedriver prints once it accepts sessions, before its port.
const READY_PREFIX: &str = "ChromeDriver was started successfully on port ";

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

/// A chromedriver process listening on `127.0.0.1`. It runs in a process
/// group of its own, so that dropping this kills the browsers it started too,
/// even when a test panics before closing its session.
pub struct Chromedriver {
    child: Child,
    url: String,
    log: PathBuf,
    _dir: TempDir,
}

impl Chromedriver {
    /// Starts chromedriver on a port it picks itself and waits until it says
    /// it is ready.
    pub async fn start() -> Self {
        let binary = chromedriver();
        Self::try_start(&binary).await.unwrap_or_else(|failure| {
            panic!(
                "chromedriver ({}) did not start:\n{failure}",
                binary.display()
            )
        })
    }

    async fn try_start(binary: &Path) -> Result<Self, String> {
        let dir = tempfile::tempdir().expect("a directory for chromedriver's log");
        let log = dir.path().join("chromedriver.log");
        let mut child = Command::new(binary)
            .arg("--port=0")
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
        let (ready, port) = oneshot::channel();
        copy_to_log(child.stdout.take().expect("piped"), &log, Some(ready)).await;
        copy_to_log(child.stderr.take().expect("piped"), &log, None).await;
        let port = match tokio::time::timeout(PATIENCE, port).await {
            Ok(Ok(port)) => port,
            Ok(Err(_)) => return Err(format!("chromedriver exited:\n{}", read_log(&log))),
            Err(_) => {
                return Err(format!(
                    "chromedriver did not say it was ready within {PATIENCE:?}:\n{}",
                    read_log(&log)
                ))
            }
        };
        Ok(Chromedriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        })
    }

    /// The WebDriver endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What chromedriver has printed so far.
    pub fn log(&self) -> String {
        read_log(&self.log)
    }
}

/// Appends every line of `output` to `log`; the port of the ready line goes
/// to `ready`.
async fn copy_to_log(
    output: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    log: &Path,
    mut ready: Option<oneshot::Sender<u16>>,
) {
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .await
        .expect("chromedriver's log file");
    tokio::spawn(async move {
        let mut lines = BufReader::new(output).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let _ = file.write_all(format!("{line}\n").as_bytes()).await;
            let port = line
                .strip_prefix(READY_PREFIX)
                .and_then(|rest| rest.trim_end_matches('.').parse().ok());
            if let (Some(port), Some(_)) = (port, &ready) {
                let _ = ready.take().expect("not sent yet").send(port);
            }
        }
    });
}

fn read_log(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The group's id is chromedriver's pid; Chromium and its helpers
        // inherit the group.
        if let Some(group) = self.child.id() {
            unsafe {
                libc::kill(-(group as libc::pid_t), libc::SIGKILL);
            }
        }
        let _ = self.child.start_kill();
    }
}
