//! The real `usher` binary as a child process, for tests that kill it or
//! configure it the way an operator would.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use usher_client::Client;

use usher_testkit::PATIENCE;

/// What `usher serve` prints on standard output once it accepts connections.
const READY_PREFIX: &str = "usher listening on ";
/// What it prints before that when the metrics listener is on.
const METRICS_PREFIX: &str = "metrics on ";

/// Settings every child gets: real Argon2id at a test-friendly cost, set
/// through nested `USHER_` variables as an operator would.
const FAST_HASHING: [(&str, &str); 2] = [
    ("USHER_PASSWORD_HASHING__MEMORY_KIB", "1024"),
    ("USHER_PASSWORD_HASHING__ITERATIONS", "1"),
];

pub struct ServerProcess {
    child: Child,
    base_url: String,
    metrics_url: Option<String>,
    log: PathBuf,
    // Held so the server's standard output stays open while it runs.
    _stdout: Lines<BufReader<ChildStdout>>,
}

impl ServerProcess {
    /// Runs `usher serve` on port 0 with its data in `data_dir`.
    pub async fn start(data_dir: &Path) -> Self {
        Self::start_with(data_dir, &[], &[]).await
    }

    /// Like [`ServerProcess::start`] with extra environment variables and
    /// arguments (given before the `serve` subcommand's own flags).
    pub async fn start_with(data_dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Self {
        Self::spawn(data_dir, serve_command(data_dir, env, args).await).await
    }

    /// Like [`ServerProcess::start`], started with a soft open-file limit
    /// of `soft` (the hard limit unchanged), as a shell's default would be,
    /// and logging JSON lines.
    pub async fn start_with_open_file_limit(data_dir: &Path, soft: u64) -> Self {
        let json = [("USHER_LOG_FORMAT", "json")];
        let mut command = serve_command(data_dir, &json, &[]).await;
        let (_, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).expect("the limits");
        // SAFETY: setrlimit is async-signal-safe, and the closure allocates nothing.
        unsafe {
            command.pre_exec(move || rlimit::setrlimit(rlimit::Resource::NOFILE, soft, hard));
        }
        Self::spawn(data_dir, command).await
    }

    async fn spawn(data_dir: &Path, mut command: Command) -> Self {
        let log = data_dir.join(format!("server-{}.log", unique()));
        let stderr = std::fs::File::create(&log).expect("server log file");
        command
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true);
        let mut child = command.spawn().expect("the usher binary starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let mut metrics_url = None;
        let listening = async {
            // Other lines (the store and bus in use) may come first.
            while let Some(line) = stdout.next_line().await.ok()? {
                if let Some(url) = line.strip_prefix(METRICS_PREFIX) {
                    metrics_url = Some(url.trim().to_owned());
                }
                if let Some(url) = line.strip_prefix(READY_PREFIX) {
                    return Some(url.trim().to_owned());
                }
            }
            None
        };
        let base_url = match tokio::time::timeout(PATIENCE, listening).await {
            Ok(Some(url)) => url,
            _ => panic!(
                "usher did not report that it listens; its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            ),
        };
        ServerProcess {
            child,
            base_url,
            metrics_url,
            log,
            _stdout: stdout,
        }
    }

    pub fn client(&self) -> Client {
        Client::new(&self.base_url).expect("the server prints a valid URL")
    }

    /// The public listener's base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("the server is running")
    }

    /// `http://…/metrics`, when the server was started with a metrics listener.
    pub fn metrics_url(&self) -> Option<&str> {
        self.metrics_url.as_deref()
    }

    /// What the server logged so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `kill -9`: no shutdown code runs, nothing is flushed.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("SIGKILL reaches the server");
    }
}

/// Runs `usher serve` as [`ServerProcess::start_with`] would, expecting it to
/// refuse to start: returns what it printed on standard error once it has
/// exited with a failure status.
pub async fn fails_to_start(data_dir: &Path, env: &[(&str, &str)]) -> String {
    let mut command = serve_command(data_dir, env, &[]).await;
    command.stdout(Stdio::null()).kill_on_drop(true);
    let output = tokio::time::timeout(PATIENCE, command.output())
        .await
        .expect("usher exits in time")
        .expect("the usher binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !output.status.success(),
        "usher started, or exited cleanly: {stderr}"
    );
    stderr
}

/// Runs an operator command (`usher account …`) on the database of the
/// server kept in `data_dir`; returns its standard output once it succeeded.
pub async fn operator(data_dir: &Path, args: &[&str]) -> String {
    operator_with(data_dir, &[], args).await
}

/// [`operator`] with extra environment variables.
pub async fn operator_with(data_dir: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let output = run_operator(data_dir, env, args).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "usher {args:?} failed: {stderr}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs an operator command expected to fail; returns its standard error.
pub async fn operator_fails(data_dir: &Path, args: &[&str]) -> String {
    let output = run_operator(data_dir, &[], args).await;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !output.status.success(),
        "usher {args:?} succeeded: {stderr}"
    );
    stderr
}

async fn run_operator(data_dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = usher_on(data_dir);
    command.args(args).arg("--data-dir").arg(data_dir);
    with_database(&mut command, data_dir).await;
    command.envs(env.iter().copied()).kill_on_drop(true);
    tokio::time::timeout(PATIENCE, command.output())
        .await
        .expect("the command ends in time")
        .expect("the usher binary runs")
}

/// How an operator command ended.
pub struct OperatorOutput {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs an operator command that reads `input` on its standard input (the
/// password of `usher account create`), on the database of the server kept
/// in `data_dir`, succeeding or not.
pub async fn operator_with_input(data_dir: &Path, args: &[&str], input: &str) -> OperatorOutput {
    use tokio::io::AsyncWriteExt;
    let mut command = usher_on(data_dir);
    command.args(args).arg("--data-dir").arg(data_dir);
    with_database(&mut command, data_dir).await;
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("the usher binary runs");
    let mut stdin = child.stdin.take().expect("a piped standard input");
    stdin
        .write_all(input.as_bytes())
        .await
        .expect("the input is written");
    drop(stdin);
    let output = tokio::time::timeout(PATIENCE, child.wait_with_output())
        .await
        .expect("the command ends in time")
        .expect("the command's output");
    OperatorOutput {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `usher serve` on port 0 with its data in `data_dir`, the test's settings,
/// and nothing from the developer's shell.
async fn serve_command(data_dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut command = usher_on(data_dir);
    command
        .args(args)
        .arg("serve")
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir);
    with_database(&mut command, data_dir).await;
    command.envs(env.iter().copied());
    command
}

/// The usher binary, run in `data_dir` with fast hashing, no input and
/// nothing from the developer's shell (no `USHER_` variable).
fn usher_on(data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_usher"));
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("USHER_")) {
        command.env_remove(name);
    }
    command
        .envs(FAST_HASHING)
        .current_dir(data_dir)
        .stdin(Stdio::null());
    command
}

/// Adds `--database-url` naming the database of the server kept in `data_dir`.
async fn with_database(command: &mut Command, data_dir: &Path) {
    let database_url = database_url_of(data_dir).await;
    command.arg("--database-url").arg(&database_url);
}

/// A number no other server of this test process has used.
fn unique() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The database of the server kept in `data_dir`: chosen on first start and
/// remembered there, so a restarted server finds the same one.
pub async fn database_url_of(data_dir: &Path) -> String {
    let file = data_dir.join("database-url");
    if let Ok(url) = std::fs::read_to_string(&file) {
        return url;
    }
    let url = usher_testkit::database_url(data_dir).await;
    std::fs::write(&file, &url).expect("remember the database URL");
    url
}
