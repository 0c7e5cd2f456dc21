//! Brute-force protection: sign-in attempts are limited per account and per
//! client address (GCRA, via `governor`). Limits are per node; with N nodes an
//! attacker gets at most N times the burst, which still turns a brute-force
//! run into centuries.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::ThrottleConfig;
use crate::domain::Email;

pub struct SignInThrottle {
    by_account: DefaultKeyedRateLimiter<String>,
    by_ip: DefaultKeyedRateLimiter<IpAddr>,
}

pub(crate) fn quota(burst: u32, period: Duration) -> Quota {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(period.max(Duration::from_millis(1)))
        .expect("period is positive")
        .allow_burst(burst)
}

impl SignInThrottle {
    pub fn new(config: &ThrottleConfig) -> Self {
        Self {
            by_account: RateLimiter::keyed(quota(
                config.account_burst,
                Duration::from_secs(config.account_period_secs),
            )),
            by_ip: RateLimiter::keyed(quota(
                config.ip_burst,
                Duration::from_millis(config.ip_period_ms),
            )),
        }
    }

    /// Takes one attempt for this address and account; `Err(wait)` when either is exhausted.
    pub fn check(&self, ip: IpAddr, email: &Email) -> Result<(), Duration> {
        self.by_ip
            .check_key(&ip)
            .map_err(|not_until| not_until.wait_time_from(self.by_ip.clock().now()))?;
        self.by_account
            .check_key(&email.as_str().to_owned())
            .map_err(|not_until| not_until.wait_time_from(self.by_account.clock().now()))
    }

    /// Forgets keys whose limits have fully recovered (bounded memory).
    pub fn tidy(&self) {
        self.by_account.retain_recent();
        self.by_ip.retain_recent();
        self.by_account.shrink_to_fit();
        self.by_ip.shrink_to_fit();
    }
}
