//! usher: account sessions and device management for streaming platforms.
//!
//! A signed-out device stops within milliseconds: every request is checked
//! against an in-memory view of active sessions that revocations update before
//! they are acknowledged, and each device's live connection is told at once.

pub mod accounts;
pub mod activity;
pub mod alerts;
pub mod app;
pub mod auth;
pub mod bus;
pub mod cli;
pub mod clock;
pub mod config;
pub mod devices;
pub mod domain;
pub mod error;
pub mod geo;
pub mod http;
pub mod live;
pub mod profiles;
pub mod services;
pub mod sessions;
pub mod store;
pub mod streams;
pub mod telemetry;
pub mod web;

pub use app::App;
pub use config::Config;
