//! Brute-force protection on the account password: every sign-in and every
//! re-entry of the password on a signed-in device. The rules, after OWASP's
//! "device cookie" scheme:
//!
//! - Every attempt, right or wrong, counts against its client address
//!   (IPv6: its /64), whatever the account: a generous limit that keeps one
//!   address from spraying many accounts. Only clients without a proof are
//!   refused by it: a guest on the household's network (or a carrier NAT)
//!   who spends the address cannot hold back the household's own devices,
//!   which are limited by their own lockout instead.
//! - Wrong passwords lock out a client for the account: a client that
//!   carries proof of an earlier successful sign-in (a device proof, or the
//!   signed-in session re-entering its password) is that proof; any other is
//!   its address. A stranger's guesses lock out the stranger, not the owner.
//! - Wrong passwords from clients without a proof also share a budget per
//!   account, across addresses, too large for one address to spend; beyond
//!   it only clients with a proof may try.
//! - Wrong passwords on this node, for all accounts, share a global budget;
//!   beyond it only clients with a proof may try. Running out and
//!   recovering are logged, once each.
//! - Successes never count against a failure budget.
//!
//! Limits are per node; with N nodes an attacker gets N times each budget.
//! Counters: `usher_sign_in_attempts_total{outcome}` (success, failure,
//! throttled) and `usher_sign_in_throttled_total{reason}` (address, client,
//! account, global).

use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

use super::budget::{FailureBudget, Reserved};
use crate::clock::SharedClock;
use crate::config::ThrottleConfig;
use crate::domain::{ClientAddress, Email, SessionId};
use crate::telemetry::series::{self, label_enum, Counters};

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

pub(crate) fn quota(burst: u32, period: Duration) -> Quota {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(period.max(Duration::from_millis(1)))
        .expect("period is positive")
        .allow_burst(burst)
}

/// Proof that a client signed in to the account before.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Proof {
    /// A device proof handed out at an earlier sign-in (its hash), checked
    /// to belong to the account.
    Device(String),
    /// A signed-in session of the account, re-entering the password.
    Session(SessionId),
}

label_enum! {
    /// Which limit refused an attempt, for `usher_sign_in_throttled_total`.
    pub enum ThrottleReason, key "reason" {
        /// Too many attempts from the client's address.
        Address => "address",
        /// Too many wrong passwords from this client for this account.
        Client => "client",
        /// Too many wrong passwords for this account from clients without a proof.
        Account => "account",
        /// Too many wrong passwords on this node.
        Global => "global",
    }
}

label_enum! {
    /// How an attempt ended, for `usher_sign_in_attempts_total`.
    enum Attempt, key "outcome" {
        Success => "success",
        Failure => "failure",
        Throttled => "throttled",
    }
}

/// The throttle's counters.
struct Counted {
    attempts: Counters<Attempt>,
    throttled: Counters<ThrottleReason>,
}

impl Counted {
    /// Counts a refusal.
    fn refused(&self, reason: ThrottleReason, retry_after: Duration) -> Throttled {
        self.attempts.increment(Attempt::Throttled);
        self.throttled.increment(reason);
        Throttled {
            reason,
            retry_after,
        }
    }
}

/// An attempt refused before its password was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub reason: ThrottleReason,
    pub retry_after: Duration,
}

/// Whom wrong passwords lock out.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Client {
    Address(ClientAddress),
    Proof(Proof),
}

pub struct SignInThrottle {
    by_address: KeyedLimiter<ClientAddress>,
    by_client: FailureBudget<(String, Client)>,
    by_account: FailureBudget<String>,
    global: FailureBudget<()>,
    counted: Counted,
}

/// An attempt its address may make, for an account not yet judged.
#[must_use = "an attempt is judged for its account before its password is checked"]
pub struct Admitted<'a> {
    throttle: &'a SignInThrottle,
    address: ClientAddress,
}

impl<'a> Admitted<'a> {
    /// Judges the attempt for the account of `email` (as typed at sign-in:
    /// unknown emails count too, so the limits say nothing about which
    /// accounts exist), by a client with `proof` of an earlier sign-in or
    /// none: its password may be checked now, or it is refused.
    pub fn attempt(self, email: &Email, proof: Option<Proof>) -> Result<Pending<'a>, Throttled> {
        let t = self.throttle;
        let email = email.as_str().to_owned();
        let counted = &t.counted;
        let refuse = |reason| move |wait| counted.refused(reason, wait);
        let by_address = t.by_address.check_key(&self.address);
        let Some(proof) = proof else {
            if let Err(not_until) = by_address {
                let wait = not_until.wait_time_from(t.by_address.clock().now());
                return Err(counted.refused(ThrottleReason::Address, wait));
            }
            // Checked first, so that a refusal leaves nothing behind.
            if let Some(wait) = t.global.wait(&()) {
                return Err(counted.refused(ThrottleReason::Global, wait));
            }
            let client = t
                .by_client
                .reserve((email.clone(), Client::Address(self.address)))
                .map_err(refuse(ThrottleReason::Client))?;
            let account = t
                .by_account
                .reserve(email)
                .map_err(refuse(ThrottleReason::Account))?;
            return Ok(Pending {
                counted,
                global: &t.global,
                client,
                account: Some(account),
            });
        };
        let client = t
            .by_client
            .reserve((email, Client::Proof(proof)))
            .map_err(refuse(ThrottleReason::Client))?;
        Ok(Pending {
            counted,
            global: &t.global,
            client,
            account: None,
        })
    }
}

/// An admitted attempt whose password is being checked. Say how it ended;
/// dropped unsaid (the check failed to run), it counts as nothing.
#[must_use = "say whether the password was right"]
pub struct Pending<'a> {
    counted: &'a Counted,
    global: &'a FailureBudget<()>,
    client: Reserved<'a, (String, Client)>,
    account: Option<Reserved<'a, String>>,
}

impl SignInThrottle {
    /// Limits on `clock`, the service's injected clock.
    pub fn new(config: &ThrottleConfig, clock: SharedClock) -> Self {
        fn budget<K: std::hash::Hash + Eq + Clone>(
            burst: u32,
            period: Duration,
            clock: &SharedClock,
        ) -> FailureBudget<K> {
            FailureBudget::new(burst, period, clock.clone())
        }
        Self {
            by_address: RateLimiter::dashmap_with_clock(
                quota(
                    config.address_burst,
                    Duration::from_millis(config.address_period_ms),
                ),
                ThrottleClock(clock.clone()),
            ),
            by_client: budget(
                config.client_failure_burst,
                Duration::from_secs(config.client_failure_period_secs),
                &clock,
            ),
            by_account: budget(
                config.account_failure_burst,
                Duration::from_secs(config.account_failure_period_secs),
                &clock,
            ),
            global: budget(
                config.global_failure_burst,
                Duration::from_millis(config.global_failure_period_ms),
                &clock,
            ),
            counted: Counted {
                attempts: Counters::register(series::SIGN_IN_ATTEMPTS),
                throttled: Counters::register(series::SIGN_IN_THROTTLED),
            },
        }
    }

    /// An attempt from `ip`: the first step of every attempt, before
    /// anything is looked up.
    pub fn begin(&self, ip: Option<IpAddr>) -> Admitted<'_> {
        self.note_recovery();
        Admitted {
            throttle: self,
            address: ClientAddress::from(ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))),
        }
    }

    /// Logs the global budget's recovery, once.
    fn note_recovery(&self) {
        if self.global.recovered(&()) {
            tracing::info!(
                "wrong passwords on this node are back within the global budget: every client may try again"
            );
        }
    }

    /// Forgets keys whose limits have fully recovered (bounded memory).
    pub fn tidy(&self) {
        self.note_recovery();
        self.by_address.retain_recent();
        self.by_address.shrink_to_fit();
        self.by_client.tidy();
        self.by_account.tidy();
        self.global.tidy();
    }
}

impl Pending<'_> {
    /// The password was right: nothing counts against a failure budget.
    pub fn succeeded(self) {
        self.counted.attempts.increment(Attempt::Success);
    }

    /// The password was wrong (or the account does not exist).
    pub fn failed(self) {
        self.counted.attempts.increment(Attempt::Failure);
        self.client.failed();
        if let Some(account) = self.account {
            account.failed();
        }
        if self.global.count(()) {
            tracing::warn!(
                "wrong passwords on this node are beyond the global budget: only clients with a device proof or a session may try until it recovers"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    use super::*;
    use crate::clock::ManualClock;

    fn throttle() -> SignInThrottle {
        let config = ThrottleConfig {
            address_burst: 100,
            address_period_ms: 1_000,
            client_failure_burst: 2,
            client_failure_period_secs: 3_600,
            account_failure_burst: 3,
            account_failure_period_secs: 3_600,
            global_failure_burst: 5,
            global_failure_period_ms: 3_600_000,
            device_proof_days: 365,
        };
        SignInThrottle::new(&config, Arc::new(ManualClock::default()))
    }

    fn attempt<'a>(
        t: &'a SignInThrottle,
        email: &Email,
        ip: &str,
        proof: Option<Proof>,
    ) -> Result<Pending<'a>, Throttled> {
        t.begin(Some(ip.parse().expect("an address")))
            .attempt(email, proof)
    }

    fn reason(outcome: Result<Pending<'_>, Throttled>) -> Option<ThrottleReason> {
        outcome.err().map(|t| t.reason)
    }

    #[test]
    fn wrong_passwords_lock_out_their_client_then_the_clients_without_proof() {
        let t = throttle();
        let ada = Email::parse("ada@example.com").expect("an email");
        let device = || Some(Proof::Device("hash of ada's TV proof".into()));
        for _ in 0..2 {
            attempt(&t, &ada, "81.193.4.5", None)
                .expect("admitted")
                .failed();
        }
        let from_a = attempt(&t, &ada, "81.193.4.5", None);
        assert_eq!(reason(from_a), Some(ThrottleReason::Client));
        assert_eq!(
            reason(attempt(&t, &ada, "2001:db8:1:2::7", None)),
            None,
            "another address may still try"
        );
        attempt(&t, &ada, "2001:db8:1:2::8", None)
            .expect("admitted")
            .failed();
        // Three failures without proof: the account's budget is spent.
        assert_eq!(
            reason(attempt(&t, &ada, "185.15.57.3", None)),
            Some(ThrottleReason::Account)
        );
        assert_eq!(
            reason(attempt(&t, &ada, "81.193.4.5", device())),
            None,
            "a device proof is let through, even from the first address"
        );
    }

    #[test]
    fn successes_count_against_no_failure_budget() {
        let t = throttle();
        let ada = Email::parse("ada@example.com").expect("an email");
        for _ in 0..20 {
            attempt(&t, &ada, "81.193.4.5", None)
                .expect("admitted")
                .succeeded();
        }
    }

    #[test]
    fn the_global_budget_refuses_clients_without_proof_and_is_counted() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            let t = throttle();
            for n in 0..5 {
                let email = Email::parse(&format!("victim{n}@example.com")).expect("an email");
                attempt(&t, &email, &format!("10.0.0.{n}"), None)
                    .expect("admitted")
                    .failed();
            }
            let bea = Email::parse("bea@example.com").expect("an email");
            assert_eq!(
                reason(attempt(&t, &bea, "10.0.1.1", None)),
                Some(ThrottleReason::Global)
            );
            let session = Some(Proof::Session(SessionId::new()));
            attempt(&t, &bea, "10.0.1.1", session)
                .expect("a session may still re-enter its password")
                .succeeded();
        });
        let counters: Vec<(String, Vec<String>, u64)> = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .filter_map(|(key, _, _, value)| match value {
                DebugValue::Counter(n) => {
                    let key = key.key();
                    let labels = key.labels().map(|l| format!("{}={}", l.key(), l.value()));
                    Some((key.name().to_owned(), labels.collect(), n))
                }
                _ => None,
            })
            .collect();
        let count = |name: &str, label: &str| {
            counters
                .iter()
                .find(|(n, labels, _)| n == name && labels.iter().any(|l| l == label))
                .map_or(0, |(_, _, n)| *n)
        };
        let (attempts, throttled) = (series::SIGN_IN_ATTEMPTS, series::SIGN_IN_THROTTLED);
        assert_eq!(count(attempts, "outcome=failure"), 5);
        assert_eq!(count(attempts, "outcome=throttled"), 1);
        assert_eq!(count(attempts, "outcome=success"), 1);
        assert_eq!(count(throttled, "reason=global"), 1);
    }
}
