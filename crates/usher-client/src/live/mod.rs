//! The live channel: a WebSocket from a device to `GET /v1/live`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::header::{HeaderValue, AUTHORIZATION, SEC_WEBSOCKET_PROTOCOL};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub use usher_api::{
    LiveEvent, BEARER_SUBPROTOCOL_PREFIX, CLOSE_GOING_AWAY, CLOSE_REPLACED, CLOSE_SIGNED_OUT,
    CLOSE_TRY_AGAIN_LATER, SUBPROTOCOL,
};

use crate::client::Client;
use crate::error::{Error, Result};

/// How a live connection presents the access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LiveAuth {
    /// `Authorization: Bearer …`, as native apps do.
    #[default]
    Header,
    /// `Sec-WebSocket-Protocol: usher.v1, usher.bearer.<token>`, as browsers
    /// must, since they cannot set headers on a WebSocket.
    Subprotocol,
}

impl Client {
    /// Opens this device's live channel, authenticated by the `Authorization`
    /// header; `watch_devices` also subscribes to `devices_changed`.
    pub async fn live(&self, watch_devices: bool) -> Result<LiveConnection> {
        self.live_with_auth(LiveAuth::Header, watch_devices).await
    }

    /// Opens the live channel the way a browser does, with the token in
    /// `Sec-WebSocket-Protocol`.
    pub async fn connect_with_subprotocol_token(
        &self,
        watch_devices: bool,
    ) -> Result<LiveConnection> {
        self.live_with_auth(LiveAuth::Subprotocol, watch_devices)
            .await
    }

    /// Opens the live channel presenting the token as `auth` says. Without a
    /// token the request goes out unauthenticated.
    pub async fn live_with_auth(
        &self,
        auth: LiveAuth,
        watch_devices: bool,
    ) -> Result<LiveConnection> {
        let request = self.live_request(auth, watch_devices)?;
        match self.local_address() {
            Some(local) => LiveConnection::connect_from(request, local).await,
            None => LiveConnection::connect(request).await,
        }
    }

    /// The handshake request [`Client::live_with_auth`] would send, for tests
    /// that want to alter it before [`LiveConnection::connect`].
    pub fn live_request(&self, auth: LiveAuth, watch_devices: bool) -> Result<Request> {
        let mut url = self.endpoint(&["v1", "live"]);
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        url.set_scheme(scheme)
            .map_err(|()| Error::InvalidUrl(format!("{url}: cannot use as {scheme}://")))?;
        if watch_devices {
            url.set_query(Some("watch=devices"));
        }
        let mut request = url.as_str().into_client_request()?;
        if let Some(token) = self.token() {
            let (name, value) = match auth {
                LiveAuth::Header => (AUTHORIZATION, format!("Bearer {token}")),
                LiveAuth::Subprotocol => (
                    SEC_WEBSOCKET_PROTOCOL,
                    format!("{SUBPROTOCOL}, {BEARER_SUBPROTOCOL_PREFIX}{token}"),
                ),
            };
            let value = HeaderValue::from_str(&value)
                .map_err(|e| Error::InvalidRequest(format!("token: {e}")))?;
            request.headers_mut().insert(name, value);
        }
        Ok(request)
    }
}

/// What tokio-tungstenite's client handshakes return.
type Handshake = std::result::Result<
    (
        WebSocketStream<MaybeTlsStream<TcpStream>>,
        tungstenite::handshake::client::Response,
    ),
    tungstenite::Error,
>;

/// An open live channel. Read it with [`LiveConnection::next_event`]; reading
/// is also what answers the server's pings, so keep reading.
#[derive(Debug)]
pub struct LiveConnection {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    protocol: Option<String>,
    idle_timeout: Option<Duration>,
    finished: bool,
}

impl LiveConnection {
    /// Performs the handshake for `request`. A refused handshake becomes the
    /// same [`Error::Api`] an HTTP call would give (e.g. `401 session_revoked`).
    pub async fn connect(request: Request) -> Result<Self> {
        // Nagle would only delay our pongs and close replies.
        Self::handshake(tokio_tungstenite::connect_async_with_config(request, None, true).await)
    }

    /// Like [`LiveConnection::connect`], over a connection that leaves from
    /// `local` (see [`Client::from_local_address`]).
    pub async fn connect_from(request: Request, local: IpAddr) -> Result<Self> {
        let stream = connect_tcp_from(&request, local)
            .await
            .map_err(tungstenite::Error::Io)?;
        Self::handshake(
            tokio_tungstenite::client_async_tls_with_config(request, stream, None, None).await,
        )
    }

    fn handshake(connected: Handshake) -> Result<Self> {
        let (ws, response) = match connected {
            Ok(connected) => connected,
            Err(tungstenite::Error::Http(response)) => {
                let body = response.body().as_deref().unwrap_or_default();
                return Err(Error::from_answer(
                    response.status().as_u16(),
                    response.headers(),
                    body,
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let protocol = response
            .headers()
            .get(SEC_WEBSOCKET_PROTOCOL)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(LiveConnection {
            ws,
            protocol,
            idle_timeout: None,
            finished: false,
        })
    }

    /// The subprotocol the server selected, if any (`usher.v1`).
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// Treat the connection as dead when no frame at all (pings included)
    /// arrives for `limit`; [`LiveConnection::next_event`] then yields
    /// [`Error::Idle`]. Pick a limit above the server's 30 s ping interval.
    pub fn set_idle_timeout(&mut self, limit: Option<Duration>) {
        self.idle_timeout = limit;
    }

    /// The next event. After [`LiveEvent::Closed`], an error, or the end of
    /// the stream, every later call returns `None`.
    pub async fn next_event(&mut self) -> Option<Result<LiveEvent>> {
        while !self.finished {
            let frame = match self.idle_timeout {
                None => self.ws.next().await,
                Some(limit) => match tokio::time::timeout(limit, self.ws.next()).await {
                    Ok(frame) => frame,
                    Err(_elapsed) => {
                        self.finished = true;
                        return Some(Err(Error::Idle(limit)));
                    }
                },
            };
            match frame {
                Some(Ok(Message::Text(text))) => return Some(parse_event(&text)),
                Some(Ok(Message::Close(frame))) => {
                    self.finished = true;
                    // Sends the close reply tungstenite queued; the event matters
                    // more than a clean handshake, so a failure here is ignored.
                    let _ = self.ws.flush().await;
                    return Some(Ok(closed_event(frame)));
                }
                // Pings are answered inside tungstenite; binary frames are not
                // part of the protocol.
                Some(Ok(_)) => continue,
                Some(Err(
                    tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed,
                ))
                | None => self.finished = true,
                Some(Err(e)) => {
                    self.finished = true;
                    return Some(Err(e.into()));
                }
            }
        }
        None
    }

    /// Sends a text frame (the protocol defines none from device to server;
    /// this is for tests of how the server copes).
    pub async fn send_text(&mut self, text: impl Into<String>) -> Result<()> {
        self.ws.send(Message::text(text.into())).await?;
        Ok(())
    }

    /// Closes the connection normally and waits briefly for the server's reply.
    pub async fn close(&mut self) -> Result<()> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        let frame = CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        };
        match self.ws.close(Some(frame)).await {
            Ok(()) => {}
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                return Ok(())
            }
            Err(e) => return Err(e.into()),
        }
        let drain = async { while let Some(Ok(_)) = self.ws.next().await {} };
        let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
        Ok(())
    }
}

/// A TCP connection from `local` (any port) to the host of `request`'s URL,
/// resolved to an address of `local`'s family, with Nagle off.
async fn connect_tcp_from(request: &Request, local: IpAddr) -> std::io::Result<TcpStream> {
    use std::io::{Error as IoError, ErrorKind};
    let uri = request.uri();
    let host = uri
        .host()
        .ok_or_else(|| IoError::new(ErrorKind::InvalidInput, "the URL has no host"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("wss") {
            443
        } else {
            80
        });
    let target = tokio::net::lookup_host((host, port))
        .await?
        .find(|a| a.is_ipv4() == local.is_ipv4())
        .ok_or_else(|| {
            IoError::new(
                ErrorKind::AddrNotAvailable,
                format!("{host} has no address reachable from {local}"),
            )
        })?;
    let socket = if local.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.bind(SocketAddr::new(local, 0))?;
    let stream = socket.connect(target).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Parses one text frame (see [`LiveEvent::from_json`]); a frame that is not
/// JSON, or a known type with a malformed body, is [`Error::InvalidEvent`].
fn parse_event(text: &str) -> Result<LiveEvent> {
    LiveEvent::from_json(text).map_err(|source| Error::InvalidEvent {
        text: text.to_owned(),
        source,
    })
}

fn closed_event(frame: Option<CloseFrame>) -> LiveEvent {
    match frame {
        Some(frame) => LiveEvent::Closed {
            code: frame.code.into(),
            reason: frame.reason.to_string(),
        },
        // RFC 6455 §7.1.5: 1005 stands for "no status code was present".
        None => LiveEvent::Closed {
            code: 1005,
            reason: String::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        Client::new("https://example.com/usher")
            .expect("valid url")
            .with_token("tok")
    }

    #[test]
    fn header_auth_request() {
        let request = client()
            .live_request(LiveAuth::Header, true)
            .expect("builds");
        assert_eq!(
            request.uri().to_string(),
            "wss://example.com/usher/v1/live?watch=devices"
        );
        assert_eq!(request.headers()[AUTHORIZATION], "Bearer tok");
        assert!(request.headers().get(SEC_WEBSOCKET_PROTOCOL).is_none());
    }

    #[test]
    fn subprotocol_auth_request() {
        let request = Client::new("http://127.0.0.1:8080")
            .expect("valid url")
            .with_token("tok")
            .live_request(LiveAuth::Subprotocol, false)
            .expect("builds");
        assert_eq!(request.uri().to_string(), "ws://127.0.0.1:8080/v1/live");
        assert_eq!(
            request.headers()[SEC_WEBSOCKET_PROTOCOL],
            "usher.v1, usher.bearer.tok"
        );
        assert!(request.headers().get(AUTHORIZATION).is_none());
    }

    #[test]
    fn frames_become_events_or_invalid_event_errors() {
        let event = parse_event(
            r#"{"type":"signed_out","reason":"all_devices","at":"2026-11-21T08:03:26Z"}"#,
        )
        .expect("parses");
        assert!(matches!(
            event,
            LiveEvent::SignedOut {
                reason: crate::SignOutReason::AllDevices,
                ..
            }
        ));
        for bad in [r#"{"type":"hello"}"#, "not json"] {
            assert!(
                matches!(parse_event(bad), Err(Error::InvalidEvent { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn close_frames_become_events() {
        let event = closed_event(Some(CloseFrame {
            code: CloseCode::from(4001),
            reason: "signed out".into(),
        }));
        assert_eq!(
            event,
            LiveEvent::Closed {
                code: 4001,
                reason: "signed out".into()
            }
        );
        assert!(matches!(
            closed_event(None),
            LiveEvent::Closed { code: 1005, .. }
        ));
    }
}
