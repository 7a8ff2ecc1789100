//! Liveness of the daemon's loops for the systemd watchdog: each loop marks the step it is in
//! ([`Beat::step`]); a monitor task on the same runtime feeds that loop's
//! `device::watchdog::LivenessToken` every period unless the step has been running longer
//! than the loop's limit. A loop that is merely waiting (sleep, long-poll) is alive; one stuck
//! inside a step (a hung request past its timeout, a blocked store) is not.
//!
//! Because the monitor itself runs on the tokio runtime, a stuck runtime stops every token.
//! This file decides nothing else; `device::watchdog` sends the pings.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::device::watchdog::LivenessToken;

/// One loop's "in a step since" mark. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Beat {
    inner: Arc<BeatInner>,
}

#[derive(Debug)]
struct BeatInner {
    origin: Instant,
    /// Milliseconds since `origin` + 1 when the current step began; 0 when idle.
    busy_since: AtomicU64,
    limit: Duration,
}

/// Marks a step; the loop is idle again when it is dropped.
pub struct Step<'a>(&'a Beat);

impl Drop for Step<'_> {
    fn drop(&mut self) {
        self.0.inner.busy_since.store(0, Ordering::SeqCst);
    }
}

impl Beat {
    /// A loop whose single step must never take longer than `limit`.
    pub fn new(limit: Duration) -> Beat {
        Beat {
            inner: Arc::new(BeatInner {
                origin: Instant::now(),
                busy_since: AtomicU64::new(0),
                limit,
            }),
        }
    }

    /// Call at the start of each step; keep the guard for the step's length.
    pub fn step(&self) -> Step<'_> {
        let ms = self.inner.origin.elapsed().as_millis() as u64 + 1;
        self.inner.busy_since.store(ms, Ordering::SeqCst);
        Step(self)
    }

    /// True when a step has run longer than the limit.
    pub fn is_stuck(&self) -> bool {
        match self.inner.busy_since.load(Ordering::SeqCst) {
            0 => false,
            since => {
                let now = self.inner.origin.elapsed().as_millis() as u64 + 1;
                Duration::from_millis(now.saturating_sub(since)) > self.inner.limit
            }
        }
    }
}

/// The sync loops' beats (kept in `SyncContext`, so the loops reach them).
#[derive(Debug, Clone)]
pub struct SyncBeats {
    pub catalog: Beat,
    pub queue: Beat,
    pub outbox: Beat,
}

impl SyncBeats {
    /// Limits from the request timeouts: a step is one request (or a long-poll) plus its
    /// store work; anything beyond twice that plus a minute is a hang.
    pub fn new(request_timeout: Duration, queue_wait: Duration) -> SyncBeats {
        let step = 2 * (request_timeout + queue_wait) + Duration::from_secs(60);
        SyncBeats {
            catalog: Beat::new(step),
            queue: Beat::new(step),
            outbox: Beat::new(step),
        }
    }
}

impl Default for SyncBeats {
    fn default() -> Self {
        SyncBeats::new(Duration::from_secs(120), Duration::from_secs(60))
    }
}

/// What the monitor checks for one token.
pub enum Probe {
    /// Alive unless its current step is over the limit.
    Beat(Beat),
    /// Alive while this returns true (e.g. "the task has not ended", "the recorder's store
    /// was lockable recently").
    Check(Box<dyn Fn() -> bool + Send + Sync>),
}

impl Probe {
    fn alive(&self) -> bool {
        match self {
            Probe::Beat(b) => !b.is_stuck(),
            Probe::Check(f) => f(),
        }
    }
}

/// Feed each token whose probe says alive, every `period`, until `shutdown`.
pub async fn monitor(
    probes: Vec<(LivenessToken, Probe)>,
    period: Duration,
    mut shutdown: super::shutdown::Shutdown,
) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.recv() => return,
        }
        for (token, probe) in &probes {
            if probe.alive() {
                token.feed();
            } else {
                tracing::error!(loop_name = token.name(), "loop is not responding");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_over_its_limit_is_stuck_and_idle_is_not() {
        let b = Beat::new(Duration::from_millis(30));
        assert!(!b.is_stuck());
        {
            let _s = b.step();
            assert!(!b.is_stuck());
            std::thread::sleep(Duration::from_millis(50));
            assert!(b.is_stuck());
        }
        assert!(!b.is_stuck(), "done stepping: alive again");
    }

    #[tokio::test]
    async fn a_stuck_loop_stops_the_watchdog_pings() {
        use crate::device::notify::SdNotify;
        use crate::device::watchdog::Watchdog;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let rx = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        rx.set_nonblocking(true).unwrap();
        let wd = Watchdog::start(
            SdNotify::to_socket(path.to_str().unwrap()).unwrap(),
            Duration::from_millis(40),
        );
        let (healthy, hung) = (
            Beat::new(Duration::from_secs(60)),
            Beat::new(Duration::from_millis(20)),
        );
        let probes = vec![
            (wd.token("queue loop"), Probe::Beat(healthy)),
            (wd.token("catalog loop"), Probe::Beat(hung.clone())),
        ];
        let (trigger, shutdown) = super::super::shutdown::channel();
        let task = tokio::spawn(monitor(probes, Duration::from_millis(10), shutdown));
        let read = || {
            let mut buf = [0u8; 256];
            let mut v = Vec::new();
            while let Ok(n) = rx.recv(&mut buf) {
                v.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
            v
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            read().iter().any(|m| m == "WATCHDOG=1"),
            "pings while alive"
        );
        let step = hung.step();
        tokio::time::sleep(Duration::from_millis(150)).await;
        read(); // drop what was in flight
        tokio::time::sleep(Duration::from_millis(200)).await;
        let quiet = read();
        assert!(!quiet.iter().any(|m| m == "WATCHDOG=1"), "{quiet:?}");
        drop(step);
        trigger.fire();
        task.await.unwrap();
        wd.stop();
    }
}
