//! The status LED: steady when healthy, blinking when degraded, fast blinking on a fault.
//!
//! [`LedPattern::is_on`] is a pure function of time so patterns are tested without sleeping;
//! [`StatusLed`] applies it to an output line. Never decides the health itself.

use std::time::{Duration, Instant};

use super::gpio::OutputLine;
use super::health::HealthLevel;

/// What the LED shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedPattern {
    Off,
    /// Lit all the time: all is well.
    Steady,
    /// 1 Hz, half on: degraded (works, but something needs attention).
    Blink,
    /// 5 Hz, half on: fault (a technician is needed).
    Fast,
}

impl LedPattern {
    pub fn for_health(level: HealthLevel) -> LedPattern {
        match level {
            HealthLevel::Ok => LedPattern::Steady,
            HealthLevel::Degraded => LedPattern::Blink,
            HealthLevel::Fault => LedPattern::Fast,
        }
    }

    /// Half period of the blink, if it blinks.
    pub fn half_period(self) -> Option<Duration> {
        match self {
            LedPattern::Blink => Some(Duration::from_millis(500)),
            LedPattern::Fast => Some(Duration::from_millis(100)),
            _ => None,
        }
    }

    /// Whether the LED is lit `elapsed` after the pattern started (starts lit).
    pub fn is_on(self, elapsed: Duration) -> bool {
        match self {
            LedPattern::Off => false,
            LedPattern::Steady => true,
            p => {
                let half = p.half_period().map_or(1, |h| h.as_millis());
                (elapsed.as_millis() / half).is_multiple_of(2)
            }
        }
    }
}

/// An LED on an output line, with its polarity.
pub struct StatusLed {
    line: Box<dyn OutputLine>,
    active_high: bool,
    pattern: LedPattern,
    since: Instant,
    lit: Option<bool>,
}

impl StatusLed {
    pub fn new(line: Box<dyn OutputLine>, active_high: bool, now: Instant) -> StatusLed {
        let mut led = StatusLed {
            line,
            active_high,
            pattern: LedPattern::Off,
            since: now,
            lit: None,
        };
        led.tick(now);
        led
    }

    /// Change the pattern (restarts its phase only when it changes).
    pub fn set_pattern(&mut self, pattern: LedPattern, now: Instant) {
        if pattern != self.pattern {
            self.pattern = pattern;
            self.since = now;
        }
        self.tick(now);
    }

    pub fn pattern(&self) -> LedPattern {
        self.pattern
    }

    /// Bring the line to what the pattern says now; writes only on change.
    pub fn tick(&mut self, now: Instant) {
        let on = self
            .pattern
            .is_on(now.saturating_duration_since(self.since));
        if self.lit != Some(on) {
            self.line.set(on == self.active_high);
            self.lit = Some(on);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::clock::{Clock, MockClock};
    use crate::device::gpio::{FakeGpio, Gpio};

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn patterns_over_time() {
        let at = |p: LedPattern| -> Vec<bool> {
            [0, 99, 100, 199, 200, 499, 500, 999, 1000]
                .iter()
                .map(|t| p.is_on(ms(*t)))
                .collect()
        };
        assert_eq!(at(LedPattern::Steady), vec![true; 9]);
        assert_eq!(at(LedPattern::Off), vec![false; 9]);
        assert_eq!(
            at(LedPattern::Blink),
            vec![true, true, true, true, true, true, false, false, true]
        );
        assert_eq!(
            at(LedPattern::Fast),
            vec![true, true, false, false, true, true, false, false, true]
        );
        assert_eq!(
            LedPattern::for_health(HealthLevel::Degraded),
            LedPattern::Blink
        );
    }

    #[test]
    fn led_follows_health_with_polarity_and_writes_only_changes() {
        let gpio = FakeGpio::new();
        let clock = MockClock::default();
        let mut led = StatusLed::new(gpio.output(22).unwrap(), false, clock.now());
        led.set_pattern(LedPattern::Steady, clock.now());
        led.set_pattern(LedPattern::Steady, clock.now());
        // active low: lit = pin low
        assert_eq!(gpio.output_level(22), Some(false));
        led.set_pattern(LedPattern::Fast, clock.now());
        for _ in 0..4 {
            clock.advance(ms(100));
            led.tick(clock.now());
        }
        // initial low (output()), off (high), on (low), off, on, off, on
        assert_eq!(
            gpio.output_history(22),
            vec![false, true, false, true, false, true, false]
        );
    }
}
