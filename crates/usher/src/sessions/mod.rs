//! Device sessions: sign-in, refresh, the per-request check, sign-out.

pub mod browser;
pub mod cache;
pub mod http;
pub mod service;
