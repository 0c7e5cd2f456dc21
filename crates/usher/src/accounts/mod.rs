//! Accounts: creation, plan, password.

pub mod http;
pub mod service;
