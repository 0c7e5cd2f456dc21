//! Devices: the signed-in devices of an account, renaming, signing out.

pub mod http;
pub mod record;
pub mod service;
pub mod views;

pub use record::{Device, NowPlaying};
pub use service::Devices;
