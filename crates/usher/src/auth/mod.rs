//! Credentials: password hashing, access and refresh tokens and the keys
//! that sign them, throttling.

pub mod budget;
pub mod keyring;
pub mod passwords;
pub mod refresh;
pub mod sealing;
pub mod throttle;
pub mod tokens;
