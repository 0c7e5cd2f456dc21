//! Debian's nginx in front of a cluster's nodes, configured with the file the
//! README recommends (`deploy/nginx/usher.conf`, compiled in) with only the
//! nodes' addresses and the listen line replaced: the cluster suite tests
//! exactly what operators are told to run.
//!
//! nginx runs in the foreground in a temporary directory of its own (its
//! configuration, pid file and temporary files), listening on 127.0.0.1 on
//! a free port; its error and access logs go to the test's output, and the
//! access log is also read, so a test can see which nodes nginx asked.
//! It is stopped when dropped.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{mpsc, oneshot};
use usher::Config;
use usher_client::Client;

use crate::PATIENCE;

/// The recommended configuration, as the repository ships it.
pub const RECOMMENDED: &str = include_str!("../../../deploy/nginx/usher.conf");

/// The binary the test command provides (Debian's `nginx` package).
const DEFAULT_BINARY: &str = "/usr/sbin/nginx";
/// What nginx's master process logs (at `notice`) once its listening socket
/// is open and it starts the worker that accepts.
const NGINX_READY: &str = "start worker process";
/// What nginx logs when the port it was given was taken meanwhile.
const PORT_TAKEN: &str = "Address already in use";
/// How the test's access-log lines start, to tell them from the error log.
const ACCESS: &str = "access|";

/// The address nginx connects to the nodes from, as they see it: what
/// `locations.trusted_proxies` lists behind it.
pub const NGINX_SOURCE: &str = "127.0.0.1/32";

/// Configures a node behind [`Nginx`], as the README says: it believes the
/// forwarding header of the proxy on 127.0.0.1, and no other.
pub fn behind_nginx(config: &mut Config) {
    config.locations.trusted_proxies = vec![NGINX_SOURCE.to_owned()];
}

/// A running nginx in front of some nodes; stopped on drop.
pub struct Nginx {
    port: u16,
    child: Child,
    access: mpsc::UnboundedReceiver<Proxied>,
    _dir: TempDir,
}

/// One request as nginx's access log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxied {
    pub method: String,
    pub path: String,
    /// The status nginx answered with.
    pub status: u16,
    /// Each node nginx asked, in order, with what it got there (`502` for
    /// a connection that failed, as nginx writes it).
    pub attempts: Vec<(String, String)>,
}

impl Nginx {
    /// Starts nginx in front of `nodes`, waits until it listens, and
    /// returns it. A missing nginx fails the test.
    pub async fn start(nodes: &[SocketAddr]) -> Self {
        let binary = std::env::var("USHER_TEST_NGINX").unwrap_or_else(|_| DEFAULT_BINARY.into());
        // A port found free may be taken before nginx binds it; then ask again.
        for _ in 0..3 {
            if let Some(nginx) = Self::try_start(&binary, nodes).await {
                return nginx;
            }
        }
        panic!("nginx found no free port in three attempts");
    }

    async fn try_start(binary: &str, nodes: &[SocketAddr]) -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = tempfile::tempdir().expect("a directory for nginx");
        let conf = dir.path().join("nginx.conf");
        std::fs::write(
            dir.path().join("usher.conf"),
            for_test(RECOMMENDED, nodes, port),
        )
        .expect("usher.conf written");
        std::fs::write(&conf, main_config(dir.path())).expect("nginx.conf written");
        let global = format!(
            "daemon off; pid {}; error_log stderr notice;",
            dir.path().join("nginx.pid").display()
        );
        let mut child = Command::new(binary)
            .arg("-e")
            .arg("stderr")
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .arg("-g")
            .arg(global)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run {binary}: {e} (./scripts/test.sh installs Debian's nginx)")
            });
        let stderr = tokio::process::ChildStderr::from_std(child.stderr.take().expect("piped"))
            .expect("nginx's stderr on the runtime");
        let (ready, started) = oneshot::channel();
        let (proxied, access) = mpsc::unbounded_channel();
        tokio::spawn(read_log(stderr, ready, proxied));
        match tokio::time::timeout(PATIENCE, started).await {
            Ok(Ok(Ok(()))) => Some(Nginx {
                port,
                child,
                access,
                _dir: dir,
            }),
            Ok(Ok(Err(said))) if said.contains(PORT_TAKEN) => {
                let _ = child.wait();
                None
            }
            Ok(Ok(Err(said))) => {
                let _ = child.wait();
                panic!("nginx exited before it listened:\n{said}")
            }
            Ok(Err(_)) => {
                terminate(&mut child);
                panic!("nginx's log reader stopped before nginx was ready")
            }
            Err(_) => {
                terminate(&mut child);
                panic!("nginx did not start listening within {PATIENCE:?}")
            }
        }
    }

    /// `http://127.0.0.1:PORT`, where nginx listens.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A client of nginx whose connections leave from `address` (any of
    /// 127.0.0.0/8): a device at an address of its own.
    pub fn client_from(&self, address: IpAddr) -> Client {
        Client::from_local_address(&self.url(), address).expect("a valid URL")
    }

    /// Awaits the first request, from here on in the access log, that
    /// `matches`; the others before it are passed over. Lines are written
    /// once a request is done (a live channel's when it closes).
    pub async fn await_proxied(
        &mut self,
        what: &str,
        matches: impl Fn(&Proxied) -> bool,
    ) -> Proxied {
        let awaiting = async {
            loop {
                let proxied = self.access.recv().await.expect("nginx runs");
                if matches(&proxied) {
                    return proxied;
                }
            }
        };
        tokio::time::timeout(PATIENCE, awaiting)
            .await
            .unwrap_or_else(|_| panic!("nginx logged no request that {what} within {PATIENCE:?}"))
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        terminate(&mut self.child);
    }
}

/// Stops nginx and reaps it. SIGTERM: the master stops its workers, which
/// drop every connection at once, then exits (SIGKILL would leave the
/// workers running).
fn terminate(child: &mut std::process::Child) {
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    // SAFETY: `pid` is our own child, not yet reaped, so it is nginx.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let _ = child.wait();
}

/// Forwards nginx's log to the test's output; reports readiness (or
/// everything said before an early exit) on `ready`, and each access-log
/// line on `proxied`.
async fn read_log(
    stderr: tokio::process::ChildStderr,
    ready: oneshot::Sender<Result<(), String>>,
    proxied: mpsc::UnboundedSender<Proxied>,
) {
    let mut lines = BufReader::new(stderr).lines();
    let mut said = String::new();
    let mut ready = Some(ready);
    while let Ok(Some(line)) = lines.next_line().await {
        eprintln!("nginx: {line}");
        if let Some(access) = line.strip_prefix(ACCESS) {
            let _ = proxied.send(parse_access(access));
        } else if line.contains(NGINX_READY) {
            if let Some(ready) = ready.take() {
                let _ = ready.send(Ok(()));
            }
        } else if ready.is_some() {
            said.push_str(&line);
            said.push('\n');
        }
    }
    if let Some(ready) = ready {
        let _ = ready.send(Err(said));
    }
}

/// The main configuration around the recommended file: workers run as the
/// test's own user (as root, nginx would switch them to `nobody`, who may
/// not enter the temporary directory), temporary files go in `dir`, and the
/// access log takes a form the test reads.
fn main_config(dir: &Path) -> String {
    // SAFETY: geteuid has no preconditions.
    let user = if unsafe { libc::geteuid() } == 0 {
        "user root;\n"
    } else {
        ""
    };
    let dir = dir.display();
    format!(
        "{user}events {{}}\n\
         http {{\n\
         \x20   log_format usher_test '{ACCESS}$request_method|$uri|$status|$upstream_addr|$upstream_status';\n\
         \x20   access_log /dev/stderr usher_test;\n\
         \x20   client_body_temp_path {dir}/client_body;\n\
         \x20   proxy_temp_path {dir}/proxy;\n\
         \x20   fastcgi_temp_path {dir}/fastcgi;\n\
         \x20   uwsgi_temp_path {dir}/uwsgi;\n\
         \x20   scgi_temp_path {dir}/scgi;\n\
         \x20   include {dir}/usher.conf;\n\
         }}\n"
    )
}

/// `recommended` with its upstream servers replaced by one line per node
/// (each with the parameters the file gives its servers) and its `listen`
/// line by 127.0.0.1:`port`. Anything else it says is kept as it is.
pub fn for_test(recommended: &str, nodes: &[SocketAddr], port: u16) -> String {
    let mut out = String::new();
    let (mut in_upstream, mut servers_written, mut listens) = (false, false, 0);
    let mut parameters: Option<String> = None;
    for line in recommended.lines() {
        let code = line.split('#').next().unwrap_or_default().trim();
        if code.starts_with("upstream ") {
            in_upstream = true;
        } else if in_upstream && code == "}" {
            in_upstream = false;
        }
        if in_upstream && code.starts_with("server ") {
            let (_, rest) = code.split_once(' ').expect("a server line has an address");
            let rest = rest.trim_start();
            let these = rest.split_once(' ').map_or(";", |(_, p)| p).to_owned();
            match &parameters {
                Some(first) => {
                    assert_eq!(first, &these, "every server line has the same parameters")
                }
                None => parameters = Some(these.clone()),
            }
            if !servers_written {
                for node in nodes {
                    let sep = if these.starts_with(';') { "" } else { " " };
                    out.push_str(&format!("    server {node}{sep}{these}\n"));
                }
                servers_written = true;
            }
            continue;
        }
        if code.starts_with("listen ") {
            listens += 1;
            out.push_str(&format!("    listen 127.0.0.1:{port};\n"));
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    assert!(
        servers_written,
        "the configuration lists no upstream servers"
    );
    assert_eq!(listens, 1, "the configuration has one listen line");
    out
}

/// `method|path|status|addr, addr|status, status`, as `main_config` logs.
fn parse_access(line: &str) -> Proxied {
    let fields: Vec<&str> = line.split('|').collect();
    let [method, path, status, addresses, statuses] = fields[..] else {
        panic!("an access-log line of five fields: {line}");
    };
    // nginx separates the attempts with ", ".
    let attempts = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty() && *a != "-")
            .map(str::to_owned)
            .collect()
    };
    Proxied {
        method: method.to_owned(),
        path: path.to_owned(),
        status: status
            .parse()
            .unwrap_or_else(|_| panic!("a status: {line}")),
        attempts: attempts(addresses)
            .into_iter()
            .zip(attempts(statuses))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes() -> Vec<SocketAddr> {
        vec![
            "127.0.0.1:4001".parse().unwrap(),
            "127.0.0.1:4002".parse().unwrap(),
        ]
    }

    #[test]
    fn the_recommended_file_gets_the_nodes_and_the_port_and_keeps_the_rest() {
        let conf = for_test(RECOMMENDED, &nodes(), 18080);
        assert!(
            conf.contains("    server 127.0.0.1:4001 max_fails=0;\n"),
            "{conf}"
        );
        assert!(
            conf.contains("    server 127.0.0.1:4002 max_fails=0;\n"),
            "{conf}"
        );
        assert!(!conf.contains("10.0.0.1"), "{conf}");
        assert!(conf.contains("    listen 127.0.0.1:18080;\n"), "{conf}");
        assert!(!conf.contains("listen 80;"), "{conf}");
        for kept in [
            "map $http_upgrade $usher_connection",
            "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
            "proxy_next_upstream error timeout http_503;",
            "proxy_read_timeout 90s;",
        ] {
            assert!(conf.contains(kept), "{kept} is kept: {conf}");
        }
    }

    #[test]
    fn server_lines_without_parameters_and_comments_survive() {
        let file = "upstream u {\n    server 10.0.0.1:80;  # one\n    server 10.0.0.2:80;\n}\nserver {\n    listen 80;\n}\n";
        let conf = for_test(file, &nodes(), 9);
        assert_eq!(
            conf,
            "upstream u {\n    server 127.0.0.1:4001;\n    server 127.0.0.1:4002;\n}\nserver {\n    listen 127.0.0.1:9;\n}\n"
        );
    }

    #[test]
    fn access_lines_name_each_node_asked() {
        let proxied =
            parse_access("GET|/v1/sessions/current|200|127.0.0.1:4001, 127.0.0.1:4002|503, 200");
        assert_eq!(proxied.status, 200);
        assert_eq!(
            proxied.attempts,
            vec![
                ("127.0.0.1:4001".to_owned(), "503".to_owned()),
                ("127.0.0.1:4002".to_owned(), "200".to_owned())
            ]
        );
        assert!(parse_access("GET|/x|404|-|-").attempts.is_empty());
    }
}
