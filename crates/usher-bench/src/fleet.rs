//! A fleet of devices holding live connections (`GET /v1/live`), one task
//! each, all on the bench's pinned thread. Each task answers pings (the
//! WebSocket library does that while the socket is read) and notes the
//! moment its device is told `signed_out`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures_util::{StreamExt, TryStreamExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use usher::domain::SessionId;

use crate::seed::SeededSession;

/// How long the server may take to answer the upgrade and say hello.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

type Socket = WebSocketStream<TcpStream>;

/// One connected device.
pub struct Device {
    pub session_id: SessionId,
    /// Which of the servers given to [`Fleet::connect`] holds its socket.
    pub node: usize,
    signed_out: Option<oneshot::Receiver<Instant>>,
}

impl Device {
    /// When this device's socket received `signed_out`; waits at most `timeout`.
    pub async fn signed_out(&mut self, timeout: Duration) -> anyhow::Result<Instant> {
        let rx = self.signed_out.take().context("already signed out")?;
        tokio::time::timeout(timeout, rx)
            .await
            .context("no signed_out in time")?
            .context("the live connection ended without signed_out")
    }
}

pub struct Fleet {
    pub devices: Vec<Device>,
    /// Wall time to connect them all.
    pub took: Duration,
    /// Dropping the fleet ends every device task.
    _tasks: JoinSet<()>,
}

impl Fleet {
    /// Connects one device per session, `concurrency` handshakes at a time,
    /// and waits for each device's `hello`. Device `i` connects to
    /// `servers[i % servers.len()]` (one server, or the nodes of a cluster).
    pub async fn connect(
        servers: &[SocketAddr],
        sessions: &[SeededSession],
        concurrency: usize,
    ) -> anyhow::Result<Self> {
        if servers.is_empty() {
            bail!("no server to connect the fleet to");
        }
        let started = Instant::now();
        let sockets: Vec<(SessionId, usize, Socket)> = futures_util::stream::iter(sessions)
            .enumerate()
            .map(|(i, s)| async move {
                let node = i % servers.len();
                let socket =
                    tokio::time::timeout(CONNECT_TIMEOUT, connect(servers[node], &s.access_token))
                        .await
                        .context("live connection timed out")??;
                anyhow::Ok((s.id, node, socket))
            })
            .buffer_unordered(concurrency.max(1))
            .try_collect()
            .await?;
        let took = started.elapsed();
        let mut tasks = JoinSet::new();
        let devices = sockets
            .into_iter()
            .map(|(session_id, node, socket)| {
                let (tx, rx) = oneshot::channel();
                tasks.spawn(hold(socket, tx));
                Device {
                    session_id,
                    node,
                    signed_out: Some(rx),
                }
            })
            .collect();
        Ok(Self {
            devices,
            took,
            _tasks: tasks,
        })
    }
}

/// Opens a live connection as a device would and reads its `hello`.
async fn connect(addr: SocketAddr, token: &str) -> anyhow::Result<Socket> {
    let mut request = format!("ws://{addr}/v1/live").into_client_request()?;
    let headers = request.headers_mut();
    headers.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}"))?,
    );
    headers.insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("usher.v1"),
    );
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    // A device receives a few small events in its lifetime: small buffers
    // keep 10,000 of them cheap on the bench's side too.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (mut socket, _) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(config))
            .await
            .context("live connection refused")?;
    match socket.next().await {
        Some(Ok(Message::Text(text))) if event_type(&text).as_deref() == Some("hello") => {
            Ok(socket)
        }
        other => bail!("expected hello, got {other:?}"),
    }
}

fn event_type(text: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    Some(value.get("type")?.as_str()?.to_owned())
}

/// Reads the socket until it ends, reporting when `signed_out` arrives.
async fn hold(mut socket: Socket, signed_out: oneshot::Sender<Instant>) {
    let mut signed_out = Some(signed_out);
    while let Some(message) = socket.next().await {
        match message {
            Ok(Message::Text(text)) => {
                let at = Instant::now();
                if event_type(&text).as_deref() == Some("signed_out") {
                    if let Some(tx) = signed_out.take() {
                        let _ = tx.send(at);
                    }
                }
            }
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
}
