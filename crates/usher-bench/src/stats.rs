//! Latency samples and their percentiles.
//!
//! Every sample is kept and sorted once at the end. The runs are bounded
//! (at most a few million requests, 8 bytes each), so this costs a few MB and
//! gives exact percentiles and an exact maximum with no extra dependency;
//! recording is a `Vec::push`, cheap enough not to disturb the load loop.

use std::fmt;
use std::time::Duration;

#[derive(Default, Clone)]
pub struct Latencies {
    nanos: Vec<u64>,
}

impl Latencies {
    pub fn with_capacity(n: usize) -> Self {
        Self {
            nanos: Vec::with_capacity(n),
        }
    }

    pub fn record(&mut self, d: Duration) {
        self.nanos.push(d.as_nanos() as u64);
    }

    pub fn merge(&mut self, other: Latencies) {
        self.nanos.extend(other.nanos);
    }

    /// How many samples exceed `limit`.
    pub fn count_above(&self, limit: Duration) -> usize {
        let limit = limit.as_nanos() as u64;
        self.nanos.iter().filter(|&&n| n > limit).count()
    }

    pub fn summary(mut self) -> Summary {
        self.nanos.sort_unstable();
        let n = self.nanos.len();
        // Nearest-rank percentile: the smallest sample with at least q of
        // all samples at or below it.
        let at = |q: f64| -> Duration {
            if n == 0 {
                return Duration::ZERO;
            }
            let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
            Duration::from_nanos(self.nanos[rank - 1])
        };
        let mean = if n == 0 {
            Duration::ZERO
        } else {
            Duration::from_nanos(
                (self.nanos.iter().map(|&x| x as u128).sum::<u128>() / n as u128) as u64,
            )
        };
        Summary {
            count: n,
            mean,
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            p999: at(0.999),
            max: at(1.0),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub count: usize,
    pub mean: Duration,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub p999: Duration,
    pub max: Duration,
}

/// Milliseconds with enough digits for sub-millisecond figures.
pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 {
        format!("{ms:.3} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "p50 {}, p90 {}, p99 {}, p99.9 {}, max {}, mean {} (n={})",
            ms(self.p50),
            ms(self.p90),
            ms(self.p99),
            ms(self.p999),
            ms(self.max),
            ms(self.mean),
            self.count
        )
    }
}
