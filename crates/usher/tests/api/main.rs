//! Black-box tests of usher's HTTP API and live channel (issues 2 and 3).
//!
//! Each test starts the real server on port 0 with a fresh database, drives
//! it through the typed client, and asserts what a device or its owner would
//! see. Time is moved with a manual clock; events are awaited, never slept for.

mod server_process;

mod accounts;
mod activity;
mod admission;
mod alerts;
mod bad_input;
mod config_layers;
mod connections;
mod crash;
mod data_files;
mod devices;
mod edge_properties;
mod front_door;
mod identities;
mod idle;
mod key_encryption;
mod live;
mod live_caps;
mod locations;
mod metrics;
mod openapi;
mod page_cookies;
mod passwords;
mod plans;
mod profile_locks;
mod profiles;
mod reauthentication;
mod sessions;
mod sign_up;
mod signing_keys;
mod streams;
mod throttle;
mod tokens;
