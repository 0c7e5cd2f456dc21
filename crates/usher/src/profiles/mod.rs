//! Profiles: up to five viewers per account, each optionally locked with a
//! 4-digit PIN, and which profile each device is on.

pub mod http;
pub mod service;
pub mod throttle;
pub mod views;

pub use service::{ProfilePorts, Profiles, MAX_PROFILES};
