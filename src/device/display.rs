//! Screen power policy: awake while used, dimmed after `dim_after_secs` without touch or
//! motion, switched off after `off_after_secs`, woken by the next touch or motion.
//!
//! The policy is a state machine driven by explicit instants (tested with a mock clock); the
//! screen is reached through [`ScreenPower`] (real: the sysfs [`Backlight`]). Never reads input
//! devices itself: touches arrive as [`DeviceEvent::Touch`] from the kiosk.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::backlight::{Backlight, DisplayError};
use super::clock::Clock;
use super::events::DeviceEvent;
use crate::config::DisplayConfig;

/// What the screen should be doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScreenState {
    Awake,
    Dimmed,
    Off,
}

/// Something that can show a [`ScreenState`].
pub trait ScreenPower: Send {
    fn apply(&mut self, state: ScreenState, cfg: &DisplayConfig) -> Result<(), DisplayError>;
}

impl ScreenPower for Backlight {
    fn apply(&mut self, state: ScreenState, cfg: &DisplayConfig) -> Result<(), DisplayError> {
        match state {
            ScreenState::Awake => self.set_percent(cfg.awake_percent),
            ScreenState::Dimmed => self.set_percent(cfg.dim_percent),
            ScreenState::Off => self.set_power(false),
        }
    }
}

/// No controllable screen (no backlight device): states are only logged.
#[derive(Debug, Default)]
pub struct NoScreenControl;

impl ScreenPower for NoScreenControl {
    fn apply(&mut self, state: ScreenState, _cfg: &DisplayConfig) -> Result<(), DisplayError> {
        tracing::debug!("screen {state:?} (no backlight device to control)");
        Ok(())
    }
}

/// The policy and the screen it drives.
pub struct DisplayPower {
    cfg: DisplayConfig,
    screen: Box<dyn ScreenPower>,
    last_activity: Instant,
    state: ScreenState,
}

impl DisplayPower {
    /// Starts awake (and makes the screen so).
    pub fn new(cfg: DisplayConfig, mut screen: Box<dyn ScreenPower>, now: Instant) -> Self {
        if let Err(e) = screen.apply(ScreenState::Awake, &cfg) {
            tracing::warn!("display: {e}");
        }
        DisplayPower {
            cfg,
            screen,
            last_activity: now,
            state: ScreenState::Awake,
        }
    }

    pub fn state(&self) -> ScreenState {
        self.state
    }

    /// A touch or motion: wake now.
    pub fn activity(&mut self, now: Instant) {
        self.last_activity = now;
        self.set(ScreenState::Awake);
    }

    /// React to a device event.
    pub fn on_event(&mut self, event: &DeviceEvent, now: Instant) {
        match event {
            DeviceEvent::Touch => self.activity(now),
            DeviceEvent::Motion { .. } if self.cfg.motion_wakes => self.activity(now),
            _ => {}
        }
    }

    /// What the idle time says the screen should be.
    pub fn wanted(&self, now: Instant) -> ScreenState {
        let idle = now.saturating_duration_since(self.last_activity);
        let after = |secs: u32| secs != 0 && idle >= Duration::from_secs(u64::from(secs));
        if after(self.cfg.off_after_secs) {
            ScreenState::Off
        } else if after(self.cfg.dim_after_secs) {
            ScreenState::Dimmed
        } else {
            ScreenState::Awake
        }
    }

    /// Apply the idle policy at `now`.
    pub fn tick(&mut self, now: Instant) {
        let wanted = self.wanted(now);
        self.set(wanted);
    }

    fn set(&mut self, state: ScreenState) {
        if state == self.state {
            return;
        }
        match self.screen.apply(state, &self.cfg) {
            Ok(()) => {
                tracing::info!("display: {:?} -> {state:?}", self.state);
                self.state = state;
            }
            Err(e) => tracing::warn!("display: {e}"),
        }
    }

    /// Run until `stop` is set or every event sender is gone: events wake, a tick every
    /// `period` applies the idle policy. Spawn it on its own thread.
    pub fn run(
        mut self,
        events: Receiver<DeviceEvent>,
        clock: Arc<dyn Clock>,
        stop: Arc<AtomicBool>,
        period: Duration,
    ) {
        while !stop.load(Ordering::Relaxed) {
            match events.recv_timeout(period) {
                Ok(ev) => self.on_event(&ev, clock.now()),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            self.tick(clock.now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::backlight::create_fake;
    use crate::device::clock::MockClock;

    #[test]
    fn dims_then_blanks_on_idle_and_motion_or_touch_wakes() {
        let root = tempfile::tempdir().unwrap();
        let dir = create_fake(root.path(), "bl", 100, 50).unwrap();
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
        let cfg = DisplayConfig {
            dim_after_secs: 60,
            off_after_secs: 600,
            dim_percent: 10,
            ..DisplayConfig::default()
        };
        let clock = MockClock::default();
        let bl = Backlight::find(root.path(), None).unwrap().unwrap();
        let mut d = DisplayPower::new(cfg.clone(), Box::new(bl), clock.now());
        assert_eq!(read("brightness"), "100\n");
        clock.advance(Duration::from_secs(59));
        d.tick(clock.now());
        assert_eq!(d.state(), ScreenState::Awake);
        clock.advance(Duration::from_secs(1));
        d.tick(clock.now());
        assert_eq!(
            (d.state(), read("brightness")),
            (ScreenState::Dimmed, "10\n".into())
        );
        d.on_event(&DeviceEvent::Motion { quiet_before: None }, clock.now());
        assert_eq!(
            (d.state(), read("brightness")),
            (ScreenState::Awake, "100\n".into())
        );
        clock.advance(Duration::from_secs(600));
        d.tick(clock.now());
        assert_eq!(
            (d.state(), read("bl_power")),
            (ScreenState::Off, "4\n".into())
        );
        d.on_event(&DeviceEvent::Button { counter: 1 }, clock.now());
        assert_eq!(
            d.state(),
            ScreenState::Off,
            "a counter button is not at the kiosk"
        );
        d.on_event(&DeviceEvent::Touch, clock.now());
        assert_eq!(
            (read("bl_power"), read("brightness")),
            ("0\n".into(), "100\n".into())
        );
    }

    #[test]
    fn motion_does_not_wake_when_configured_off_and_zero_means_never() {
        let cfg = DisplayConfig {
            dim_after_secs: 0,
            off_after_secs: 0,
            motion_wakes: false,
            ..DisplayConfig::default()
        };
        let clock = MockClock::default();
        let mut d = DisplayPower::new(cfg, Box::new(NoScreenControl), clock.now());
        clock.advance(Duration::from_secs(86_400));
        d.tick(clock.now());
        assert_eq!(d.state(), ScreenState::Awake);
        let cfg = DisplayConfig {
            dim_after_secs: 10,
            motion_wakes: false,
            ..DisplayConfig::default()
        };
        let mut d = DisplayPower::new(cfg, Box::new(NoScreenControl), clock.now());
        clock.advance(Duration::from_secs(10));
        d.tick(clock.now());
        d.on_event(&DeviceEvent::Motion { quiet_before: None }, clock.now());
        assert_eq!(d.state(), ScreenState::Dimmed);
    }
}
