//! The recorder inside the daemon: opening it (footage writer lock, start-up reconcile,
//! cameras, retention), feeding it the applied queue events, the periodic timer, capture
//! requests from the local socket and from the GPIO buttons, a liveness probe of its store,
//! and the anchoring thread (signed chain heads out through the sync uploader's heartbeats,
//! the hub's receipts back in, via the shared `AnchorMailbox`).
//!
//! Uses only the recorder's public API (`Recorder::start`, `capture_for`,
//! `triggers::spawn_queue_listener`, `triggers::Periodic`); captures block on fsync, so they
//! run on threads or `spawn_blocking`, never on the async workers.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use super::protocol::{Captured, Response, WireError};
use super::shutdown::Shutdown;
use crate::config::Config;
use crate::device::button::SnapshotRequest;
use crate::queue::QueueEvent;
use crate::record::RecordId;
use crate::recorder::anchor::{parse_public_key, AnchorMailbox};
use crate::recorder::anchoring::AnchorWorker;
use crate::recorder::clock::RealClocks;
use crate::recorder::export::DeviceSigner;
use crate::recorder::footage::Snapshot;
use crate::recorder::triggers::{spawn_queue_listener, Periodic};
use crate::recorder::{sources_from_config, Reason, Recorder};

/// A store not lockable for this long means the recorder is hung (a capture stuck in fsync).
pub const RECORDER_STUCK_AFTER: Duration = Duration::from_secs(30);

/// The recorder and the threads the daemon runs around it.
pub struct Recording {
    pub recorder: Arc<Recorder>,
    periodic: Option<Periodic>,
    anchor: Option<AnchorWorker>,
    listener: Option<JoinHandle<()>>,
    watch_stop: Arc<AtomicBool>,
    watch: Option<JoinHandle<()>>,
    /// Milliseconds since `origin` when the store was last lockable.
    last_lock_ms: Arc<AtomicU64>,
    origin: Instant,
}

/// Open the recorder if the config asks for one (cameras, or the review UI needing the
/// footage store). Reconciles the store before anything is captured.
pub fn open(
    config: &Config,
    data_dir: &Path,
    need_store: bool,
) -> anyhow::Result<Option<Recorder>> {
    if config.recorder.cameras.is_empty() && !need_store {
        return Ok(None);
    }
    let sources = sources_from_config(&config.recorder).map_err(anyhow::Error::msg)?;
    let (recorder, report) = Recorder::start(
        data_dir,
        &config.recorder,
        sources,
        Arc::new(RealClocks),
        true,
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "cannot start the recorder (is another motcua holding the footage store?): {e}"
        )
    })?;
    tracing::info!(
        ?report,
        cameras = config.recorder.cameras.len(),
        "recorder started; footage reconciled"
    );
    Ok(Some(recorder))
}

impl Recording {
    /// Start the queue listener (fed by a relay task that ends with `shutdown`, so the
    /// listener thread ends too), the periodic timer and the store probe.
    pub fn start(
        recorder: Recorder,
        config: &Config,
        events: broadcast::Receiver<QueueEvent>,
        anchor: Arc<AnchorMailbox>,
        shutdown: Shutdown,
        tasks: &mut tokio::task::JoinSet<()>,
    ) -> Recording {
        let recorder = Arc::new(recorder);
        let anchor = start_anchoring(&recorder, config, anchor);
        let (tx, rx) = broadcast::channel(1024);
        tasks.spawn(relay(events, tx, shutdown));
        let listener = spawn_queue_listener(Arc::clone(&recorder), rx);
        let intervals: Vec<(u32, Duration)> = config
            .recorder
            .cameras
            .iter()
            .filter(|c| c.interval_secs > 0)
            .map(|c| (c.counter, Duration::from_secs(u64::from(c.interval_secs))))
            .collect();
        let periodic =
            (!intervals.is_empty()).then(|| Periodic::spawn(Arc::clone(&recorder), intervals));
        let origin = Instant::now();
        let last_lock_ms = Arc::new(AtomicU64::new(0));
        let watch_stop = Arc::new(AtomicBool::new(false));
        let (store, last, stop) = (
            Arc::clone(recorder.store()),
            Arc::clone(&last_lock_ms),
            Arc::clone(&watch_stop),
        );
        let watch = std::thread::Builder::new()
            .name("recorder-watch".into())
            .spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    drop(store.lock().unwrap_or_else(|p| p.into_inner()));
                    last.store(origin.elapsed().as_millis() as u64, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(500));
                }
            })
            .ok();
        Recording {
            recorder,
            periodic,
            anchor,
            listener: Some(listener),
            watch_stop,
            watch,
            last_lock_ms,
            origin,
        }
    }

    /// For the watchdog: true while the store was lockable within [`RECORDER_STUCK_AFTER`].
    pub fn alive_probe(&self) -> impl Fn() -> bool + Send + Sync + 'static {
        let (last, origin) = (Arc::clone(&self.last_lock_ms), self.origin);
        move || {
            let now = origin.elapsed().as_millis() as u64;
            Duration::from_millis(now.saturating_sub(last.load(Ordering::SeqCst)))
                < RECORDER_STUCK_AFTER
        }
    }

    /// Stop the threads (call after the relay task ended) and let the recorder go.
    pub fn stop(mut self) {
        self.periodic.take();
        self.anchor.take();
        if let Some(l) = self.listener.take() {
            let _ = l.join();
        }
        self.watch_stop.store(true, Ordering::SeqCst);
        if let Some(w) = self.watch.take() {
            let _ = w.join();
        }
    }
}

/// The anchoring thread, if this device has its key (else heads are not anchored: logged).
fn start_anchoring(
    recorder: &Arc<Recorder>,
    config: &Config,
    mailbox: Arc<AnchorMailbox>,
) -> Option<AnchorWorker> {
    let signer = match DeviceSigner::load(&config.recorder.device_key, &config.device.name) {
        Ok(Some(s)) => s,
        Ok(None) => {
            tracing::warn!(
                key = %config.recorder.device_key.display(),
                "no device key: footage chain heads are not signed or anchored, exports are unsigned"
            );
            return None;
        }
        Err(e) => {
            tracing::error!(%e, "footage chain heads are not signed or anchored");
            return None;
        }
    };
    let hub_keys = config
        .sync
        .public_keys
        .iter()
        .filter_map(|k| parse_public_key(k).ok())
        .collect();
    AnchorWorker::spawn(
        Arc::clone(recorder.store()),
        signer,
        hub_keys,
        mailbox,
        Arc::new(RealClocks),
        Duration::from_secs(u64::from(config.recorder.anchor_interval_secs)),
    )
    .map_err(|e| tracing::error!(%e, "cannot start the footage anchoring thread"))
    .ok()
}

/// Forward applied queue events to the recorder's listener until shutdown; dropping `tx`
/// then closes the listener's channel.
async fn relay(
    mut rx: broadcast::Receiver<QueueEvent>,
    tx: broadcast::Sender<QueueEvent>,
    mut shutdown: Shutdown,
) {
    loop {
        tokio::select! {
            r = rx.recv() => match r {
                Ok(ev) => { let _ = tx.send(ev); }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "recorder relay fell behind; events skipped");
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = shutdown.recv() => return,
        }
    }
}

/// A `capture` request from the local socket.
pub async fn capture(
    recorder: Option<Arc<Recorder>>,
    counter: u32,
    record: RecordId,
    reason: Option<String>,
) -> Response {
    let Some(recorder) = recorder else {
        return Response::Error(WireError::failed(
            "this daemon runs no recorder: add [[recorder.cameras]] to the config",
        ));
    };
    let reason = match Reason::parse(reason.as_deref().unwrap_or("manual")) {
        Ok(r) => r,
        Err(e) => return Response::Error(WireError::failed(e.to_string())),
    };
    let r = tokio::task::spawn_blocking(move || recorder.capture(counter, &record, &reason)).await;
    match r {
        Ok(Ok(s)) => Response::Snapshot(captured(&s)),
        Ok(Err(e)) => Response::Error(WireError::failed(e.to_string())),
        Err(e) => Response::Error(WireError::failed(format!("capture task failed: {e}"))),
    }
}

pub fn captured(s: &Snapshot) -> Captured {
    Captured {
        id: s.id,
        sha256: s.sha256.clone(),
        bytes: s.bytes,
        counter: s.counter,
        record_id: s.record_id.clone(),
        captured_at: s.captured_at.clone(),
        reason: s.reason.clone(),
    }
}

/// Capture-button presses → the recorder, on a thread of their own; ends when every sender
/// (the device service's trigger) is gone.
pub fn spawn_button_captures(
    recorder: Arc<Recorder>,
    rx: mpsc::Receiver<SnapshotRequest>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("button-captures".into())
        .spawn(move || {
            for req in rx {
                let reason = match Reason::parse(req.reason) {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::error!(%e, "button reason");
                        continue;
                    }
                };
                match recorder.capture_for(req.counter, req.record_id.as_ref(), &reason) {
                    Ok(s) => tracing::info!(
                        counter = req.counter,
                        id = s.id,
                        record = ?req.record_id,
                        "snapshot for capture button"
                    ),
                    Err(e) => tracing::error!(counter = req.counter, %e, "button snapshot failed"),
                }
            }
        })
}
