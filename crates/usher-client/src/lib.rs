//! A typed async client for usher's HTTP API v1 and live channel, and the
//! device simulator behind `usher device …`.
//!
//! ```no_run
//! # async fn demo() -> usher_client::Result<()> {
//! use usher_client::{Client, DeviceInfo, DeviceType, LiveEvent};
//!
//! let anonymous = Client::new("http://127.0.0.1:8080")?;
//! let tokens = anonymous
//!     .sign_in("a@example.com", "correct horse", &DeviceInfo::new("Living Room TV", DeviceType::Tv))
//!     .await?;
//! let tv = anonymous.with_token(&tokens.access_token);
//! let mut live = tv.live(false).await?;
//! while let Some(event) = live.next_event().await {
//!     if let LiveEvent::SignedOut { reason, .. } = event? {
//!         println!("signed out: {reason}");
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod activity;
mod client;
pub mod device_cli;
mod error;
mod live;
mod raw;
mod types;

pub use activity::{ActivityEvent, ActivityPage, ActivityQuery, Alert, EventDevice};
pub use client::Client;
pub use error::{Error, Problem, Result};
pub use live::{
    LiveAuth, LiveConnection, LiveEvent, BEARER_SUBPROTOCOL_PREFIX, CLOSE_GOING_AWAY,
    CLOSE_REPLACED, CLOSE_SIGNED_OUT, CLOSE_TRY_AGAIN_LATER, SUBPROTOCOL,
};
pub use raw::{RawRequest, RawResponse};
pub use types::{
    Account, AccountCreated, ActiveStream, ChangePassword, CreateAccount, CurrentDevice,
    CurrentSession, Device, DeviceInfo, DeviceList, DeviceType, Lease, Location, NowStreaming,
    Plan, ProfileRef, RefreshRequest, RenameDevice, SessionTokens, SignIn, SignOutAll,
    SignOutReason, SignedOutCount, StartStream, StreamDeviceRef, StreamList, StreamStopReason,
    UnknownDeviceType,
};
/// Every wire type of the API (profiles, problem codes, activity kinds, …),
/// for what this crate does not re-export by name.
pub use usher_api;

/// Re-exported so callers of [`Client::raw`] need no direct `reqwest` dependency.
pub use reqwest::{header::HeaderMap, Method, StatusCode};
