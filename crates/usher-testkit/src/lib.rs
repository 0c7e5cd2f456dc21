//! What every usher test suite shares, so that the API, browser, cluster and
//! client suites speak one vocabulary:
//!
//! - [`TestApp`]: the real server on port 0 with a fresh database (a SQLite
//!   file, or a PostgreSQL schema with `USHER_TEST_STORE=postgres`) and a
//!   [`ManualClock`](usher::clock::ManualClock);
//! - [`TestAccount`] and [`TestDevice`]: accounts whose password the test
//!   knows and the devices signed in to them, with a typed client each;
//! - [`Live`]: a device's live channel, read all the time as a real device
//!   would, with helpers that await the events a test expects;
//! - [`PageSession`] and [`EventStream`]: the account pages' cookie and
//!   server-sent events, without a browser;
//! - [`Household`]: Ada's account with a TV and a phone, the cast of most
//!   tests about several devices;
//! - the operator's key commands on a [`TestApp`], and the keys as a copy of
//!   its database holds them;
//! - [`answer_to`], [`ExpectProblem`] and [`RawProblem`]: raw requests and
//!   assertions on refusals;
//! - [`properties`]: proptest's cases against a running server;
//! - [`RawConnection`]: bytes over TCP, for tests about connections;
//! - [`cluster`]: several nodes on one PostgreSQL schema and NATS;
//! - [`nginx`]: Debian's nginx in front of them, configured as the README
//!   recommends;
//! - [`browser`]: Debian's Chromium driven through chromedriver;
//! - [`stand_in`]: a fake server for the client's own tests.
//!
//! Everything awaited is guarded by [`PATIENCE`]; nothing is slept for.

mod account;
mod app;
pub mod browser;
pub mod cluster;
mod connection;
mod device;
mod household;
mod keys;
pub mod link;
mod live;
pub mod nginx;
mod pages;
pub mod postgres;
mod problems;
pub mod properties;
pub mod stand_in;

use std::time::Duration;

pub use account::{forwarded_sign_in, sign_in_from, signed_in, TestAccount};
pub use app::{database_url, test_config, TestApp};
pub use connection::{RawAnswer, RawConnection};
pub use device::{session_ids, TestDevice};
pub use household::Household;
pub use live::Live;
pub use pages::{form_csrf, set_cookie, EventStream, PageSession};
pub use problems::{answer_to, expect_json, ExpectProblem, RawProblem};

/// How long anything awaited may take before the test fails. A guard against
/// hanging, never a timing assertion: on a healthy server events arrive in
/// milliseconds. Generous, because a headless browser or a cluster on a
/// shared two-core machine is sometimes slow to start.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The password every test account starts with.
pub const PASSWORD: &str = "correct horse battery staple";
