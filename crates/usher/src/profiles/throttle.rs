//! Wrong-PIN throttling, with the sign-in rules (`auth::throttle`) on
//! [`FailureBudget`]s: wrong PINs lock out the (profile, client address)
//! pair (IPv6: its /64), and all wrong PINs for a profile share a larger
//! budget, too large for one address to spend, beyond which the profile
//! takes no PIN until one is forgiven. Only wrong PINs count: a child
//! entering the right PIN ten times an evening is never held up. Limits
//! are per node: N nodes give an attacker N times each budget.
//!
//! Each check reserves its failure before the PIN is verified (see
//! `auth::budget`), and one PIN check per profile runs at a time on a node;
//! a guess arriving meanwhile is answered 429 at once, so the allowance
//! holds however guesses are sent.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use dashmap::DashMap;

use crate::auth::budget::{FailureBudget, Reserved};
use crate::clock::SharedClock;
use crate::config::ProfileConfig;
use crate::domain::{ClientAddress, ProfileId};

pub struct PinThrottle {
    by_address: FailureBudget<(ProfileId, ClientAddress)>,
    by_profile: FailureBudget<ProfileId>,
    checking: DashMap<ProfileId, ()>,
}

/// A PIN check in progress: say whether the PIN was right. The profile is
/// free for the next check when it is dropped.
#[must_use = "say whether the PIN was right"]
pub struct PinCheck<'a> {
    _checking: Checking<'a>,
    by_address: Reserved<'a, (ProfileId, ClientAddress)>,
    by_profile: Reserved<'a, ProfileId>,
}

/// The profile's one check at a time, given up when dropped.
struct Checking<'a> {
    throttle: &'a PinThrottle,
    profile: ProfileId,
}

impl Drop for Checking<'_> {
    fn drop(&mut self) {
        self.throttle.checking.remove(&self.profile);
    }
}

impl PinCheck<'_> {
    /// The PIN was right: nothing counts.
    pub fn right(self) {}

    /// The PIN was wrong: it counts for the address and the profile.
    pub fn wrong(self) {
        self.by_address.failed();
        self.by_profile.failed();
    }
}

/// How long a guess that found another check in progress is told to wait.
const BUSY_WAIT: Duration = Duration::from_secs(1);

impl PinThrottle {
    /// Limits on `clock`, the service's injected clock.
    pub fn new(config: &ProfileConfig, clock: SharedClock) -> Self {
        Self {
            by_address: FailureBudget::new(
                config.pin_burst,
                Duration::from_secs(config.pin_period_secs),
                clock.clone(),
            ),
            by_profile: FailureBudget::new(
                config.pin_profile_burst,
                Duration::from_secs(config.pin_profile_period_secs),
                clock,
            ),
            checking: DashMap::new(),
        }
    }

    /// Starts a check of a PIN for `profile` sent from `ip`: `Err(wait)`
    /// while the address or the profile is locked out, or another check of
    /// the profile is in progress.
    pub fn begin(&self, profile: ProfileId, ip: Option<IpAddr>) -> Result<PinCheck<'_>, Duration> {
        let address = ClientAddress::from(ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)));
        let by_address = self.by_address.reserve((profile, address))?;
        let by_profile = self.by_profile.reserve(profile)?;
        match self.checking.entry(profile) {
            dashmap::Entry::Occupied(_) => Err(BUSY_WAIT),
            dashmap::Entry::Vacant(slot) => {
                slot.insert(());
                Ok(PinCheck {
                    _checking: Checking {
                        throttle: self,
                        profile,
                    },
                    by_address,
                    by_profile,
                })
            }
        }
    }

    /// Forgets a profile's wrong PINs (its PIN changed: they are moot).
    pub fn forget(&self, profile: ProfileId) {
        self.by_address.forget(|(p, _)| *p == profile);
        self.by_profile.forget(|p| *p == profile);
    }

    /// Forgets profiles whose limits have fully recovered (bounded memory).
    pub fn tidy(&self) {
        self.by_address.tidy();
        self.by_profile.tidy();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(burst: u32, profile_burst: u32) -> PinThrottle {
        PinThrottle::new(
            &ProfileConfig {
                pin_burst: burst,
                pin_period_secs: 3_600,
                pin_profile_burst: profile_burst,
                pin_profile_period_secs: 3_600,
            },
            std::sync::Arc::new(crate::clock::ManualClock::default()),
        )
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().expect("an address"))
    }

    #[test]
    fn a_second_check_of_a_profile_waits_for_the_first() {
        let t = throttle(5, 20);
        let kids = ProfileId::new();
        let first = t.begin(kids, None).expect("the first check starts");
        assert!(
            t.begin(kids, None).is_err(),
            "a guess sent meanwhile is refused"
        );
        assert!(
            t.begin(ProfileId::new(), None).is_ok(),
            "other profiles are free"
        );
        first.right();
        assert!(
            t.begin(kids, None).is_ok(),
            "the next check starts once it is done"
        );
    }

    #[test]
    fn wrong_pins_lock_out_the_address_then_the_profile() {
        let t = throttle(2, 3);
        let kids = ProfileId::new();
        for _ in 0..2 {
            t.begin(kids, ip("81.193.4.5")).expect("allowed").wrong();
        }
        assert!(
            t.begin(kids, ip("81.193.4.5")).is_err(),
            "even the right PIN waits"
        );
        assert!(
            t.begin(ProfileId::new(), ip("81.193.4.5")).is_ok(),
            "other profiles are free"
        );
        t.begin(kids, ip("2001:db8::1"))
            .expect("another address")
            .wrong();
        assert!(
            t.begin(kids, ip("185.15.57.3")).is_err(),
            "the profile's budget is spent"
        );
        t.forget(kids);
        assert!(
            t.begin(kids, ip("81.193.4.5")).is_ok(),
            "a new PIN starts afresh"
        );
    }
}
