//! One accepted connection, served by hyper (with upgrades, so the live
//! channel works) under its header-read timer.
//!
//! The connection's slots are given back when its socket closes, which for a
//! WebSocket is when the live channel ends. A kept-alive connection that
//! brings no new request in time is closed. Each request is timed (but the
//! long-lived ones) and, from a trusted proxy, counted for the client the
//! proxy names until its answer is over.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Request, Response, StatusCode};
use axum::response::IntoResponse;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{watch, OwnedSemaphorePermit};
use tokio::time::Instant;
use tower::ServiceExt;

use super::limits::AddressSlot;
use super::{answers, Shared};
use crate::http::forwarded;

/// Routes whose answer is meant to stay open: the live channel (a
/// WebSocket, see `live::socket`) and the account page's server-sent events
/// (`web::events`). The request timeout does not apply to them.
const LONG_LIVED: [&str; 2] = ["/v1/live", "/account/events"];

/// What a connection holds until its socket closes.
#[derive(Default)]
pub struct Held {
    /// Its share of all connections.
    _permit: Option<OwnedSemaphorePermit>,
    /// Its share of its client address's connections (none from a trusted proxy).
    _address: Option<AddressSlot>,
    /// The forwarded client's share, for a request from a trusted proxy
    /// that became a WebSocket: it holds the connection from then on.
    upgraded: Option<AddressSlot>,
}

impl Held {
    pub fn new(permit: OwnedSemaphorePermit, address: Option<AddressSlot>) -> Self {
        Self {
            _permit: Some(permit),
            _address: address,
            upgraded: None,
        }
    }
}

struct ConnectionState {
    held: Mutex<Held>,
    phase: watch::Sender<Phase>,
}

/// Whether the connection is answering, and since when it has not been.
#[derive(Debug, Clone, Copy, Default)]
struct Phase {
    answering: usize,
    /// `None` until the first answer is over.
    answered_at: Option<Instant>,
}

impl ConnectionState {
    fn held(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Gives the slots back (once; later calls find nothing).
    fn release(&self) {
        let held = std::mem::take(&mut *self.held());
        drop(held);
    }
}

/// Serves `stream` until it closes, its client idles too long, or the
/// server shuts down: then an answer under way is finished, and a
/// connection that is answering nothing is closed at once (hyper would keep
/// one whose first request's headers are half sent open until its header
/// timer fires, holding up shutdown).
pub async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    held: Held,
    via_proxy: bool,
    shared: Arc<Shared>,
) {
    let state = Arc::new(ConnectionState {
        held: Mutex::new(held),
        phase: watch::Sender::new(Phase::default()),
    });
    let mut phase = state.phase.subscribe();
    let io = TokioIo::new(Counted {
        state: Arc::clone(&state),
        stream,
    });
    let requests = Requests {
        shared: Arc::clone(&shared),
        state,
        peer,
        via_proxy,
    };
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(shared.header_read_timeout);
    let connection = builder.serve_connection(io, requests).with_upgrades();
    tokio::pin!(connection);
    let mut closing = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                // Most often a client that was too slow with its headers.
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended");
                }
                return;
            }
            () = shared.shutdown.cancelled(), if !closing => {
                if phase.borrow().answering == 0 {
                    return;
                }
                closing = true;
                connection.as_mut().graceful_shutdown();
            }
            () = idle(&mut phase, shared.keep_alive_idle) => {
                tracing::debug!(%peer, "closed a kept-alive connection that stayed idle");
                return;
            }
        }
    }
}

/// Resolves once the connection, having answered, has waited `limit`
/// without a new request being read.
async fn idle(phase: &mut watch::Receiver<Phase>, limit: Duration) {
    loop {
        let now = *phase.borrow_and_update();
        let changed = phase.changed();
        match now {
            Phase {
                answering: 0,
                answered_at: Some(at),
            } => tokio::select! {
                () = tokio::time::sleep_until(at + limit) => return,
                _ = changed => {}
            },
            // A new connection waits under hyper's header timer alone.
            _ => {
                if changed.await.is_err() {
                    return std::future::pending().await;
                }
            }
        }
    }
}

/// The requests of one connection, handed to the router.
#[derive(Clone)]
struct Requests {
    shared: Arc<Shared>,
    state: Arc<ConnectionState>,
    peer: SocketAddr,
    via_proxy: bool,
}

type Answer = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

impl hyper::service::Service<Request<Incoming>> for Requests {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Answer;

    fn call(&self, request: Request<Incoming>) -> Answer {
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let client_slot = if self.via_proxy {
            let client =
                forwarded::client_address(&self.shared.geo, self.peer.ip(), request.headers());
            match self.shared.limits.claim(client) {
                Some(slot) => Some(slot),
                None => {
                    return Box::pin(std::future::ready(Ok(
                        answers::too_many_connections().into_response()
                    )))
                }
            }
        } else {
            None
        };
        let answering = Answering::begin(Arc::clone(&self.state), client_slot);
        let limit =
            (!LONG_LIVED.contains(&request.uri().path())).then_some(self.shared.request_timeout);
        let answer = self.shared.router.clone().oneshot(request);
        Box::pin(async move {
            let response = match limit {
                None => answer.await,
                Some(limit) => match tokio::time::timeout(limit, answer).await {
                    Ok(response) => response,
                    Err(_) => Ok(timed_out(limit)),
                },
            };
            let response = response.unwrap_or_else(|never| match never {});
            Ok(answering.attach(response))
        })
    }
}

/// `408 request_timeout`; the connection closes after it, as the rest of
/// the request may still be on its way.
fn timed_out(limit: Duration) -> Response<Body> {
    let mut response = answers::request_timeout(limit).into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// One request being answered, until its answer's body is over.
struct Answering {
    state: Arc<ConnectionState>,
    client_slot: Option<AddressSlot>,
}

impl Answering {
    fn begin(state: Arc<ConnectionState>, client_slot: Option<AddressSlot>) -> Self {
        state.phase.send_modify(|phase| phase.answering += 1);
        Self { state, client_slot }
    }

    /// Rides on `response`'s body. A WebSocket's 101 hands the forwarded
    /// client's slot to the connection, which the live channel keeps.
    fn attach(mut self, response: Response<Body>) -> Response<Body> {
        if response.status() == StatusCode::SWITCHING_PROTOCOLS {
            self.state.held().upgraded = self.client_slot.take();
        }
        response.map(|body| {
            Body::new(Tracked {
                body,
                _answering: self,
            })
        })
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        self.state.phase.send_modify(|phase| {
            phase.answering = phase.answering.saturating_sub(1);
            if phase.answering == 0 {
                phase.answered_at = Some(Instant::now());
            }
        });
    }
}

/// An answer's body, carrying its [`Answering`] until it is dropped.
struct Tracked {
    body: Body,
    _answering: Answering,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The socket, giving the connection's slots back as it closes: before its
/// FIN goes out, so a client that sees the close can count on the slot.
struct Counted {
    state: Arc<ConnectionState>,
    stream: TcpStream,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.state.release();
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.state.release();
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}
