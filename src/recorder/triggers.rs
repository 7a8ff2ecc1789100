//! What makes a snapshot happen besides a direct call: queue events carrying a record ID
//! (service started / finished at a counter) and the per-camera interval timer.
//!
//! Every trigger goes through `Recorder::capture_for`; nothing here stores or encodes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use super::footage::Snapshot;
use super::{Reason, Recorder, RecorderError};
use crate::queue::{QueueEvent, QueueEventKind};

impl Recorder {
    /// React to one queue event. `Started`/`Finished` at a counter with a camera produce a
    /// snapshot (the record ID from the event, or for `Finished` the one being served);
    /// other events only update which record each counter is serving.
    pub fn on_queue_event(&self, ev: &QueueEvent) -> Option<Result<Snapshot, RecorderError>> {
        let record = {
            let mut serving = self.serving().lock().unwrap_or_else(|p| p.into_inner());
            match ev.kind {
                QueueEventKind::Started => {
                    if let Some(r) = &ev.record_id {
                        serving.insert(ev.counter, r.clone());
                    }
                    ev.record_id.clone()
                }
                QueueEventKind::Finished => {
                    ev.record_id.clone().or_else(|| serving.remove(&ev.counter))
                }
                _ => {
                    serving.remove(&ev.counter);
                    None
                }
            }
        };
        if !matches!(ev.kind, QueueEventKind::Started | QueueEventKind::Finished) {
            return None;
        }
        let record = record?;
        if !self.cameras.contains_key(&ev.counter) {
            return None;
        }
        let reason = Reason(ev.kind.as_str().to_owned());
        Some(self.capture_for(ev.counter, Some(&record), &reason))
    }
}

/// Feed events from any iterator (tests, replay); returns the snapshots taken.
pub fn snapshots_from_events(
    recorder: &Recorder,
    events: impl IntoIterator<Item = QueueEvent>,
) -> Vec<Result<Snapshot, RecorderError>> {
    events
        .into_iter()
        .filter_map(|ev| recorder.on_queue_event(&ev))
        .collect()
}

/// Subscribe to the daemon's queue-event broadcast on a dedicated thread (captures block on
/// fsync, so they stay off the async runtime). Ends when the sender is dropped.
pub fn spawn_queue_listener(
    recorder: Arc<Recorder>,
    mut rx: broadcast::Receiver<QueueEvent>,
) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name("snapshot-events".into())
        .spawn(move || loop {
            match rx.blocking_recv() {
                Ok(ev) => match recorder.on_queue_event(&ev) {
                    Some(Ok(s)) => {
                        tracing::info!(counter = ev.counter, id = s.id, "snapshot for queue event")
                    }
                    Some(Err(e)) => {
                        tracing::error!(counter = ev.counter, %e, "snapshot for queue event failed")
                    }
                    None => {}
                },
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "snapshot listener fell behind; events skipped");
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        })
        .expect("spawn snapshot listener")
}

/// Periodic snapshots for cameras with `interval_secs > 0`; stops when dropped.
pub struct Periodic {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Periodic {
    pub fn spawn(recorder: Arc<Recorder>, intervals: Vec<(u32, Duration)>) -> Periodic {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::Builder::new()
            .name("snapshot-interval".into())
            .spawn(move || {
                let start = Instant::now();
                let mut due: Vec<(u32, Duration, Instant)> = intervals
                    .iter()
                    .map(|(c, d)| (*c, *d, start + *d))
                    .collect();
                let reason = Reason("interval".into());
                while !s.load(Ordering::SeqCst) {
                    let now = Instant::now();
                    for (counter, every, next) in due.iter_mut() {
                        if now >= *next {
                            *next += *every;
                            let record = recorder
                                .serving()
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .get(counter)
                                .cloned();
                            if let Err(e) = recorder.capture_for(*counter, record.as_ref(), &reason)
                            {
                                tracing::warn!(counter, %e, "periodic snapshot failed");
                            }
                        }
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
            .expect("spawn periodic snapshots");
        Periodic {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Periodic {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
