//! The appliance's hardware and health: GPIO (PIR sensor, counter capture buttons, status LED),
//! screen power, systemd notification and watchdog, signal handling, and the health report.
//!
//! Hardware and time sit behind small traits with a real and a fake implementation side by
//! side (`gpio::Gpio`: GPIO character device or rppal / `FakeGpio`; `clock::Clock`; sysfs under an injectable root).
//! This module never captures images, never writes the stores and never draws UI: it reaches
//! the recorder through `button::SnapshotTrigger` and the kiosk through `events::EventBus`.
//! See docs/device.md for what is wired where.

pub mod backlight;
pub mod button;
/// Re-exported: the device layer and the kiosk share one clock abstraction.
pub use crate::clock;
pub mod config;
pub mod display;
pub mod events;
pub mod gpio;
pub mod gpio_cdev;
pub mod health;
pub mod led;
pub mod motion;
pub mod notify;
pub mod service;
pub mod shutdown;
pub mod watchdog;

pub use events::{DeviceEvent, EventBus};
pub use health::{HealthLevel, HealthReport};
