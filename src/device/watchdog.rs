//! The systemd watchdog, fed only while the main loops are alive: each loop holds a
//! [`LivenessToken`] and calls `feed()` every turn; a pinger thread sends `WATCHDOG=1` only if
//! every token was fed since its last look. A hung loop stops the pings and systemd restarts
//! the unit after `WatchdogSec=`.
//!
//! Never pings on its own behalf: a timer that pings unconditionally would hide a hang.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::notify::SdNotify;

/// A main loop's proof of life. Cheap to clone; clones feed the same token.
#[derive(Debug, Clone)]
pub struct LivenessToken {
    name: Arc<str>,
    fed: Arc<AtomicU64>,
}

impl LivenessToken {
    /// Call once per turn of the loop.
    pub fn feed(&self) {
        self.fed.fetch_add(1, Ordering::Relaxed);
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The pinger. Dropping it (or [`Watchdog::stop`]) stops the pings.
pub struct Watchdog {
    tokens: Arc<Mutex<Vec<LivenessToken>>>,
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Check tokens and ping every `period` (use half of systemd's `WatchdogSec`, see
    /// [`Watchdog::from_env`]). Loops must feed more often than `period`.
    pub fn start(notify: SdNotify, period: Duration) -> Watchdog {
        let tokens: Arc<Mutex<Vec<LivenessToken>>> = Arc::default();
        let (stop, stopped) = channel::<()>();
        let list = tokens.clone();
        let thread = std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(move || {
                let mut seen: Vec<u64> = Vec::new();
                let mut was_hung = false;
                loop {
                    match stopped.recv_timeout(period) {
                        Err(RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                    let tokens = list.lock().unwrap_or_else(|e| e.into_inner()).clone();
                    seen.resize(tokens.len(), u64::MAX);
                    let mut hung = Vec::new();
                    for (t, last) in tokens.iter().zip(seen.iter_mut()) {
                        let now = t.fed.load(Ordering::Relaxed);
                        if now == *last {
                            hung.push(t.name().to_owned());
                        }
                        *last = now;
                    }
                    if hung.is_empty() {
                        notify.watchdog();
                        if was_hung {
                            notify.status("running");
                            was_hung = false;
                        }
                    } else if !was_hung {
                        let msg = format!("not responding: {}", hung.join(", "));
                        tracing::error!("watchdog: {msg}; systemd will restart the service");
                        notify.status(&msg);
                        was_hung = true;
                    }
                }
            })
            .expect("spawn watchdog thread");
        Watchdog {
            tokens,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// A pinger at half of systemd's `WATCHDOG_USEC`; `None` when the unit has no watchdog.
    pub fn from_env(notify: SdNotify) -> Option<Watchdog> {
        super::notify::watchdog_period().map(|p| Watchdog::start(notify, p / 2))
    }

    /// A new token the pinger waits for, named for the log (e.g. "kiosk event loop").
    pub fn token(&self, name: &str) -> LivenessToken {
        let t = LivenessToken {
            name: name.into(),
            fed: Arc::new(AtomicU64::new(0)),
        };
        t.feed();
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(t.clone());
        t
    }

    /// Stop pinging and join the thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;
    use std::time::Instant;

    /// Count WATCHDOG=1 datagrams received within `window`.
    fn pings_within(rx: &UnixDatagram, window: Duration) -> (usize, Vec<String>) {
        let deadline = Instant::now() + window;
        let mut n = 0;
        let mut other = Vec::new();
        let mut buf = [0u8; 256];
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            rx.set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap();
            match rx.recv(&mut buf) {
                Ok(k) if &buf[..k] == b"WATCHDOG=1" => n += 1,
                Ok(k) => other.push(String::from_utf8_lossy(&buf[..k]).into_owned()),
                Err(_) => break,
            }
        }
        (n, other)
    }

    #[test]
    fn pings_while_the_loop_runs_and_stops_when_it_hangs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let rx = UnixDatagram::bind(&path).unwrap();
        let notify = SdNotify::to_socket(path.to_str().unwrap()).unwrap();
        let wd = Watchdog::start(notify, Duration::from_millis(50));
        let token = wd.token("main loop");
        let hang = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (t, h) = (token.clone(), hang.clone());
        let main_loop = std::thread::spawn(move || {
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(3) {
                if !h.load(Ordering::SeqCst) {
                    t.feed();
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        let (alive, _) = pings_within(&rx, Duration::from_millis(500));
        assert!(alive >= 5, "expected pings while alive, got {alive}");
        hang.store(true, Ordering::SeqCst);
        // one in-flight period may still ping; after that, silence and a status line
        let (_, mut other) = pings_within(&rx, Duration::from_millis(120));
        let (hung, later) = pings_within(&rx, Duration::from_millis(500));
        other.extend(later);
        assert_eq!(hung, 0, "no pings while the loop is hung");
        assert_eq!(other, vec!["STATUS=not responding: main loop".to_owned()]);
        hang.store(false, Ordering::SeqCst);
        let (back, other) = pings_within(&rx, Duration::from_millis(500));
        assert!(back >= 3, "pings resume when the loop does, got {back}");
        assert_eq!(other, vec!["STATUS=running".to_owned()]);
        wd.stop();
        main_loop.join().unwrap();
    }
}
