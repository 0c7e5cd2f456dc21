//! A minimal HTTP/1.1 keep-alive client: writes a request prepared once as
//! bytes, reads exactly one response (httparse for the head, Content-Length
//! for the body), and stays open for the next one.
//!
//! Why not hyper's client: measured against nginx on this machine, hyper's
//! `conn::http1` (a request builder, header map and a channel hop to the
//! connection task per request) saturated the load core at about 93,000
//! requests/s, so the floor would have measured the client. This does one
//! `write` and usually one `read` per request and nothing else.

use std::net::SocketAddr;

use anyhow::{bail, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Most headers we expect in an answer (usher and nginx send 4-6).
const MAX_HEADERS: usize = 32;
/// Largest answer head we accept.
const MAX_HEAD: usize = 16 * 1024;

/// A request's bytes, ready to write (cheap to share between connections).
pub type Prepared = std::sync::Arc<[u8]>;

/// `GET path` with an optional bearer token.
pub fn get(addr: SocketAddr, path: &str, bearer: Option<&str>) -> Prepared {
    let auth = bearer.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}\r\n")
        .into_bytes()
        .into()
}

/// `DELETE path` with a bearer token.
pub fn delete(addr: SocketAddr, path: &str, bearer: &str) -> Prepared {
    format!("DELETE {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {bearer}\r\n\r\n")
        .into_bytes()
        .into()
}

/// `POST path` with a JSON body and an optional bearer token.
pub fn post_json(
    addr: SocketAddr,
    path: &str,
    bearer: Option<&str>,
    body: &serde_json::Value,
) -> Prepared {
    let auth = bearer.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let body = body.to_string();
    format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
    .into()
}

/// One keep-alive connection with at most one request in flight.
pub struct Conn {
    addr: SocketAddr,
    stream: TcpStream,
    buf: Vec<u8>,
    /// Where the last answer's body lies in `buf`.
    body: std::ops::Range<usize>,
    /// The server said `Connection: close`: reconnect before the next request.
    closing: bool,
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(Self {
            addr,
            stream,
            buf: Vec::with_capacity(8 * 1024),
            body: 0..0,
            closing: false,
        })
    }

    /// Sends one request and reads its whole answer; returns the status.
    /// The body stays readable through [`Conn::body`] until the next call.
    pub async fn exchange(&mut self, request: &[u8]) -> anyhow::Result<u16> {
        if self.closing {
            *self = Self::open(self.addr).await?;
        }
        self.buf.clear();
        self.stream.write_all(request).await?;
        loop {
            if self.buf.capacity() - self.buf.len() < 1024 {
                self.buf.reserve(8 * 1024);
            }
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                bail!("the server closed the connection");
            }
            if let Some(status) = self.complete()? {
                return Ok(status);
            }
        }
    }

    /// The body of the last answer.
    pub fn body(&self) -> &[u8] {
        &self.buf[self.body.clone()]
    }

    /// Parses what was read so far; `Some(status)` once the answer is whole.
    fn complete(&mut self) -> anyhow::Result<Option<u16>> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let head_len = match response.parse(&self.buf)? {
            httparse::Status::Complete(n) => n,
            httparse::Status::Partial if self.buf.len() > MAX_HEAD => {
                bail!("answer head too large")
            }
            httparse::Status::Partial => return Ok(None),
        };
        let status = response.code.context("no status code")?;
        let mut length = 0;
        for h in response.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                length = std::str::from_utf8(h.value)?.trim().parse::<usize>()?;
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                bail!("chunked answers are not supported by the bench client");
            } else if h.name.eq_ignore_ascii_case("connection")
                && h.value.eq_ignore_ascii_case(b"close")
            {
                self.closing = true;
            }
        }
        if status == 204 || status == 304 || (100..200).contains(&status) {
            length = 0;
        }
        if self.buf.len() < head_len + length {
            return Ok(None);
        }
        if self.buf.len() > head_len + length {
            bail!("the server sent more than one answer");
        }
        self.body = head_len..head_len + length;
        Ok(Some(status))
    }
}
