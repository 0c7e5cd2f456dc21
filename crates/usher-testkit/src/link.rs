//! A network link a test can cut the way a bad network does: a forwarding
//! proxy that, black-holed, stops passing bytes without closing anything —
//! no FIN, no RST, connections stay open and writes pile up, as when packets
//! are dropped. Healed, it passes the held bytes on, in order, and keeps
//! forwarding on the same connections.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// One forwarding proxy on 127.0.0.1 in front of `target`.
pub struct LinkProxy {
    address: SocketAddr,
    flowing: watch::Sender<bool>,
    accepting: JoinHandle<()>,
}

impl LinkProxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the link proxy listens");
        let address = listener.local_addr().expect("bound");
        let (flowing, _) = watch::channel(true);
        let gate = flowing.clone();
        let accepting = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(forward(client, target, gate.subscribe()));
            }
        });
        Self {
            address,
            flowing,
            accepting,
        }
    }

    /// Where to connect instead of the target.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `url` with its host and port replaced by this proxy's.
    pub fn url_through(&self, url: &str) -> String {
        let mut url = url::Url::parse(url).expect("a valid URL");
        url.set_host(Some(&self.address.ip().to_string()))
            .expect("a host");
        url.set_port(Some(self.address.port())).expect("a port");
        url.to_string()
    }

    /// Stops passing bytes, without closing any connection.
    pub fn black_hole(&self) {
        self.flowing.send_replace(false);
    }

    /// Passes bytes again, held ones first.
    pub fn heal(&self) {
        self.flowing.send_replace(true);
    }
}

impl Drop for LinkProxy {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

/// Where `url` (`scheme://[user@]host:port/…`) points.
pub fn target_of(url: &str) -> SocketAddr {
    let url = url::Url::parse(url).expect("a valid URL");
    let host = url.host_str().expect("a host");
    let port = url.port_or_known_default().expect("a port");
    format!("{host}:{port}")
        .parse()
        .expect("an IP address and port")
}

async fn forward(client: TcpStream, target: SocketAddr, gate: watch::Receiver<bool>) {
    let mut gate_up = gate.clone();
    // A connection made while black-holed goes nowhere until healed.
    if gate_up.wait_for(|&on| on).await.is_err() {
        return;
    }
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::join!(
        pass(client_read, server_write, gate.clone()),
        pass(server_read, client_write, gate),
    );
}

/// Copies one direction, holding bytes while the gate is shut.
async fn pass(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut gate: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if gate.wait_for(|&on| on).await.is_err() {
            return;
        }
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        // Read just as the link went dark: hold it until it heals.
        if gate.wait_for(|&on| on).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
