//! Monotonic time behind a small trait: the real clock and a settable fake side by side, so
//! debounce, LED blinking, display timeouts and the kiosk's idle timer are tested without
//! sleeping.
//!
//! Nothing in `device` or `kiosk` calls `Instant::now()` for a timing decision except
//! [`SystemClock`] and the real GPIO backend's edge timestamps.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A monotonic clock.
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
}

/// The real monotonic clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to. Clones share the same time.
#[derive(Debug, Clone)]
pub struct MockClock {
    now: Arc<Mutex<Instant>>,
}

impl Default for MockClock {
    fn default() -> Self {
        MockClock {
            now: Arc::new(Mutex::new(Instant::now())),
        }
    }
}

impl MockClock {
    pub fn advance(&self, by: Duration) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) += by;
    }
}

impl Clock for MockClock {
    fn now(&self) -> Instant {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}
