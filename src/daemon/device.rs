//! GPIO inside the daemon: `device::service::DeviceService` when `[gpio]` has pins, its
//! capture buttons wired to the recorder (the record served at that counter comes from the
//! queue board of `catalog.db`), and its motion and button events forwarded to the local
//! socket's subscribers (the kiosk) as `Notice`s.
//!
//! One process owns the pins: the daemon. Nothing here draws, stores or decides policy.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::broadcast;

use super::protocol::Notice;
use super::recording::spawn_button_captures;
use crate::config::GpioConfig;
use crate::device::button::{BoardRecords, SnapshotRequest, SnapshotTrigger};
use crate::device::clock::SystemClock;
use crate::device::gpio::Gpio;
use crate::device::service::{DeviceParts, DeviceService};
use crate::device::{DeviceEvent, EventBus};
use crate::recorder::Recorder;

/// The running GPIO side.
pub struct Device {
    pub service: Arc<DeviceService>,
    captures: Option<JoinHandle<()>>,
    bridge_stop: Arc<AtomicBool>,
    bridge: Option<JoinHandle<()>>,
}

/// Start the device service on `gpio`. Button presses go to `recorder` (when there is one;
/// otherwise they are logged and dropped); events go to `notices`.
pub fn start(
    config: &GpioConfig,
    gpio: Arc<dyn Gpio>,
    catalog_db: PathBuf,
    recorder: Option<Arc<Recorder>>,
    notices: broadcast::Sender<Notice>,
) -> anyhow::Result<Device> {
    let (tx, rx) = mpsc::channel::<SnapshotRequest>();
    let captures = match recorder {
        Some(r) => Some(spawn_button_captures(r, rx)?),
        None => {
            if !config.buttons.is_empty() {
                tracing::warn!("capture buttons configured but no cameras: presses are ignored");
            }
            None
        }
    };
    let bus = EventBus::new();
    let events = bus.subscribe();
    let trigger: Arc<dyn SnapshotTrigger> = Arc::new(Mutex::new(tx));
    let service = DeviceService::start(DeviceParts {
        config: config.clone(),
        gpio,
        bus,
        trigger,
        records: Arc::new(BoardRecords { catalog_db }),
        clock: Arc::new(SystemClock),
    })
    .map_err(|e| anyhow::anyhow!("GPIO: {e}"))?;
    let bridge_stop = Arc::new(AtomicBool::new(false));
    let stop = Arc::clone(&bridge_stop);
    let bridge = std::thread::Builder::new()
        .name("device-events".into())
        .spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let ev = match events.recv_timeout(Duration::from_millis(100)) {
                    Ok(ev) => ev,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => return,
                };
                let notice = match ev {
                    DeviceEvent::Motion { quiet_before } => Notice::Motion {
                        quiet_before_ms: quiet_before.map(|d| d.as_millis() as u64),
                    },
                    DeviceEvent::Button { counter } => Notice::Button { counter },
                    DeviceEvent::Touch => continue,
                };
                let _ = notices.send(notice); // no subscriber is fine
            }
        })?;
    Ok(Device {
        service: Arc::new(service),
        captures,
        bridge_stop,
        bridge: Some(bridge),
    })
}

impl Device {
    /// Release the pins and join the threads (other holders of `service` must be gone).
    pub fn stop(mut self) {
        self.bridge_stop.store(true, Ordering::SeqCst);
        if let Some(b) = self.bridge.take() {
            let _ = b.join();
        }
        match Arc::try_unwrap(self.service) {
            Ok(s) => {
                s.stop(); // drops the trigger: the captures thread ends
                if let Some(c) = self.captures.take() {
                    let _ = c.join();
                }
            }
            Err(_) => tracing::warn!("device service still referenced at shutdown"),
        }
    }
}
