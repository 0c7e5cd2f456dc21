//! Streams: concurrent-stream slots held by leases.

pub mod http;
pub mod service;
