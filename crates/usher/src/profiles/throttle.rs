//! Wrong-PIN throttling, with the sign-in rules (`auth::throttle`) on
//! [`FailureBudget`]s. A PIN is always entered on a signed-in device, so
//! that device's session is the client, as when re-entering the password:
//! wrong PINs lock out the (profile, session) pair, so a child guessing on
//! the tablet never holds up the parent's TV behind the same router, and
//! all wrong PINs for a profile share a larger budget, beyond which the
//! profile takes no PIN until one is forgiven. Only wrong PINs count: a
//! child entering the right PIN ten times an evening is never held up.
//! Limits are per node: N nodes give an attacker N times each budget.
//!
//! Each check reserves its failure before the PIN is verified (see
//! `auth::budget`), and one PIN check per profile runs at a time on a node;
//! a guess arriving meanwhile is answered 429 at once, so the allowance
//! holds however guesses are sent.

use std::time::Duration;

use dashmap::DashMap;

use crate::auth::budget::{FailureBudget, Reserved};
use crate::clock::SharedClock;
use crate::config::ProfileConfig;
use crate::domain::{ProfileId, SessionId};

pub struct PinThrottle {
    by_device: FailureBudget<(ProfileId, SessionId)>,
    by_profile: FailureBudget<ProfileId>,
    checking: DashMap<ProfileId, ()>,
}

/// A PIN check in progress: say whether the PIN was right. The profile is
/// free for the next check when it is dropped.
#[must_use = "say whether the PIN was right"]
pub struct PinCheck<'a> {
    _checking: Checking<'a>,
    by_device: Reserved<'a, (ProfileId, SessionId)>,
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

    /// The PIN was wrong: it counts for the device and the profile.
    pub fn wrong(self) {
        self.by_device.failed();
        self.by_profile.failed();
    }
}

/// How long a guess that found another check in progress is told to wait.
const BUSY_WAIT: Duration = Duration::from_secs(1);

impl PinThrottle {
    /// Limits on `clock`, the service's injected clock.
    pub fn new(config: &ProfileConfig, clock: SharedClock) -> Self {
        Self {
            by_device: FailureBudget::new(
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

    /// Starts a check of a PIN for `profile` entered on the device of
    /// `session`: `Err(wait)` while that device or the profile is locked
    /// out, or another check of the profile is in progress.
    pub fn begin(&self, profile: ProfileId, session: SessionId) -> Result<PinCheck<'_>, Duration> {
        let by_device = self.by_device.reserve((profile, session))?;
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
                    by_device,
                    by_profile,
                })
            }
        }
    }

    /// Forgets a profile's wrong PINs (its PIN changed: they are moot).
    pub fn forget(&self, profile: ProfileId) {
        self.by_device.forget(|(p, _)| *p == profile);
        self.by_profile.forget(|p| *p == profile);
    }

    /// Forgets profiles whose limits have fully recovered (bounded memory).
    pub fn tidy(&self) {
        self.by_device.tidy();
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

    /// The session of one device, by name, stable within a test.
    fn device(name: &str) -> SessionId {
        use std::collections::HashMap;
        use std::sync::{Mutex, OnceLock};
        static DEVICES: OnceLock<Mutex<HashMap<String, SessionId>>> = OnceLock::new();
        *DEVICES
            .get_or_init(Default::default)
            .lock()
            .expect("not poisoned")
            .entry(name.to_owned())
            .or_default()
    }

    #[test]
    fn a_second_check_of_a_profile_waits_for_the_first() {
        let t = throttle(5, 20);
        let kids = ProfileId::new();
        let first = t.begin(kids, device("tv")).expect("the first check starts");
        assert!(
            t.begin(kids, device("tv")).is_err(),
            "a guess sent meanwhile is refused"
        );
        assert!(
            t.begin(ProfileId::new(), device("tv")).is_ok(),
            "other profiles are free"
        );
        first.right();
        assert!(
            t.begin(kids, device("tv")).is_ok(),
            "the next check starts once it is done"
        );
    }

    #[test]
    fn wrong_pins_lock_out_the_device_then_the_profile() {
        let t = throttle(2, 3);
        let kids = ProfileId::new();
        for _ in 0..2 {
            t.begin(kids, device("tablet")).expect("allowed").wrong();
        }
        assert!(
            t.begin(kids, device("tablet")).is_err(),
            "even the right PIN waits"
        );
        assert!(
            t.begin(ProfileId::new(), device("tablet")).is_ok(),
            "other profiles are free"
        );
        t.begin(kids, device("phone"))
            .expect("another device")
            .wrong();
        assert!(
            t.begin(kids, device("tv")).is_err(),
            "the profile's budget is spent"
        );
        t.forget(kids);
        assert!(
            t.begin(kids, device("tablet")).is_ok(),
            "a new PIN starts afresh"
        );
    }
}
