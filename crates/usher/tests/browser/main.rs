//! End-to-end tests of the account pages in a real browser (issue 5).
//!
//! Each test starts the real server on port 0 with a fresh database, its own
//! chromedriver and a headless Debian Chromium with a fresh profile, and
//! drives the pages as a user would; TVs and phones sign in through the API
//! and hold live channels, so a test can assert what a device is told.
//! Everything is awaited (a page change, a live event), never slept for.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian's `chromium`
//! and `chromium-driver`; `scripts/test.sh` installs them), or other paths in
//! `USHER_TEST_CHROMIUM` / `USHER_TEST_CHROMEDRIVER`. Without them every test
//! fails and says so. `USHER_TEST_STORE=postgres` runs them on PostgreSQL.
//! The README's screenshots are a program on the same harness:
//! `cargo run -p usher --example screenshots`.

mod activity;
mod bad_input;
mod devices;
mod harness;
mod password;
mod profiles;
mod sign_in;
mod sign_out_all;
mod streams;
