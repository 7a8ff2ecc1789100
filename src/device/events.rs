//! What the device layer tells the rest of the appliance: motion, a capture button pressed, a
//! touch reported by the kiosk. A tiny fan-out bus over `std::sync::mpsc` so the kiosk (Slint
//! event loop), the daemon (tokio) and the display controller can each subscribe.
//!
//! Publishing never blocks and never fails; a subscriber that went away is dropped silently.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One thing that happened at the appliance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceEvent {
    /// The PIR sensor saw someone. `quiet_before` is how long the sensor had been idle before
    /// this edge (`None` for the first one since start): the kiosk should only go back to the
    /// home screen when that is longer than its own idle time (someone new approached).
    Motion { quiet_before: Option<Duration> },
    /// A counter's capture button was pressed (after debouncing).
    Button { counter: u32 },
    /// The kiosk saw a touch; published by the kiosk so the display wakes and stays awake.
    Touch,
}

/// A cheap-to-clone fan-out of [`DeviceEvent`]s.
#[derive(Debug, Clone, Default)]
pub struct EventBus {
    subscribers: Arc<Mutex<Vec<Sender<DeviceEvent>>>>,
}

impl EventBus {
    pub fn new() -> EventBus {
        EventBus::default()
    }

    /// A new receiver of every event published from now on.
    pub fn subscribe(&self) -> Receiver<DeviceEvent> {
        let (tx, rx) = channel();
        self.lock().push(tx);
        rx
    }

    /// Deliver `event` to every live subscriber.
    pub fn publish(&self, event: DeviceEvent) {
        self.lock().retain(|tx| tx.send(event.clone()).is_ok());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Sender<DeviceEvent>>> {
        self.subscribers.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subscriber_gets_each_event_and_dead_ones_are_dropped() {
        let bus = EventBus::new();
        let a = bus.subscribe();
        let b = bus.subscribe();
        bus.publish(DeviceEvent::Button { counter: 2 });
        drop(b);
        bus.publish(DeviceEvent::Touch);
        assert_eq!(a.try_recv().unwrap(), DeviceEvent::Button { counter: 2 });
        assert_eq!(a.try_recv().unwrap(), DeviceEvent::Touch);
        assert_eq!(bus.subscribers.lock().unwrap().len(), 1);
    }
}
