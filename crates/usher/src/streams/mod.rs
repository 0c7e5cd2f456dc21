//! Streams: concurrent-stream slots held by leases.

pub mod history;
pub mod http;
pub mod service;
pub mod views;

pub use service::{Lease, Streams};
