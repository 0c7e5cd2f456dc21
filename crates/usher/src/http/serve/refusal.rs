//! Refusing a connection politely: a short problem+json answer written
//! straight to the socket and then a close, rather than a silent reset.
//!
//! A refused connection is never handed to hyper: its answer is rendered
//! once at start-up, and what the client sends is read and dropped until it
//! closes (so that closing does not reset the connection and lose the
//! answer), for a short while at most.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use super::answers;
use crate::http::error::ApiError;

/// How long a refused client is given to read the answer and close.
const LINGER: Duration = Duration::from_secs(2);
/// How much of what a refused client sends is read before closing anyway.
const MAX_DRAINED: usize = 16 * 1024;
/// Refusals under way at once; beyond them a connection is closed at once,
/// so that refusing cannot itself run the server out of file descriptors.
const MAX_REFUSING: usize = 64;

#[derive(Debug, Clone, Copy)]
pub enum Refusal {
    /// `429 too_many_connections`.
    TooManyFromAddress,
    /// `503 overloaded`.
    ServerFull,
}

pub struct Refusals {
    too_many_from_address: Bytes,
    server_full: Bytes,
    under_way: Arc<Semaphore>,
}

impl Refusals {
    pub async fn new() -> Self {
        Self {
            too_many_from_address: render(answers::too_many_connections()).await,
            server_full: render(answers::server_full()).await,
            under_way: Arc::new(Semaphore::new(MAX_REFUSING)),
        }
    }

    /// Answers `stream` with `refusal` and closes it, in the background.
    pub fn refuse(&self, mut stream: TcpStream, refusal: Refusal) {
        let Ok(permit) = Arc::clone(&self.under_way).try_acquire_owned() else {
            return;
        };
        let answer = match refusal {
            Refusal::TooManyFromAddress => self.too_many_from_address.clone(),
            Refusal::ServerFull => self.server_full.clone(),
        };
        tokio::spawn(async move {
            let answered = async {
                stream.write_all(&answer).await?;
                stream.shutdown().await?;
                let mut sink = [0u8; 1024];
                let mut drained = 0;
                while drained < MAX_DRAINED {
                    match stream.read(&mut sink).await? {
                        0 => break,
                        n => drained += n,
                    }
                }
                std::io::Result::Ok(())
            };
            let _ = tokio::time::timeout(LINGER, answered).await;
            drop(permit);
        });
    }
}

/// `error` as the bytes of an HTTP/1.1 answer that closes the connection.
async fn render(error: ApiError) -> Bytes {
    let (head, body) = error.into_response().into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let mut answer = format!("HTTP/1.1 {}\r\n", head.status).into_bytes();
    for (name, value) in &head.headers {
        if name == header::CONTENT_LENGTH || name == header::CONNECTION {
            continue;
        }
        answer.extend_from_slice(name.as_str().as_bytes());
        answer.extend_from_slice(b": ");
        answer.extend_from_slice(value.as_bytes());
        answer.extend_from_slice(b"\r\n");
    }
    answer.extend_from_slice(
        format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    answer.extend_from_slice(&body);
    Bytes::from(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_refusal_is_a_complete_problem_answer_that_closes() {
        let answer = render(answers::too_many_connections()).await;
        let text = std::str::from_utf8(&answer).expect("text");
        let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
        assert!(
            head.starts_with("HTTP/1.1 429 Too Many Requests\r\n"),
            "{head}"
        );
        assert!(
            head.contains("content-type: application/problem+json"),
            "{head}"
        );
        assert!(head.contains("retry-after: 1"), "{head}");
        assert!(head.contains("connection: close"), "{head}");
        assert_eq!(
            head.matches("content-length: ").count(),
            1,
            "one length: {head}"
        );
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        let problem: serde_json::Value = serde_json::from_str(body).expect("JSON");
        assert_eq!(problem["code"], "too_many_connections");
    }
}
