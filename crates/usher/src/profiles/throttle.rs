//! Wrong-PIN throttling, per profile (GCRA via `governor`, like sign-in).
//!
//! Only wrong PINs count: a child entering the right PIN ten times an evening
//! is never held up. Once a wrong PIN exceeds the allowance the profile is
//! blocked until the limiter would admit another, and while blocked no PIN is
//! even checked, so guessing runs at one try per period at most. Limits are
//! per node, as for sign-in: N nodes give an attacker N times the burst.
//!
//! A wrong PIN is only known once its hash is verified, so guesses sent at
//! once could all pass the check before the first one counts. One PIN check
//! per profile runs at a time on a node; a guess arriving meanwhile is
//! answered 429 at once, so the allowance holds however guesses are sent.

use std::time::Duration;

use dashmap::DashMap;
use governor::clock::Clock as _;
use governor::RateLimiter;

use crate::auth::throttle::{quota, KeyedLimiter, ThrottleClock};
use crate::clock::SharedClock;
use crate::config::ProfileConfig;
use crate::domain::{Millis, ProfileId};

pub struct PinThrottle {
    wrong: KeyedLimiter<ProfileId>,
    /// Until when (on the injected clock) each blocked profile stays blocked.
    blocked: DashMap<ProfileId, Millis>,
    checking: DashMap<ProfileId, ()>,
    clock: SharedClock,
}

/// A PIN check in progress; the profile is free for the next when dropped.
pub struct PinCheck<'a> {
    throttle: &'a PinThrottle,
    profile: ProfileId,
}

impl Drop for PinCheck<'_> {
    fn drop(&mut self) {
        self.throttle.checking.remove(&self.profile);
    }
}

/// How long a guess that found another check in progress is told to wait.
const BUSY_WAIT: Duration = Duration::from_secs(1);

impl PinThrottle {
    /// Limits on `clock`, the service's injected clock.
    pub fn new(config: &ProfileConfig, clock: SharedClock) -> Self {
        Self {
            wrong: RateLimiter::dashmap_with_clock(
                quota(
                    config.pin_burst,
                    Duration::from_secs(config.pin_period_secs),
                ),
                ThrottleClock::new(clock.clone()),
            ),
            blocked: DashMap::new(),
            checking: DashMap::new(),
            clock,
        }
    }

    /// Starts a PIN check: `Err(wait)` while the profile is blocked or
    /// another check of it is in progress.
    pub fn begin(&self, profile: ProfileId) -> Result<PinCheck<'_>, Duration> {
        if let Some(until) = self.blocked.get(&profile).map(|until| *until) {
            let left = until - self.clock.now();
            if left > 0 {
                return Err(Duration::from_millis(left.unsigned_abs()));
            }
        }
        match self.checking.entry(profile) {
            dashmap::Entry::Occupied(_) => Err(BUSY_WAIT),
            dashmap::Entry::Vacant(slot) => {
                slot.insert(());
                Ok(PinCheck {
                    throttle: self,
                    profile,
                })
            }
        }
    }

    /// Counts a wrong PIN; `Err(wait)` when it was one too many (the profile
    /// is blocked from now on for `wait`).
    pub fn wrong(&self, profile: ProfileId) -> Result<(), Duration> {
        match self.wrong.check_key(&profile) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.wrong.clock().now());
                let until = self.clock.now().saturating_add(wait.as_millis() as Millis);
                self.blocked.insert(profile, until);
                Err(wait)
            }
        }
    }

    /// Forgets profiles whose limits have fully recovered (bounded memory).
    pub fn tidy(&self) {
        let now = self.clock.now();
        self.blocked.retain(|_, until| *until > now);
        self.wrong.retain_recent();
        self.wrong.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(burst: u32) -> PinThrottle {
        PinThrottle::new(
            &ProfileConfig {
                pin_burst: burst,
                pin_period_secs: 3_600,
            },
            std::sync::Arc::new(crate::clock::ManualClock::default()),
        )
    }

    #[test]
    fn a_second_check_of_a_profile_waits_for_the_first() {
        let t = throttle(5);
        let kids = ProfileId::new();
        let first = t.begin(kids).expect("the first check starts");
        assert!(t.begin(kids).is_err(), "a guess sent meanwhile is refused");
        assert!(t.begin(ProfileId::new()).is_ok(), "other profiles are free");
        drop(first);
        assert!(
            t.begin(kids).is_ok(),
            "the next check starts once it is done"
        );
    }

    #[test]
    fn wrong_pins_beyond_the_allowance_block_the_profile() {
        let t = throttle(2);
        let kids = ProfileId::new();
        for _ in 0..2 {
            let _check = t.begin(kids).expect("allowed");
            t.wrong(kids).expect("within the allowance");
        }
        {
            let _check = t.begin(kids).expect("allowed");
            assert!(t.wrong(kids).is_err(), "one too many");
        }
        assert!(t.begin(kids).is_err(), "blocked, even for the right PIN");
    }
}
