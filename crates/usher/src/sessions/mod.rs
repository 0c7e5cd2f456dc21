//! Device sessions: sign-in, refresh, the per-request check, sign-out, and
//! the keys that sign their tokens.

mod actor;
pub mod browser;
pub mod cache;
mod check;
mod device_proof;
pub mod freshness;
pub mod http;
pub mod keys;
mod revoke;
pub mod service;
mod unknown;

pub use actor::Actor;
pub use service::{SessionPorts, Sessions, TokenPair};
