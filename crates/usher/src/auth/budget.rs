//! [`FailureBudget`]: how many failures (wrong passwords, wrong PINs, and
//! later wrong TV codes) a key may have, refilling over time, on the
//! injected clock. Sign-in, password re-entry and PIN entry each keep a few,
//! keyed by what they lock out.
//!
//! A budget holds `allowance` failures and forgives one every `refill`: the
//! generic cell rate algorithm, kept as the time at which every failure
//! counted so far will have been forgiven. A key whose budget has no room
//! for one more failure is spent, and stays spent until a failure is
//! forgiven.
//!
//! Only failures count, yet a failure is known only once the secret has been
//! checked, and guesses sent at once could all be checked before the first
//! one counts. So an attempt reserves a failure before its check
//! ([`FailureBudget::reserve`]) and gives it back when it succeeds: however
//! guesses are sent, no more are checked than the budget holds, and
//! successes still never count.

use std::hash::Hash;
use std::time::Duration;

use dashmap::DashMap;

use crate::clock::SharedClock;
use crate::domain::Millis;

/// Failures per key, refilling on the injected clock.
pub struct FailureBudget<K: Hash + Eq> {
    /// How long one failure counts for.
    refill_ms: Millis,
    /// `allowance × refill_ms`: how far ahead of now the failures may reach.
    capacity_ms: Millis,
    keys: DashMap<K, Spent>,
    clock: SharedClock,
}

#[derive(Debug, Default, Clone, Copy)]
struct Spent {
    /// When every failure counted so far will have been forgiven.
    forgiven_at: Millis,
    /// The budget ran out and has not been back at half since, so running
    /// out again is not news ([`FailureBudget::count`] says so once).
    ran_out: bool,
}

impl<K: Hash + Eq + Clone> FailureBudget<K> {
    /// `allowance` failures (at least one), one forgiven every `refill`.
    pub fn new(allowance: u32, refill: Duration, clock: SharedClock) -> Self {
        let refill_ms = Millis::try_from(refill.as_millis())
            .unwrap_or(Millis::MAX)
            .max(1);
        Self {
            refill_ms,
            capacity_ms: refill_ms.saturating_mul(Millis::from(allowance.max(1))),
            keys: DashMap::new(),
            clock,
        }
    }

    /// How long `key` must wait before it may fail again; `None` while it
    /// has room for a failure.
    pub fn wait(&self, key: &K) -> Option<Duration> {
        let now = self.clock.now();
        let spent = self.keys.get(key).map(|s| *s)?;
        self.wait_at(spent, now)
    }

    /// Takes one failure in advance for an attempt about to be checked:
    /// `Err(wait)` when the key has no room for one. The reservation is
    /// given back unless [`Reserved::failed`] keeps it.
    pub fn reserve(&self, key: K) -> Result<Reserved<'_, K>, Duration> {
        let now = self.clock.now();
        let mut spent = self.keys.entry(key.clone()).or_default();
        if let Some(wait) = self.wait_at(*spent, now) {
            return Err(wait);
        }
        spent.forgiven_at = spent.forgiven_at.max(now).saturating_add(self.refill_ms);
        Ok(Reserved {
            budget: self,
            key: Some(key),
        })
    }

    /// Counts a failure that was not reserved (a budget that only watches);
    /// past the allowance it counts as the last one. True when this failure
    /// used the budget up: said once, until the budget is back at half.
    pub fn count(&self, key: K) -> bool {
        let now = self.clock.now();
        let mut spent = self.keys.entry(key).or_default();
        spent.forgiven_at = (spent.forgiven_at.max(now).saturating_add(self.refill_ms))
            .min(now.saturating_add(self.capacity_ms));
        self.note_run_out(&mut spent, now)
    }

    /// Whether the key has at least half its allowance left, forgetting
    /// that it ran out once it has: true once after a key that ran out
    /// recovers (and for keys that never ran out, false).
    pub fn recovered(&self, key: &K) -> bool {
        let now = self.clock.now();
        match self.keys.get_mut(key) {
            Some(mut spent) if spent.ran_out && self.at_most_half(*spent, now) => {
                spent.ran_out = false;
                true
            }
            _ => false,
        }
    }

    /// Forgets the keys `matches` picks, as if they had never failed (a
    /// new PIN makes the old PIN's wrong guesses moot).
    pub fn forget(&self, matches: impl Fn(&K) -> bool) {
        self.keys.retain(|key, _| !matches(key));
    }

    /// Forgets keys whose failures have all been forgiven (bounded memory).
    pub fn tidy(&self) {
        let now = self.clock.now();
        self.keys.retain(|_, spent| spent.forgiven_at > now);
        self.keys.shrink_to_fit();
    }

    fn wait_at(&self, spent: Spent, now: Millis) -> Option<Duration> {
        let ahead = spent.forgiven_at.saturating_sub(now);
        let over = ahead
            .saturating_add(self.refill_ms)
            .saturating_sub(self.capacity_ms);
        (over > 0).then(|| Duration::from_millis(over.unsigned_abs()))
    }

    fn at_most_half(&self, spent: Spent, now: Millis) -> bool {
        spent.forgiven_at.saturating_sub(now).saturating_mul(2) <= self.capacity_ms
    }

    /// True when the key is spent now and was not already known to be.
    fn note_run_out(&self, spent: &mut Spent, now: Millis) -> bool {
        if spent.ran_out && self.at_most_half(*spent, now) {
            spent.ran_out = false;
        }
        let news = !spent.ran_out && self.wait_at(*spent, now).is_some();
        spent.ran_out |= news;
        news
    }

    /// Gives a reserved failure back.
    fn give_back(&self, key: &K) {
        if let Some(mut spent) = self.keys.get_mut(key) {
            spent.forgiven_at -= self.refill_ms;
        }
    }
}

/// A failure taken in advance; given back when dropped unless
/// [`failed`](Reserved::failed) keeps it.
#[must_use = "a reservation is given back when dropped"]
pub struct Reserved<'a, K: Hash + Eq + Clone> {
    budget: &'a FailureBudget<K>,
    /// `None` once kept.
    key: Option<K>,
}

impl<K: Hash + Eq + Clone> Reserved<'_, K> {
    /// The attempt succeeded: its failure is given back.
    pub fn succeeded(self) {}

    /// The attempt failed: the failure stays counted.
    pub fn failed(mut self) {
        self.key = None;
    }
}

impl<K: Hash + Eq + Clone> Drop for Reserved<'_, K> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.budget.give_back(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;

    const MINUTE: Duration = Duration::from_secs(60);

    fn budget(allowance: u32) -> (FailureBudget<&'static str>, ManualClock) {
        let clock = ManualClock::default();
        (
            FailureBudget::new(allowance, MINUTE, Arc::new(clock.clone())),
            clock,
        )
    }

    #[test]
    fn the_allowance_is_spent_by_failures_only() {
        let (b, _clock) = budget(3);
        for _ in 0..10 {
            b.reserve("ada").expect("room").succeeded();
        }
        for _ in 0..3 {
            assert_eq!(b.wait(&"ada"), None);
            b.reserve("ada").expect("room").failed();
        }
        assert_eq!(b.wait(&"ada"), Some(MINUTE));
        assert_eq!(b.reserve("ada").err(), Some(MINUTE));
        assert!(b.reserve("bea").is_ok(), "keys are separate");
    }

    #[test]
    fn one_failure_is_forgiven_every_refill() {
        let (b, clock) = budget(2);
        for _ in 0..2 {
            b.reserve("ada").expect("room").failed();
        }
        clock.advance(Duration::from_secs(59));
        assert_eq!(b.wait(&"ada"), Some(Duration::from_secs(1)));
        clock.advance(Duration::from_secs(1));
        b.reserve("ada").expect("one forgiven").failed();
        assert!(b.reserve("ada").is_err(), "and only one");
    }

    #[test]
    fn attempts_in_flight_hold_their_failure_until_they_end() {
        let (b, _clock) = budget(2);
        let first = b.reserve("ada").expect("room");
        let second = b.reserve("ada").expect("room");
        assert!(b.reserve("ada").is_err(), "two checks already under way");
        drop(first);
        let third = b.reserve("ada").expect("the first gave its failure back");
        second.failed();
        third.failed();
        assert!(b.reserve("ada").is_err(), "both failures count");
    }

    #[test]
    fn running_out_is_news_once_until_back_at_half() {
        let (b, clock) = budget(4);
        let news: Vec<bool> = (0..6).map(|_| b.count("all")).collect();
        assert_eq!(news, [false, false, false, true, false, false]);
        assert!(!b.recovered(&"all"), "still spent");
        clock.advance(MINUTE);
        assert!(!b.recovered(&"all"), "three of four still count");
        clock.advance(MINUTE);
        assert!(b.recovered(&"all"), "back at half");
        assert!(!b.recovered(&"all"), "said once");
        assert!(!b.count("all"));
        assert!(b.count("all"), "news again");
    }

    #[test]
    fn forgotten_and_forgiven_keys_start_afresh() {
        let (b, clock) = budget(1);
        b.reserve("ada").expect("room").failed();
        b.reserve("bea").expect("room").failed();
        b.forget(|k| *k == "ada");
        assert_eq!(b.wait(&"ada"), None);
        clock.advance(MINUTE);
        b.tidy();
        assert!(b.keys.is_empty(), "every failure forgiven: nothing kept");
    }
}
