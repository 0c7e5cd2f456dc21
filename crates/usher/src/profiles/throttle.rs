//! Wrong-PIN throttling, per profile (GCRA via `governor`, like sign-in).
//!
//! Only wrong PINs count: a child entering the right PIN ten times an evening
//! is never held up. Once a wrong PIN exceeds the allowance the profile is
//! blocked until the limiter would admit another, and while blocked no PIN is
//! even checked, so guessing runs at one try per period at most. Limits are
//! per node, as for sign-in: N nodes give an attacker N times the burst.

use std::time::{Duration, Instant};

use dashmap::DashMap;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, RateLimiter};

use crate::auth::throttle::quota;
use crate::config::ProfileConfig;
use crate::domain::ProfileId;

pub struct PinThrottle {
    wrong: DefaultKeyedRateLimiter<ProfileId>,
    blocked: DashMap<ProfileId, Instant>,
}

impl PinThrottle {
    pub fn new(config: &ProfileConfig) -> Self {
        Self {
            wrong: RateLimiter::keyed(quota(
                config.pin_burst,
                Duration::from_secs(config.pin_period_secs),
            )),
            blocked: DashMap::new(),
        }
    }

    /// `Err(wait)` while the profile is blocked.
    pub fn check(&self, profile: ProfileId) -> Result<(), Duration> {
        match self.blocked.get(&profile).map(|until| *until) {
            Some(until) => match until.checked_duration_since(Instant::now()) {
                Some(wait) if !wait.is_zero() => Err(wait),
                _ => Ok(()),
            },
            None => Ok(()),
        }
    }

    /// Counts a wrong PIN; `Err(wait)` when it was one too many (the profile
    /// is blocked from now on for `wait`).
    pub fn wrong(&self, profile: ProfileId) -> Result<(), Duration> {
        match self.wrong.check_key(&profile) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.wrong.clock().now());
                self.blocked.insert(profile, Instant::now() + wait);
                Err(wait)
            }
        }
    }

    /// Forgets profiles whose limits have fully recovered (bounded memory).
    pub fn tidy(&self) {
        let now = Instant::now();
        self.blocked.retain(|_, until| *until > now);
        self.wrong.retain_recent();
        self.wrong.shrink_to_fit();
    }
}
