//! What the kiosk last told the daemon about itself (`{"op":"kiosk_status"}` on the local
//! socket): whether it has drawn its first frame, and how long nobody has touched it. The
//! update task reads it to confirm a new version (first frame) and to find a quiet moment to
//! reboot. Holds no history and decides nothing.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A kiosk that has not reported for this long is taken as not running (nobody can be
/// using a kiosk that is not there).
pub const STALE_AFTER: Duration = Duration::from_secs(120);

#[derive(Debug, Default)]
pub struct KioskSignal {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    drawn: bool,
    /// (when, idle seconds then) of the latest report.
    latest: Option<(Instant, u64)>,
}

impl KioskSignal {
    pub fn report(&self, drawn: bool, idle_secs: u64, now: Instant) {
        let mut i = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        i.drawn |= drawn;
        i.latest = Some((now, idle_secs));
    }

    /// Has the kiosk drawn its first frame since the daemon started?
    pub fn drawn(&self) -> bool {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).drawn
    }

    /// Has nobody touched the kiosk for `quiet` (or is it not reporting at all)?
    pub fn idle_for(&self, quiet: Duration, now: Instant) -> bool {
        match self.inner.lock().unwrap_or_else(|e| e.into_inner()).latest {
            None => true,
            Some((at, _)) if now.duration_since(at) > STALE_AFTER => true,
            Some((at, idle)) => Duration::from_secs(idle) + now.duration_since(at) >= quiet,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_and_drawn() {
        let s = KioskSignal::default();
        let t = Instant::now();
        let quiet = Duration::from_secs(60);
        assert!(s.idle_for(quiet, t), "no kiosk reporting: nobody at it");
        s.report(false, 5, t);
        assert!(!s.idle_for(quiet, t));
        assert!(s.idle_for(quiet, t + Duration::from_secs(55)));
        assert!(!s.drawn());
        s.report(true, 0, t);
        s.report(false, 0, t);
        assert!(s.drawn(), "drawn once is drawn");
        assert!(s.idle_for(quiet, t + STALE_AFTER + Duration::from_secs(1)));
    }
}
