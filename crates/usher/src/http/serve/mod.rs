//! The accept loop, and what it enforces that `axum::serve` does not: a
//! header-read timeout, a keep-alive idle timeout and a request timeout; a
//! cap on connections per client address and on all connections, each
//! refused with a clear answer; and an accept loop that waits, rather than
//! spins, when the process is out of file descriptors.

mod answers;
mod connection;
mod limits;
mod open_files;
mod refusal;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use crate::http::settings::HttpConfig;
pub use open_files::{open_file_limit, raise_open_file_limit, OpenFiles};

use connection::Held;
use limits::ConnectionLimits;
use refusal::{Refusal, Refusals};

use crate::geo::Geo;

/// How long accepting pauses after an error such as `EMFILE`: connections
/// have to close before another can be taken.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);
/// At most one warning this often while connections are being refused.
const REFUSAL_WARNING_EVERY: Duration = Duration::from_secs(60);

/// What every connection task reads.
struct Shared {
    router: Router,
    geo: Arc<Geo>,
    limits: ConnectionLimits,
    header_read_timeout: Duration,
    keep_alive_idle: Duration,
    request_timeout: Duration,
    shutdown: CancellationToken,
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then lets
/// open connections finish their answers and waits for them to close.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: &HttpConfig,
    geo: Arc<Geo>,
    shutdown: CancellationToken,
) {
    let open_files = open_file_limit();
    let max_connections = settings.max_connections(open_files);
    if let Some(limit) = open_files {
        if max_connections as u64 >= limit {
            tracing::warn!(
                max_connections,
                open_file_limit = limit,
                "http.max_connections is not below the open-file limit: the server may run out of file descriptors before it refuses connections"
            );
        }
    }
    tracing::info!(
        max_connections,
        max_connections_per_address = settings.max_connections_per_address,
        "connection limits"
    );
    let shared = Arc::new(Shared {
        router,
        geo,
        limits: ConnectionLimits::new(max_connections, settings.max_connections_per_address),
        header_read_timeout: settings.header_read_timeout(),
        keep_alive_idle: settings.keep_alive_idle(),
        request_timeout: settings.request_timeout(),
        shutdown: shutdown.clone(),
    });
    let refusals = Refusals::new().await;
    let connections = TaskTracker::new();
    let mut last_refusal_warning: Option<Instant> = None;
    let mut accepting = true;
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => {
                if !accepting {
                    accepting = true;
                    tracing::info!("accepting connections again");
                }
                accepted
            }
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                if accepting {
                    accepting = false;
                    tracing::error!(error = %e, "cannot accept connections (out of file descriptors?); retrying");
                }
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(ACCEPT_PAUSE) => continue,
                }
            }
        };
        match admit(&shared, &stream, peer) {
            Ok((held, via_proxy)) => {
                connections.spawn(connection::serve(
                    stream,
                    peer,
                    held,
                    via_proxy,
                    Arc::clone(&shared),
                ));
            }
            Err(refusal) => {
                let now = Instant::now();
                if last_refusal_warning.is_none_or(|at| now - at >= REFUSAL_WARNING_EVERY) {
                    last_refusal_warning = Some(now);
                    tracing::warn!(%peer, ?refusal, "refusing connections over a cap");
                }
                refusals.refuse(stream, refusal);
            }
        }
    }
    // New clients are now refused by the system instead of waiting in the backlog.
    drop(listener);
    connections.close();
    // A client that never reads its answer must not hold shutdown forever.
    if tokio::time::timeout(SHUTDOWN_GRACE, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open {SHUTDOWN_GRACE:?} after shutdown began; leaving them");
    }
}

/// How long shutdown waits for open connections to finish their answers.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The slots a new connection from `peer` takes, and whether `peer` is a
/// trusted proxy (whose requests are counted for their clients instead).
fn admit(shared: &Shared, stream: &TcpStream, peer: SocketAddr) -> Result<(Held, bool), Refusal> {
    let permit = shared.limits.admit().ok_or(Refusal::ServerFull)?;
    // No Nagle delay: a small live-channel frame (`signed_out`) written
    // right after another one must not wait for the device's ACK.
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "could not set TCP_NODELAY");
    }
    let via_proxy = shared.geo.trusts(peer.ip());
    let address = if via_proxy {
        None
    } else {
        Some(
            shared
                .limits
                .claim(peer.ip())
                .ok_or(Refusal::TooManyFromAddress)?,
        )
    };
    Ok((Held::new(permit, address), via_proxy))
}

/// Errors of one connection that went away before it was accepted; the
/// listener itself is fine.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
