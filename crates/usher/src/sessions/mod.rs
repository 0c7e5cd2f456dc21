//! Device sessions: sign-in, refresh, the per-request check, sign-out.

mod actor;
pub mod browser;
pub mod cache;
mod check;
mod device_proof;
pub mod freshness;
pub mod http;
mod revoke;
pub mod service;

pub use actor::Actor;
pub use service::{SessionPorts, Sessions, TokenPair};
