//! Time as sync sees it, behind a trait so tests can set the device clock (expiry, clock
//! skew) without waiting. Only wall-clock readings go through here; sleeping uses tokio time.

use std::sync::Mutex;

use chrono::{DateTime, SecondsFormat, Utc};

/// A time as sync stores and sends it: RFC 3339, UTC, milliseconds.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that reads the system clock shifted by a settable offset (tests: a device whose
/// clock is wrong).
#[derive(Debug, Default)]
pub struct OffsetClock {
    offset: Mutex<chrono::Duration>,
}

impl OffsetClock {
    pub fn new(offset: chrono::Duration) -> OffsetClock {
        OffsetClock {
            offset: Mutex::new(offset),
        }
    }

    pub fn set(&self, offset: chrono::Duration) {
        *self.offset.lock().unwrap_or_else(|e| e.into_inner()) = offset;
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.offset.lock().unwrap_or_else(|e| e.into_inner())
    }
}
