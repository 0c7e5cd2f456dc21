//! Brute-force protection: sign-in attempts are limited per account and per
//! client address (GCRA, via `governor`). Limits are per node; with N nodes an
//! attacker gets at most N times the burst, which still turns a brute-force
//! run into centuries.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::clock::SharedClock;
use crate::config::ThrottleConfig;
use crate::domain::Email;

/// The service's injected clock as `governor` reads time, so that limits
/// recover on the same clock as everything else (tests move a manual clock
/// past a `Retry-After` instead of waiting it out). On the wall clock a step
/// backwards only holds a key back a little longer; GCRA stays correct.
#[derive(Clone)]
pub(crate) struct ThrottleClock(SharedClock);

impl ThrottleClock {
    pub(crate) fn new(clock: SharedClock) -> Self {
        Self(clock)
    }
}

impl Clock for ThrottleClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        let millis = u64::try_from(self.0.now()).unwrap_or(0);
        Nanos::new(millis.saturating_mul(1_000_000))
    }
}

/// A keyed GCRA limiter on the injected clock.
pub(crate) type KeyedLimiter<K> =
    RateLimiter<K, DashMapStateStore<K>, ThrottleClock, NoOpMiddleware<Nanos>>;

pub struct SignInThrottle {
    by_account: KeyedLimiter<String>,
    by_ip: KeyedLimiter<IpAddr>,
}

pub(crate) fn quota(burst: u32, period: Duration) -> Quota {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(period.max(Duration::from_millis(1)))
        .expect("period is positive")
        .allow_burst(burst)
}

impl SignInThrottle {
    /// Limits on `clock`, the service's injected clock.
    pub fn new(config: &ThrottleConfig, clock: SharedClock) -> Self {
        let clock = ThrottleClock::new(clock);
        Self {
            by_account: RateLimiter::dashmap_with_clock(
                quota(
                    config.account_burst,
                    Duration::from_secs(config.account_period_secs),
                ),
                clock.clone(),
            ),
            by_ip: RateLimiter::dashmap_with_clock(
                quota(config.ip_burst, Duration::from_millis(config.ip_period_ms)),
                clock,
            ),
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
