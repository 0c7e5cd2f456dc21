//! A raw TCP connection to the server under test, for tests about
//! connections themselves: the test writes the bytes (a request that never
//! ends, a WebSocket handshake with a forwarding header) and awaits what the
//! server does: answer, or close.

use std::net::SocketAddr;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::PATIENCE;

pub struct RawConnection {
    stream: TcpStream,
    /// Read but not yet taken.
    unread: Vec<u8>,
}

/// An answer read off a [`RawConnection`].
#[derive(Debug)]
pub struct RawAnswer {
    pub status: u16,
    /// The status line and headers.
    pub head: String,
    pub body: String,
}

impl RawAnswer {
    /// The value of header `name`, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// Asserts a problem+json answer with `status` and `code`; its body.
    #[track_caller]
    pub fn expect_problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{self:?}"
        );
        let problem: Value = serde_json::from_str(&self.body).expect("a JSON problem");
        assert_eq!(problem["code"], code, "{self:?}");
        assert_eq!(problem["status"], status, "{self:?}");
        problem
    }
}

impl RawConnection {
    /// Connects to `address`; the server has not necessarily accepted yet.
    pub async fn open(address: SocketAddr) -> Self {
        let stream = tokio::time::timeout(PATIENCE, TcpStream::connect(address))
            .await
            .expect("connected in time")
            .expect("the server takes connections");
        RawConnection {
            stream,
            unread: Vec::new(),
        }
    }

    /// Writes `bytes` as they are.
    pub async fn send(&mut self, bytes: &str) {
        self.stream
            .write_all(bytes.as_bytes())
            .await
            .expect("the request is sent");
    }

    /// Sends `GET path` with `headers`, asking the server to close after
    /// answering.
    pub async fn send_get(&mut self, path: &str, headers: &[(&str, &str)]) {
        let mut request = format!("GET {path} HTTP/1.1\r\nHost: usher\r\nConnection: close\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        self.send(&request).await;
    }

    /// A fresh connection's answer to `GET path` with `headers`.
    pub async fn get(address: SocketAddr, path: &str, headers: &[(&str, &str)]) -> RawAnswer {
        let mut connection = RawConnection::open(address).await;
        connection.send_get(path, headers).await;
        connection.answer().await
    }

    /// Sends a WebSocket handshake for the live channel with the device's
    /// `access_token` and `headers`, and reads the answer's head: `101` when
    /// the live channel opened. What the channel sends next is not read.
    pub async fn open_live(&mut self, access_token: &str, headers: &[(&str, &str)]) -> RawAnswer {
        let mut request = format!(
            "GET /v1/live HTTP/1.1\r\nHost: usher\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Authorization: Bearer {access_token}\r\n"
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        self.send(&request).await;
        self.answer_head().await
    }

    /// Reads an answer's status line and headers; its body is left unread.
    pub async fn answer_head(&mut self) -> RawAnswer {
        let end = self.read_until(b"\r\n\r\n").await;
        let head_bytes: Vec<u8> = self.unread.drain(..end).collect();
        let head = String::from_utf8_lossy(&head_bytes).trim_end().to_owned();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {head:?}"));
        RawAnswer {
            status,
            head,
            body: String::new(),
        }
    }

    /// Reads one answer: its head, then a body of its `Content-Length`, or
    /// (without one) up to the server's close.
    pub async fn answer(&mut self) -> RawAnswer {
        let mut answer = self.answer_head().await;
        let body = match answer.header("content-length") {
            Some(length) => {
                let length: usize = length.parse().expect("a length");
                while self.unread.len() < length {
                    self.read_more().await.expect("the whole body arrives");
                }
                self.unread.drain(..length).collect::<Vec<u8>>()
            }
            None => {
                while self.read_more().await.is_some() {}
                std::mem::take(&mut self.unread)
            }
        };
        answer.body = String::from_utf8_lossy(&body).into_owned();
        answer
    }

    /// Reads until `text` has arrived (in an event stream, say).
    pub async fn expect_text(&mut self, text: &str) {
        let end = self.read_until(text.as_bytes()).await;
        self.unread.drain(..end);
    }

    /// Awaits the server closing the connection without sending anything
    /// more.
    pub async fn expect_closed(&mut self) {
        assert_eq!(
            self.read_more().await,
            None,
            "the server sent {:?} instead of closing",
            String::from_utf8_lossy(&self.unread)
        );
    }

    /// Closes this side, then awaits the server's close (reading whatever it
    /// still sends): once this returns, the server has seen the connection end.
    pub async fn close(mut self) {
        self.stream.shutdown().await.expect("half-closed");
        while self.read_more().await.is_some() {}
    }

    /// The end of the first `needle` in what was read, reading until it comes.
    async fn read_until(&mut self, needle: &[u8]) -> usize {
        loop {
            if let Some(at) = self
                .unread
                .windows(needle.len())
                .position(|window| window == needle)
            {
                return at + needle.len();
            }
            if self.read_more().await.is_none() {
                panic!(
                    "the connection closed before {:?}; it sent {:?}",
                    String::from_utf8_lossy(needle),
                    String::from_utf8_lossy(&self.unread)
                );
            }
        }
    }

    /// Reads what arrives next; `None` once the server has closed (or
    /// reset) the connection.
    async fn read_more(&mut self) -> Option<usize> {
        let mut buffer = [0u8; 4096];
        let read = tokio::time::timeout(PATIENCE, self.stream.read(&mut buffer))
            .await
            .unwrap_or_else(|_| panic!("nothing arrived within {PATIENCE:?}"));
        match read {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                self.unread.extend_from_slice(&buffer[..n]);
                Some(n)
            }
        }
    }
}
