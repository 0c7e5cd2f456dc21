//! Time as the domain sees it. Tests drive a [`ManualClock`] instead of sleeping.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::watch;

use crate::domain::Millis;

/// A wait on a [`Clock`]: resolves once the clock reads the time waited for.
pub type Sleep = BoxFuture<'static, ()>;

/// The source of the time, injected so tests can move it (object-safe: used
/// as [`SharedClock`]).
pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since the Unix epoch.
    fn now(&self) -> Millis;

    /// Resolves once [`now`](Clock::now) is at or past `at`; at once if it is already.
    fn sleep_until(&self, at: Millis) -> Sleep;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        chrono::Utc::now().timestamp_millis()
    }

    fn sleep_until(&self, at: Millis) -> Sleep {
        match u64::try_from(at.saturating_sub(self.now())) {
            Ok(remaining) if remaining > 0 => {
                Box::pin(tokio::time::sleep(Duration::from_millis(remaining)))
            }
            _ => Box::pin(std::future::ready(())),
        }
    }
}

/// What a [`ManualClock`] publishes: its time and who waits on it, in one
/// value so that "asleep" and "due" are judged against the same time.
#[derive(Debug, Default)]
struct ManualState {
    now: Millis,
    /// The time each pending [`Clock::sleep_until`] waits for.
    sleepers: Vec<Millis>,
}

impl ManualState {
    /// The times sleepers wait for that the clock has not reached. Sleepers
    /// already passed but not yet run are left out, so a test's loop of
    /// "await a sleeper, advance" never spins on one it has already woken.
    fn waiting(&self) -> impl Iterator<Item = Millis> + '_ {
        self.sleepers.iter().copied().filter(|&at| at > self.now)
    }
}

/// A clock that moves only when told to; starts at the wall-clock time.
///
/// Its sleepers wake when [`advance`](ManualClock::advance) moves it past
/// their time, and a test can await [`next_sleeper`](ManualClock::next_sleeper)
/// to move the clock exactly when the code under test waits for time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<watch::Sender<ManualState>>);

impl Default for ManualClock {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(ManualState {
            now: SystemClock.now(),
            sleepers: Vec::new(),
        })))
    }
}

impl ManualClock {
    /// Moves the clock forward by `by`, waking the sleepers it passes.
    pub fn advance(&self, by: Duration) {
        let by = Millis::try_from(by.as_millis()).unwrap_or(Millis::MAX);
        self.0
            .send_modify(|state| state.now = state.now.saturating_add(by));
    }

    /// Moves the clock forward to `at` (never back), waking the sleepers it passes.
    pub fn advance_to(&self, at: Millis) {
        self.0.send_modify(|state| state.now = state.now.max(at));
    }

    /// How many tasks wait on this clock for a time it has not reached.
    pub fn sleepers(&self) -> usize {
        self.0.borrow().waiting().count()
    }

    /// Waits until at least `count` tasks wait on this clock for a time it
    /// has not reached.
    pub async fn until_sleepers(&self, count: usize) {
        let mut state = self.0.subscribe();
        // The sender lives in `self`: the channel cannot close while we wait.
        let _ = state
            .wait_for(|state| state.waiting().count() >= count)
            .await;
    }

    /// Waits until some task sleeps on this clock, and returns the earliest
    /// time a sleeper waits for.
    pub async fn next_sleeper(&self) -> Millis {
        let mut state = self.0.subscribe();
        let state = state
            .wait_for(|state| state.waiting().next().is_some())
            .await
            .expect("the sender lives in the clock, which outlives this wait");
        state.waiting().min().expect("the condition waited for")
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        self.0.borrow().now
    }

    fn sleep_until(&self, at: Millis) -> Sleep {
        let clock = Arc::clone(&self.0);
        Box::pin(async move {
            let mut time = clock.subscribe();
            if time.borrow().now >= at {
                return;
            }
            // Counted only while actually waiting, and uncounted when the
            // wait ends or is dropped (a `select!` that took another branch).
            let _sleeping = Sleeper::register(&clock, at);
            // The sender lives in `clock`, held here: it cannot close.
            let _ = time.wait_for(|state| state.now >= at).await;
        })
    }
}

/// One pending sleep on a [`ManualClock`], listed while it lives.
struct Sleeper {
    clock: Arc<watch::Sender<ManualState>>,
    at: Millis,
}

impl Sleeper {
    fn register(clock: &Arc<watch::Sender<ManualState>>, at: Millis) -> Self {
        clock.send_modify(|state| state.sleepers.push(at));
        Self {
            clock: Arc::clone(clock),
            at,
        }
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let at = self.at;
        self.clock.send_modify(|state| {
            if let Some(i) = state.sleepers.iter().position(|&t| t == at) {
                state.sleepers.swap_remove(i);
            }
        });
    }
}

/// The clock every service holds.
pub type SharedClock = Arc<dyn Clock>;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sleeper_wakes_when_the_clock_passes_its_time() {
        let clock = ManualClock::default();
        let at = clock.now() + 1_000;
        let sleeping = tokio::spawn(clock.sleep_until(at));

        assert_eq!(clock.next_sleeper().await, at);
        assert_eq!(clock.sleepers(), 1);
        clock.advance(Duration::from_millis(999));
        assert_eq!(clock.next_sleeper().await, at, "not yet due");
        clock.advance(Duration::from_millis(1));

        sleeping.await.expect("the sleeper wakes");
        assert_eq!(clock.sleepers(), 0);
    }

    #[tokio::test]
    async fn a_sleep_already_due_returns_at_once_and_is_not_counted() {
        let clock = ManualClock::default();
        clock.sleep_until(clock.now()).await;
        assert_eq!(clock.sleepers(), 0);
    }

    #[tokio::test]
    async fn a_dropped_sleep_is_no_longer_counted() {
        let clock = ManualClock::default();
        let far = clock.now() + 60_000;
        let near = clock.now() + 10;
        let far_sleep = tokio::spawn(clock.sleep_until(far));
        let _near_sleep = tokio::spawn(clock.sleep_until(near));
        clock.until_sleepers(2).await;
        assert_eq!(clock.next_sleeper().await, near, "the earliest first");

        far_sleep.abort();
        let _ = far_sleep.await;
        assert_eq!(clock.sleepers(), 1);
        clock.advance_to(near);
        assert_eq!(clock.sleepers(), 0);
    }

    #[tokio::test]
    async fn the_system_clock_waits_only_for_times_to_come() {
        use futures_util::FutureExt;

        let later = SystemClock.sleep_until(SystemClock.now() + 60_000);
        assert!(later.now_or_never().is_none(), "a minute ahead is not due");
        let past = SystemClock.sleep_until(SystemClock.now() - 1);
        assert!(past.now_or_never().is_some(), "the past is due at once");
    }
}
