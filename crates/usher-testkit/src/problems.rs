//! Raw requests, and assertions on refusals: a typed call's error, or a raw
//! answer's problem+json body.

use std::fmt::Debug;

use serde_json::Value;
use usher_client::{Client, Method, Problem, RawResponse, SignOutReason, StreamStopReason};

/// Sends `method path` through `client`, with `json_text` as a JSON body
/// when given (often malformed on purpose); the answer, whatever its status.
pub async fn answer_to(
    client: &Client,
    method: Method,
    path: &str,
    json_text: Option<&str>,
) -> RawResponse {
    let mut request = client.raw(method, path);
    if let Some(body) = json_text {
        request = request.json_text(body.to_owned());
    }
    request.send().await.expect("an answer")
}

/// The JSON body of a success answer with `status`.
#[track_caller]
pub fn expect_json(answer: &RawResponse, status: u16) -> Value {
    assert_eq!(
        answer.status.as_u16(),
        status,
        "{} {}",
        answer.status,
        answer.text()
    );
    answer.json().expect("a JSON body")
}

/// Assertions on a refused typed call.
pub trait ExpectProblem {
    /// Asserts the call failed with `status` and problem `code`.
    fn expect_problem(self, status: u16, code: &str) -> usher_client::Error;

    /// Asserts `401 session_revoked` with `reason`.
    fn expect_revoked(self, reason: &SignOutReason) -> usher_client::Error;

    /// Asserts `410 stream_ended` with `reason`.
    fn expect_stream_ended(self, reason: StreamStopReason) -> usher_client::Error;
}

impl<T: Debug> ExpectProblem for usher_client::Result<T> {
    #[track_caller]
    fn expect_problem(self, status: u16, code: &str) -> usher_client::Error {
        let error = match self {
            Ok(value) => panic!("expected {status} {code}, got success: {value:?}"),
            Err(error) => error,
        };
        assert_eq!(
            (error.status(), error.code()),
            (Some(status), Some(code)),
            "unexpected answer: {error}"
        );
        error
    }

    #[track_caller]
    fn expect_revoked(self, reason: &SignOutReason) -> usher_client::Error {
        let error = self.expect_problem(401, "session_revoked");
        assert_eq!(error.reason(), Some(reason.as_str()), "{error}");
        error
    }

    #[track_caller]
    fn expect_stream_ended(self, reason: StreamStopReason) -> usher_client::Error {
        let error = self.expect_problem(410, "stream_ended");
        assert_eq!(error.stream_end_reason(), Some(reason), "{error}");
        error
    }
}

/// Assertions on a raw answer.
pub trait RawProblem {
    /// Asserts a problem+json answer with `status` and `code`.
    fn expect_problem(&self, status: u16, code: &str) -> Problem;

    /// Asserts `429 too_many_attempts` with a `Retry-After` header (at
    /// least a second) that the body repeats; its seconds.
    fn expect_retry_after(&self) -> u64;
}

impl RawProblem for RawResponse {
    #[track_caller]
    fn expect_problem(&self, status: u16, code: &str) -> Problem {
        let summary = format!("{} {}", self.status, self.text());
        assert_eq!(self.status.as_u16(), status, "{summary}");
        assert_eq!(
            self.content_type(),
            Some("application/problem+json"),
            "{summary}"
        );
        let problem = self
            .problem()
            .unwrap_or_else(|| panic!("not a problem: {summary}"));
        assert_eq!(problem.code, code, "{summary}");
        let body = self.json().expect("problem bodies are JSON");
        assert_eq!(
            body["status"], status,
            "the body repeats the status: {summary}"
        );
        assert!(
            body["title"].is_string(),
            "a problem has a title: {summary}"
        );
        problem
    }

    #[track_caller]
    fn expect_retry_after(&self) -> u64 {
        let problem = self.expect_problem(429, "too_many_attempts");
        let retry_after: u64 = self
            .header("retry-after")
            .expect("a Retry-After header")
            .parse()
            .expect("Retry-After in seconds");
        assert!(retry_after >= 1, "Retry-After: {retry_after}");
        assert_eq!(problem.retry_after, Some(retry_after));
        retry_after
    }
}
