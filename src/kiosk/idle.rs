//! Idle handling: back to home after `idle_home_secs` without a touch, the dim attract screen
//! after `attract_after_secs`, awake again on the next touch.
//!
//! Time comes from a [`Clock`] so tests drive it with [`MockClock`]; the wiring calls
//! [`IdleTimer::tick`] from a UI timer and [`IdleTimer::touched`] on every touch.

use std::time::{Duration, Instant};

pub use crate::clock::{Clock, MockClock, SystemClock};

/// What the kiosk must do after a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleAction {
    Nothing,
    /// Reset to home (and the configured language), once per idle period.
    GoHome,
    /// Show the attract screen, once per idle period.
    Attract,
}

#[derive(Debug, Clone)]
pub struct IdleTimer {
    home_after: Duration,
    attract_after: Duration,
    last_touch: Instant,
    went_home: bool,
    attracting: bool,
}

impl IdleTimer {
    pub fn new(home_after: Duration, attract_after: Duration, now: Instant) -> IdleTimer {
        IdleTimer {
            home_after,
            attract_after: attract_after.max(home_after),
            last_touch: now,
            went_home: false,
            attracting: false,
        }
    }

    /// A touch: restart the idle period. Returns true when this touch woke the attract
    /// screen (the touch is then consumed by waking).
    pub fn touched(&mut self, now: Instant) -> bool {
        self.last_touch = now;
        self.went_home = false;
        std::mem::take(&mut self.attracting)
    }

    /// How long since the last touch.
    pub fn idle_for(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.last_touch)
    }

    pub fn is_attracting(&self) -> bool {
        self.attracting
    }

    pub fn tick(&mut self, now: Instant) -> IdleAction {
        let idle = now.saturating_duration_since(self.last_touch);
        if idle >= self.attract_after && !self.attracting {
            self.attracting = true;
            self.went_home = true;
            return IdleAction::Attract;
        }
        if idle >= self.home_after && !self.went_home {
            self.went_home = true;
            return IdleAction::GoHome;
        }
        IdleAction::Nothing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_then_attract_then_wake() {
        let clock = MockClock::default();
        let mut idle = IdleTimer::new(
            Duration::from_secs(90),
            Duration::from_secs(300),
            clock.now(),
        );
        clock.advance(Duration::from_secs(89));
        assert_eq!(idle.tick(clock.now()), IdleAction::Nothing);
        clock.advance(Duration::from_secs(1));
        assert_eq!(idle.tick(clock.now()), IdleAction::GoHome);
        clock.advance(Duration::from_secs(1));
        assert_eq!(idle.tick(clock.now()), IdleAction::Nothing, "only once");
        clock.advance(Duration::from_secs(209));
        assert_eq!(idle.tick(clock.now()), IdleAction::Attract);
        assert!(idle.is_attracting());
        assert_eq!(idle.tick(clock.now()), IdleAction::Nothing);
        assert!(idle.touched(clock.now()), "the touch wakes");
        assert!(!idle.touched(clock.now()));
        clock.advance(Duration::from_secs(60));
        assert_eq!(idle.tick(clock.now()), IdleAction::Nothing);
    }

    #[test]
    fn a_touch_restarts_the_period() {
        let clock = MockClock::default();
        let mut idle = IdleTimer::new(
            Duration::from_secs(10),
            Duration::from_secs(20),
            clock.now(),
        );
        clock.advance(Duration::from_secs(9));
        idle.touched(clock.now());
        clock.advance(Duration::from_secs(9));
        assert_eq!(idle.tick(clock.now()), IdleAction::Nothing);
        clock.advance(Duration::from_secs(1));
        assert_eq!(idle.tick(clock.now()), IdleAction::GoHome);
    }
}
