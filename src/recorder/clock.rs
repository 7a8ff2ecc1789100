//! Time for the recorder behind a small trait: wall-clock milliseconds for timestamps and the
//! retention age rule, a monotonic instant for latency and backoff.
//!
//! The real clock and a settable fake live side by side; nothing else in `recorder` calls
//! `SystemTime::now()` directly.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// A source of time. `Send + Sync` so one instance serves every camera thread.
pub trait Clocks: Send + Sync {
    /// Milliseconds since the Unix epoch (UTC).
    fn now_ms(&self) -> i64;
    /// A monotonic instant, for durations.
    fn monotonic(&self) -> Instant {
        Instant::now()
    }
}

/// The system's clocks.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealClocks;

impl Clocks for RealClocks {
    fn now_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

/// A wall clock that only moves when told to (tests of retention and ordering).
#[derive(Debug, Default)]
pub struct SimulatedClocks {
    now: AtomicI64,
}

impl SimulatedClocks {
    pub fn new(start_ms: i64) -> SimulatedClocks {
        SimulatedClocks {
            now: AtomicI64::new(start_ms),
        }
    }

    pub fn advance_ms(&self, ms: i64) {
        self.now.fetch_add(ms, Ordering::SeqCst);
    }

    pub fn set_ms(&self, ms: i64) {
        self.now.store(ms, Ordering::SeqCst);
    }
}

impl Clocks for SimulatedClocks {
    fn now_ms(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }
}

/// `ms` since the epoch as RFC 3339 UTC with milliseconds, e.g. `2026-11-23T10:23:11.042Z`.
pub fn format_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| format!("@{ms}ms"))
}

/// RFC 3339 UTC to the second (`2026-12-05T10:00:00Z`): the `at` of a signed chain head.
pub fn rfc3339_s(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into())
}

/// Parse a time given on the command line: RFC 3339 (`2026-11-23T10:00:00Z`, any offset) or a
/// date (`2026-11-23`, midnight UTC). Returns milliseconds since the epoch.
pub fn parse_time(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
            .timestamp_millis());
    }
    Err(format!(
        "`{s}` is not a time; use 2026-11-23 or 2026-11-23T10:00:00Z"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        assert_eq!(format_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(parse_time("1970-01-02").unwrap(), 86_400_000);
        assert_eq!(parse_time("1970-01-01T07:00:00+07:00").unwrap(), 0);
        assert_eq!(
            parse_time("yesterday").unwrap_err(),
            "`yesterday` is not a time; use 2026-11-23 or 2026-11-23T10:00:00Z"
        );
        let c = SimulatedClocks::new(5);
        c.advance_ms(10);
        assert_eq!(c.now_ms(), 15);
    }
}
