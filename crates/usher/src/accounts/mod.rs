//! Accounts: sign-up, creation, plan, password.

pub mod http;
pub mod service;
pub mod sign_up;

pub use service::{AccountOverview, AccountPorts, Accounts};
pub use sign_up::SignUpGate;
