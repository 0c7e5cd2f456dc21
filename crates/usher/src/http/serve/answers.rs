//! The problems the connection layer answers with, before or around the
//! routes.

use std::time::Duration;

use usher_api::ProblemCode;

use crate::http::error::ApiError;

/// A client address holds as many connections (or forwarded requests) as it may.
pub fn too_many_connections() -> ApiError {
    ApiError::new(ProblemCode::TooManyConnections, "Too many connections")
        .detail("Too many connections are open from your address. Close one, or try again shortly.")
        .retry_after(1)
}

/// Every connection the server takes is in use.
pub fn server_full() -> ApiError {
    ApiError::new(ProblemCode::Overloaded, "Busy")
        .detail("The server has as many connections open as it takes. Try again shortly.")
        .retry_after(1)
}

/// The request was not received and answered in time.
pub fn request_timeout(limit: Duration) -> ApiError {
    ApiError::new(ProblemCode::RequestTimeout, "Request timeout").detail(format!(
        "The request was not received and answered within {} ms.",
        limit.as_millis()
    ))
}
