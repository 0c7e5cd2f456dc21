//! Devices: the account's signed-in devices, renaming and remote sign-out.

pub mod http;
pub mod service;
