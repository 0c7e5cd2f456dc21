//! Public sign-up: whether strangers may create accounts at all, that they
//! cannot choose a plan, and how fast one address may try (GCRA on the
//! injected clock, per node like the sign-in limits).
//!
//! Every attempt spends the address's budget before anything is looked up,
//! whether it ends in an account, `409 email_taken` or a refusal of the
//! password: so "does this email have an account?" can be asked no faster
//! than accounts can be created.

use std::net::IpAddr;
use std::time::Duration;

use governor::clock::Clock;
use governor::RateLimiter;

use crate::auth::throttle::{quota, KeyedLimiter, ThrottleClock};
use crate::clock::SharedClock;
use crate::config::AccountConfig;
use crate::domain::ClientAddress;
use crate::error::{Error, Result};

/// The gate every public sign-up passes first.
pub struct SignUpGate {
    open: bool,
    by_address: KeyedLimiter<ClientAddress>,
}

impl SignUpGate {
    pub fn new(config: &AccountConfig, clock: SharedClock) -> Self {
        Self {
            open: config.public_sign_up,
            by_address: RateLimiter::dashmap_with_clock(
                quota(
                    config.sign_up_burst,
                    Duration::from_secs(config.sign_up_period_secs),
                ),
                ThrottleClock::new(clock),
            ),
        }
    }

    /// Admits one sign-up attempt from `ip` that names `plan` (or none).
    pub fn admit(&self, ip: Option<IpAddr>, plan: Option<&str>) -> Result<()> {
        if !self.open {
            return Err(Error::SignUpDisabled);
        }
        // Plans are the operator's to give (a later issue adds service
        // clients that may); refused rather than ignored, so a caller that
        // asked for one is not surprised by the default.
        if plan.is_some() {
            return Err(Error::PlanNotAllowed);
        }
        self.by_address
            .check_key(&address_key(ip))
            .map_err(|not_until| Error::TooManySignUps {
                retry_after: not_until.wait_time_from(self.by_address.clock().now()),
            })
    }

    /// Forgets addresses whose budget has fully recovered (bounded memory).
    pub fn tidy(&self) {
        self.by_address.retain_recent();
        self.by_address.shrink_to_fit();
    }
}

/// What an address is limited as (an IPv6 /64 is one address); no address
/// at all (a test's in-process request) is `0.0.0.0`.
fn address_key(ip: Option<IpAddr>) -> ClientAddress {
    ClientAddress::from(ip.unwrap_or(IpAddr::from([0, 0, 0, 0])))
}
