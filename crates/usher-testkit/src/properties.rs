//! Property tests against a running server. proptest's cases are
//! synchronous, so a [`PropertyBench`] owns the runtime its server runs on
//! and blocks on it for each case; cases are counted, never timed.

use std::future::Future;

use axum::body::Body;
use axum::response::Response;
use proptest::prelude::ProptestConfig;
use proptest::strategy::Strategy;
use proptest::test_runner::{TestCaseError, TestRunner};
use tokio::runtime::Runtime;
use usher::Config;
use usher_client::usher_api::{ProblemCode, PROBLEM_CONTENT_TYPE};

use crate::TestApp;

/// Cases per property: enough to find what the parsers mishandle, few
/// enough that every property file runs in seconds.
pub const CASES: u32 = 96;

/// A server, and the runtime that runs it and each case.
pub struct PropertyBench {
    // Dropped before the runtime it runs on.
    pub app: TestApp,
    runtime: Runtime,
}

impl PropertyBench {
    /// A server whose configuration `configure` adjusted.
    pub fn spawn_with(configure: impl FnOnce(&mut Config)) -> Self {
        let runtime = Runtime::new().expect("a runtime");
        let app = runtime.block_on(TestApp::spawn_with(configure));
        PropertyBench { app, runtime }
    }

    /// Runs `future` (a test's setup) on the server's runtime.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Checks `property` on [`CASES`] inputs drawn from `strategy`, and
    /// shrinks a failing one to the smallest input that still fails. No
    /// regression file is written: a failure prints its input.
    pub fn check<S: Strategy>(
        &self,
        strategy: S,
        property: impl AsyncFn(S::Value) -> Result<(), TestCaseError>,
    ) {
        let config = ProptestConfig {
            cases: CASES,
            failure_persistence: None,
            ..ProptestConfig::default()
        };
        let outcome =
            TestRunner::new(config).run(&strategy, |input| self.runtime.block_on(property(input)));
        if let Err(failure) = outcome {
            panic!("{failure}");
        }
    }
}

/// What an edge answers to input it cannot use: a 4xx problem+json with a
/// code this version knows. A 2xx passes too (the input happened to be
/// fine); a 5xx or any other answer fails the case. The status.
pub async fn refused_politely_or_served(response: Response) -> Result<u16, TestCaseError> {
    let status = response.status().as_u16();
    let content_type = header(&response, "content-type");
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .map_err(|e| TestCaseError::fail(format!("the body reads: {e}")))?;
    let text = String::from_utf8_lossy(&body);
    match status {
        200..=299 => Ok(status),
        400..=499 => {
            if content_type != PROBLEM_CONTENT_TYPE {
                return Err(TestCaseError::fail(format!(
                    "{status} as {content_type:?}: {text}"
                )));
            }
            let problem: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| TestCaseError::fail(format!("{status} {text}: {e}")))?;
            let code = problem["code"].as_str().unwrap_or_default();
            if code.parse::<ProblemCode>().is_err() {
                return Err(TestCaseError::fail(format!("unknown code: {text}")));
            }
            let detail = problem["detail"].as_str().unwrap_or_default();
            if let Some(word) = internal_word(detail) {
                return Err(TestCaseError::fail(format!("{word:?} in {text}")));
            }
            Ok(status)
        }
        _ => Err(TestCaseError::fail(format!("{status}: {text}"))),
    }
}

/// The text of `response`'s header `name`; empty when absent.
pub fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Words of Rust and of its parsers that a `detail` must not show a
/// person; what the sender wrote (quoted in backticks) does not count.
const INTERNAL_WORDS: [&str; 14] = [
    "struct ",
    "enum ",
    "variant",
    "sequence",
    "u8",
    "u16",
    "u32",
    "u64",
    "i32",
    "i64",
    "usize",
    "f64",
    "invalid type",
    "Failed to deserialize",
];

fn internal_word(detail: &str) -> Option<&'static str> {
    // Every other piece is inside backticks.
    let unquoted: String = detail.split('`').step_by(2).collect();
    INTERNAL_WORDS.into_iter().find(|w| unquoted.contains(w))
}

/// A request with `body` as is.
pub fn request(
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> axum::http::Request<Body> {
    let mut request = axum::http::Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(Body::from(body)).expect("a valid request")
}
