//! Accounts: creation, plan, password.

pub mod http;
pub mod service;

pub use service::{AccountOverview, AccountPorts, Accounts};
