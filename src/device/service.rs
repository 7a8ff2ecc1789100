//! The GPIO side of the daemon, wired: the PIR sensor and the counters' capture buttons feed
//! the [`EventBus`] (and buttons a [`SnapshotTrigger`]); the status LED shows the health level.
//! One thread owns the edge channel and the LED; start it with [`DeviceService::start`].
//!
//! Holds no policy of its own (debounce, motion and LED rules are in their files) and never
//! opens GPIO when no pin is configured.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::button::{request_for_press, CurrentRecord, Debouncer, SnapshotTrigger};
use super::clock::Clock;
use super::events::{DeviceEvent, EventBus};
use super::gpio::{Bias, Gpio, GpioError, InputWatch};
use super::health::HealthLevel;
use super::led::{LedPattern, StatusLed};
use super::motion::MotionDetector;
use crate::config::GpioConfig;

/// How often the LED is refreshed when no edge arrives.
const TICK: Duration = Duration::from_millis(20);

/// Everything the service is connected to.
pub struct DeviceParts {
    pub config: GpioConfig,
    pub gpio: Arc<dyn Gpio>,
    pub bus: EventBus,
    pub trigger: Arc<dyn SnapshotTrigger>,
    pub records: Arc<dyn CurrentRecord>,
    pub clock: Arc<dyn Clock>,
}

/// The running service; [`DeviceService::stop`] (or drop) ends it and releases the pins.
pub struct DeviceService {
    stop: Arc<AtomicBool>,
    health: Arc<AtomicU8>,
    thread: Option<JoinHandle<()>>,
}

fn level_code(l: HealthLevel) -> u8 {
    match l {
        HealthLevel::Ok => 0,
        HealthLevel::Degraded => 1,
        HealthLevel::Fault => 2,
    }
}

impl DeviceService {
    /// Configure every pin and start the thread. Fails (naming the pin) if any pin cannot be
    /// used; nothing is left configured then.
    pub fn start(p: DeviceParts) -> Result<DeviceService, GpioError> {
        let (tx, rx) = channel();
        let cfg = &p.config;
        let mut watches: Vec<Box<dyn InputWatch>> = Vec::new();
        let pir = cfg.pir_pin;
        if let Some(pin) = pir {
            let bias = if cfg.pir_active_high {
                Bias::PullDown
            } else {
                Bias::PullUp
            };
            watches.push(p.gpio.watch(pin, bias, tx.clone())?);
        }
        let bias = if cfg.buttons_active_low {
            Bias::PullUp
        } else {
            Bias::PullDown
        };
        let quiet = Duration::from_millis(u64::from(cfg.debounce_ms));
        let mut buttons = Vec::new();
        for b in &cfg.buttons {
            watches.push(p.gpio.watch(b.pin, bias, tx.clone())?);
            buttons.push((
                b.pin,
                b.counter,
                Debouncer::new(quiet, !cfg.buttons_active_low),
            ));
        }
        drop(tx);
        let mut led = match cfg.status_led_pin {
            Some(pin) => Some(StatusLed::new(
                p.gpio.output(pin)?,
                cfg.status_led_active_high,
                p.clock.now(),
            )),
            None => None,
        };
        let stop = Arc::new(AtomicBool::new(false));
        let health = Arc::new(AtomicU8::new(level_code(HealthLevel::Ok)));
        let (s, h) = (stop.clone(), health.clone());
        let mut motion = MotionDetector::new(cfg.pir_active_high);
        let thread = std::thread::Builder::new()
            .name("device-io".into())
            .spawn(move || {
                let _watches = watches; // edges flow while these live
                while !s.load(Ordering::Relaxed) {
                    match rx.recv_timeout(TICK) {
                        Ok(edge) if Some(edge.pin) == pir => {
                            if let Some(ev) = motion.on_edge(edge.high, edge.at) {
                                tracing::info!("motion");
                                p.bus.publish(ev);
                            }
                        }
                        Ok(edge) => {
                            if let Some((_, counter, d)) =
                                buttons.iter_mut().find(|b| b.0 == edge.pin)
                            {
                                if d.on_edge(edge.high, edge.at) {
                                    let req =
                                        request_for_press(*counter, p.records.as_ref(), &p.trigger);
                                    tracing::info!(
                                        "capture button: counter {} record {:?}",
                                        req.counter,
                                        req.record_id
                                    );
                                    p.bus.publish(DeviceEvent::Button { counter: *counter });
                                }
                            }
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => std::thread::sleep(TICK),
                    }
                    if let Some(led) = led.as_mut() {
                        let level = match h.load(Ordering::Relaxed) {
                            0 => HealthLevel::Ok,
                            1 => HealthLevel::Degraded,
                            _ => HealthLevel::Fault,
                        };
                        led.set_pattern(LedPattern::for_health(level), p.clock.now());
                    }
                }
            })
            .map_err(|e| GpioError::Other(format!("cannot start the device thread: {e}")))?;
        Ok(DeviceService {
            stop,
            health,
            thread: Some(thread),
        })
    }

    /// Show `level` on the status LED from now on.
    pub fn set_health(&self, level: HealthLevel) {
        self.health.store(level_code(level), Ordering::Relaxed);
    }

    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for DeviceService {
    fn drop(&mut self) {
        self.shutdown();
    }
}
