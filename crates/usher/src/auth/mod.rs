//! Credentials: password hashing, access and refresh tokens, throttling.

pub mod budget;
pub mod passwords;
pub mod refresh;
pub mod throttle;
pub mod tokens;
