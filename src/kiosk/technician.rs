//! The way into the kiosk's technician screen: a hidden gesture (five taps on the status line
//! within three seconds), then the PIN from `[kiosk] technician_pin_hash`, with a lockout that
//! grows after repeated wrong PINs. Also when the screen opens by itself: a provisioning error
//! exists, or provisioning was applied during this boot (the technician is standing there).
//!
//! Plain Rust driven by explicit instants, so tests run it with a mock clock. What the screen
//! shows is gathered in `tech_info`; the wiring is in `wiring_tech`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordVerifier};

/// Taps that open the PIN pad, and the time they must fall within.
pub const GESTURE_TAPS: usize = 5;
pub const GESTURE_WINDOW: Duration = Duration::from_secs(3);
/// Wrong PINs allowed before a lockout.
pub const PIN_TRIES: u32 = 5;
/// First lockout; it doubles with each further lockout, up to `MAX_LOCKOUT`.
pub const FIRST_LOCKOUT: Duration = Duration::from_secs(60);
pub const MAX_LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// Longest PIN typed (the pad stops taking digits after this).
pub const MAX_PIN: usize = 8;

/// A technician PIN: 4 to 8 ASCII digits.
pub fn is_valid_pin(pin: &str) -> bool {
    (4..=MAX_PIN).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit())
}

/// Counts taps; `GESTURE_TAPS` within `GESTURE_WINDOW` complete the gesture.
#[derive(Debug, Default, Clone)]
pub struct TapGesture {
    taps: VecDeque<Instant>,
}

impl TapGesture {
    /// One tap at `now`; true when it completes the gesture (the count then starts again).
    pub fn tap(&mut self, now: Instant) -> bool {
        while self
            .taps
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) > GESTURE_WINDOW)
        {
            self.taps.pop_front();
        }
        self.taps.push_back(now);
        if self.taps.len() >= GESTURE_TAPS {
            self.taps.clear();
            return true;
        }
        false
    }
}

/// The answer to a PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinCheck {
    Open,
    /// Wrong; `left` more tries before a lockout.
    Wrong {
        left: u32,
    },
    /// Too many wrong PINs: try again in `secs` seconds (the PIN is not even checked).
    Locked {
        secs: u64,
    },
}

/// Checks PINs against the configured hash, with the lockout. In memory: a kiosk restart
/// clears it, which costs an attacker a restart (it needs power or a crash) per 5 tries.
#[derive(Debug, Clone)]
pub struct PinGate {
    hash: Option<String>,
    wrong: u32,
    lockouts: u32,
    locked_until: Option<Instant>,
}

impl PinGate {
    /// `hash`: an Argon2id PHC string (checked when the config was loaded), or None for no PIN.
    pub fn new(hash: Option<String>) -> PinGate {
        PinGate {
            hash,
            wrong: 0,
            lockouts: 0,
            locked_until: None,
        }
    }

    /// No PIN configured: the gesture opens the screen directly.
    pub fn is_open(&self) -> bool {
        self.hash.is_none()
    }

    /// Seconds left of a lockout at `now`, if any.
    pub fn locked_for(&self, now: Instant) -> Option<u64> {
        let until = self.locked_until?;
        let left = until.saturating_duration_since(now);
        (!left.is_zero()).then(|| left.as_secs_f64().ceil() as u64)
    }

    /// Check `pin` at `now`. Slow when it really checks (Argon2id: tens of milliseconds).
    pub fn check(&mut self, pin: &str, now: Instant) -> PinCheck {
        if let Some(secs) = self.locked_for(now) {
            return PinCheck::Locked { secs };
        }
        let Some(hash) = &self.hash else {
            return PinCheck::Open;
        };
        let ok = is_valid_pin(pin)
            && PasswordHash::new(hash).is_ok_and(|h| {
                argon2::Argon2::default()
                    .verify_password(pin.as_bytes(), &h)
                    .is_ok()
            });
        if ok {
            self.wrong = 0;
            self.lockouts = 0;
            return PinCheck::Open;
        }
        self.wrong += 1;
        if self.wrong >= PIN_TRIES {
            self.wrong = 0;
            let lock = FIRST_LOCKOUT
                .saturating_mul(1 << self.lockouts.min(10))
                .min(MAX_LOCKOUT);
            self.lockouts += 1;
            self.locked_until = Some(now + lock);
            return PinCheck::Locked {
                secs: lock.as_secs(),
            };
        }
        PinCheck::Wrong {
            left: PIN_TRIES - self.wrong,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, MockClock};

    #[test]
    fn five_quick_taps_open_slow_ones_do_not() {
        let clock = MockClock::default();
        let mut g = TapGesture::default();
        for _ in 0..4 {
            assert!(!g.tap(clock.now()));
            clock.advance(Duration::from_millis(500));
        }
        assert!(g.tap(clock.now()), "the fifth within 3 s");
        for _ in 0..10 {
            assert!(
                !g.tap(clock.now()),
                "one tap a second never adds up to five"
            );
            clock.advance(Duration::from_millis(800));
        }
    }

    #[test]
    fn pins_are_four_to_eight_digits() {
        for ok in ["0000", "12345678", "2468"] {
            assert!(is_valid_pin(ok), "{ok}");
        }
        for bad in ["", "123", "123456789", "12a4", "١٢٣٤", " 1234"] {
            assert!(!is_valid_pin(bad), "{bad:?}");
        }
    }

    #[test]
    fn wrong_pins_lock_out_for_longer_each_time() {
        let hash = crate::provision::keys::hash_password("2468").unwrap();
        let clock = MockClock::default();
        let mut gate = PinGate::new(Some(hash));
        assert!(!gate.is_open());
        assert_eq!(gate.check("2468", clock.now()), PinCheck::Open);
        for left in (1..PIN_TRIES).rev() {
            assert_eq!(gate.check("1111", clock.now()), PinCheck::Wrong { left });
        }
        assert_eq!(
            gate.check("1111", clock.now()),
            PinCheck::Locked { secs: 60 }
        );
        assert_eq!(
            gate.check("2468", clock.now()),
            PinCheck::Locked { secs: 60 },
            "even the right PIN waits"
        );
        clock.advance(Duration::from_secs(59));
        assert_eq!(gate.locked_for(clock.now()), Some(1));
        clock.advance(Duration::from_secs(1));
        assert_eq!(gate.locked_for(clock.now()), None);
        for _ in 0..PIN_TRIES {
            gate.check("not a pin", clock.now());
        }
        assert_eq!(gate.locked_for(clock.now()), Some(120), "doubled");
        clock.advance(Duration::from_secs(120));
        assert_eq!(gate.check("2468", clock.now()), PinCheck::Open);
    }

    #[test]
    fn without_a_hash_the_gate_is_open() {
        let mut gate = PinGate::new(None);
        assert!(gate.is_open());
        assert_eq!(gate.check("", MockClock::default().now()), PinCheck::Open);
    }
}
