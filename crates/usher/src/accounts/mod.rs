//! Accounts: sign-up, creation, plan, password, and the re-check of stored
//! emails against today's normalisation.

pub mod emails;
pub mod http;
pub mod service;
pub mod sign_up;

pub use service::{AccountOverview, AccountPorts, Accounts};
pub use sign_up::SignUpGate;
