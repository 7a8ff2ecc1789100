//! When to try again: the poll interval with jitter when all is well, and exponential backoff
//! `min(interval, max, base·2ⁿ)` after the n-th consecutive transient failure. Permanent
//! failures wait the full interval (retrying sooner cannot help). Pure arithmetic.

use std::time::Duration;

/// The timing of one sync loop.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub interval: Duration,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Fraction of the delay added or removed at random (0.1 = ±10 %); 0 in tests.
    pub jitter: f64,
}

impl Schedule {
    /// The delay before the next attempt after `failures` consecutive failures (0 = success).
    /// `unit` is a random number in [0, 1).
    pub fn next_delay(&self, failures: u32, permanent: bool, unit: f64) -> Duration {
        let base = if failures == 0 || permanent {
            self.interval
        } else {
            let exp = failures.saturating_sub(1).min(30);
            let backoff = self.backoff_base.saturating_mul(1u32 << exp);
            backoff.min(self.backoff_max).min(self.interval)
        };
        let factor = 1.0 + self.jitter * (2.0 * unit - 1.0);
        base.mul_f64(factor.max(0.0))
    }
}

/// A small random source for jitter (xorshift, seeded from the OS).
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Default for Jitter {
    fn default() -> Self {
        let mut seed = [0u8; 8];
        let _ = getrandom::fill(&mut seed);
        Jitter(u64::from_le_bytes(seed) | 1)
    }
}

impl Jitter {
    /// A number in [0, 1).
    pub fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_interval() {
        let s = Schedule {
            interval: Duration::from_secs(60),
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(300),
            jitter: 0.0,
        };
        let d = |n| s.next_delay(n, false, 0.5).as_secs();
        assert_eq!(
            [d(0), d(1), d(2), d(3), d(4), d(5), d(40)],
            [60, 5, 10, 20, 40, 60, 60]
        );
        assert_eq!(s.next_delay(1, true, 0.5).as_secs(), 60);
    }

    #[test]
    fn jitter_stays_within_its_fraction() {
        let s = Schedule {
            interval: Duration::from_secs(100),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(100),
            jitter: 0.1,
        };
        let mut j = Jitter::default();
        for _ in 0..1000 {
            let d = s.next_delay(0, false, j.unit()).as_secs_f64();
            assert!((90.0..=110.0).contains(&d), "{d}");
        }
    }
}
