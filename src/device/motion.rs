//! The PIR motion sensor: edges of its output become [`DeviceEvent::Motion`] events.
//!
//! A PIR module holds its output active for a few seconds and re-triggers while someone moves,
//! so only the edge to the active level counts, and it carries how long the sensor was quiet
//! before (the kiosk resets to home only when someone new approached). Never touches the
//! display or the kiosk itself: subscribers do.

use std::time::{Duration, Instant};

use super::events::DeviceEvent;

/// State of one PIR sensor.
#[derive(Debug, Clone)]
pub struct MotionDetector {
    active_high: bool,
    /// When the output last went inactive (end of the previous motion).
    last_inactive: Option<Instant>,
    active: bool,
}

impl MotionDetector {
    pub fn new(active_high: bool) -> MotionDetector {
        MotionDetector {
            active_high,
            last_inactive: None,
            active: false,
        }
    }

    /// Feed one edge; `Some(Motion)` on the start of a motion.
    pub fn on_edge(&mut self, high: bool, at: Instant) -> Option<DeviceEvent> {
        let active = high == self.active_high;
        if active == self.active {
            return None; // repeated level (missed edge): nothing new
        }
        self.active = active;
        if !active {
            self.last_inactive = Some(at);
            return None;
        }
        Some(DeviceEvent::Motion {
            quiet_before: self.last_inactive.map(|t| at.saturating_duration_since(t)),
        })
    }
}

/// Whether a motion event should send the kiosk back to home: someone new approached after the
/// area was quiet for at least `idle_home` (the kiosk's own idle time), or it is the first.
pub fn is_new_visitor(quiet_before: Option<Duration>, idle_home: Duration) -> bool {
    quiet_before.is_none_or(|q| q >= idle_home)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_start_of_motion_is_an_event_with_the_quiet_time() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut m = MotionDetector::new(true);
        assert_eq!(
            m.on_edge(true, t0),
            Some(DeviceEvent::Motion { quiet_before: None })
        );
        assert_eq!(m.on_edge(true, t0 + s), None, "repeated level");
        assert_eq!(m.on_edge(false, t0 + 3 * s), None);
        assert_eq!(
            m.on_edge(true, t0 + 100 * s),
            Some(DeviceEvent::Motion {
                quiet_before: Some(97 * s)
            })
        );
        let mut low = MotionDetector::new(false);
        assert_eq!(low.on_edge(true, t0), None);
        assert!(low.on_edge(false, t0 + s).is_some());
    }

    #[test]
    fn new_visitor_rule() {
        let idle = Duration::from_secs(90);
        assert!(is_new_visitor(None, idle));
        assert!(is_new_visitor(Some(Duration::from_secs(90)), idle));
        assert!(!is_new_visitor(Some(Duration::from_secs(10)), idle));
    }
}
