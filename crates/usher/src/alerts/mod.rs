//! Alerts: a sign-in from a country or a kind of device the account has never
//! used, or a burst of wrong passwords entered on signed-in devices. Each is
//! an activity event, a banner on the account pages until dismissed, and
//! (when configured) a signed webhook delivered at least once from a durable
//! outbox.

pub mod http;
pub mod service;
pub mod views;
pub mod webhook;

pub use service::{AlertedDevice, Alerts, OpenAlert, SignIn};
