//! The kiosk as a systemd `Type=notify` service (`systemd/motcua-kiosk.service`,
//! `WatchdogSec=20s`): READY=1 once the window is up, STOPPING=1 on quit, and watchdog pings
//! only while the UI thread turns — a `slint::Timer` on the UI thread feeds a
//! [`LivenessToken`] and [`Watchdog`] pings only if it was fed. Outside systemd every call is
//! a no-op.

use std::time::Duration;

use crate::device::notify::{watchdog_period, SdNotify};
use crate::device::watchdog::{LivenessToken, Watchdog};

/// How often the UI thread feeds its token (well below half of `WatchdogSec=20s`).
pub const FEED_EVERY: Duration = Duration::from_secs(1);

/// The kiosk's systemd side.
pub struct KioskService {
    notify: SdNotify,
    watchdog: Option<Watchdog>,
    token: Option<LivenessToken>,
}

impl KioskService {
    /// From `NOTIFY_SOCKET` and `WATCHDOG_USEC` (pinging at half the period).
    pub fn from_env() -> KioskService {
        KioskService::new(
            SdNotify::from_env(),
            SdNotify::from_env(),
            watchdog_period().map(|p| p / 2),
        )
    }

    /// `notify` for READY/STOPPING, `pings` for the watchdog thread; `ping_every` None: no
    /// watchdog.
    pub fn new(notify: SdNotify, pings: SdNotify, ping_every: Option<Duration>) -> KioskService {
        let watchdog = ping_every.map(|p| Watchdog::start(pings, p));
        let token = watchdog.as_ref().map(|w| w.token("kiosk UI thread"));
        KioskService {
            notify,
            watchdog,
            token,
        }
    }

    /// The UI thread's token (None without a watchdog).
    pub fn token(&self) -> Option<LivenessToken> {
        self.token.clone()
    }

    /// A repeated timer on the calling (UI) thread feeding the token; keep it alive while the
    /// event loop runs. A blocked UI thread stops the feeding and so the pings.
    pub fn feed_from_ui_timer(&self) -> Option<slint::Timer> {
        let token = self.token()?;
        let timer = slint::Timer::default();
        timer.start(slint::TimerMode::Repeated, FEED_EVERY, move || token.feed());
        Some(timer)
    }

    pub fn ready(&self) {
        self.notify.ready("kiosk window shown");
    }

    /// STOPPING=1 and no more pings.
    pub fn stopping(mut self) {
        self.notify.stopping("kiosk quitting");
        if let Some(w) = self.watchdog.take() {
            w.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;
    use std::time::Instant;

    fn drain(rx: &UnixDatagram) -> Vec<String> {
        let mut out = Vec::new();
        let mut buf = [0u8; 512];
        while let Ok(n) = rx.recv(&mut buf) {
            out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        out
    }

    #[test]
    fn ready_pings_while_fed_silence_when_hung_then_stopping() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let rx = UnixDatagram::bind(&path).unwrap();
        rx.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let name = path.to_str().unwrap();
        let svc = KioskService::new(
            SdNotify::to_socket(name).unwrap(),
            SdNotify::to_socket(name).unwrap(),
            Some(Duration::from_millis(60)),
        );
        svc.ready();
        assert!(drain(&rx).iter().any(|m| m.starts_with("READY=1")));

        // The UI timer's job, done by this thread: pings follow.
        let token = svc.token().unwrap();
        let until = Instant::now() + Duration::from_millis(400);
        let mut got = Vec::new();
        while Instant::now() < until {
            token.feed();
            std::thread::sleep(Duration::from_millis(10));
            got.extend(drain(&rx));
        }
        assert!(got.iter().any(|m| m == "WATCHDOG=1"), "{got:?}");

        // "Hung": nobody feeds; after one period no more WATCHDOG=1.
        std::thread::sleep(Duration::from_millis(150));
        drain(&rx);
        std::thread::sleep(Duration::from_millis(300));
        let later = drain(&rx);
        assert!(!later.iter().any(|m| m == "WATCHDOG=1"), "{later:?}");

        svc.stopping();
        assert!(drain(&rx).iter().any(|m| m.starts_with("STOPPING=1")));
    }

    #[test]
    fn outside_systemd_nothing_happens() {
        let svc = KioskService::new(SdNotify::disabled(), SdNotify::disabled(), None);
        assert!(svc.token().is_none());
        svc.ready();
        svc.stopping();
    }
}
