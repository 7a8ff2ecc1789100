//! Counter capture buttons: debouncing raw edges into presses, and turning a press into a
//! snapshot request for the record currently served at that counter.
//!
//! The recorder is reached only through [`SnapshotTrigger`] (the lead wires it to the
//! recorder's `capture`); the current record only through [`CurrentRecord`] (real: the queue
//! board in `catalog.db`). Never captures, stores or decodes anything itself.

use std::path::PathBuf;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::record::RecordId;
use crate::store::{open_connection, queue_store, Access};

/// Why a snapshot is asked for, as stored with it.
pub const REASON_BUTTON: &str = "button";

/// Turns raw edges of one button into presses.
///
/// Rule: a press is an edge to the active level that follows at least `quiet` of no edges at
/// all. Contact bounce on press and on release is a burst of edges closer than `quiet`, so it
/// never counts; the first edge of a real press counts at once (no added latency).
#[derive(Debug, Clone)]
pub struct Debouncer {
    quiet: Duration,
    active_high: bool,
    last_edge: Option<Instant>,
}

impl Debouncer {
    pub fn new(quiet: Duration, active_high: bool) -> Debouncer {
        Debouncer {
            quiet,
            active_high,
            last_edge: None,
        }
    }

    /// Feed one edge (level after it, and when); true when it is a press.
    pub fn on_edge(&mut self, high: bool, at: Instant) -> bool {
        let quiet_enough = match self.last_edge {
            None => true,
            Some(prev) => at.saturating_duration_since(prev) >= self.quiet,
        };
        self.last_edge = Some(at);
        quiet_enough && high == self.active_high
    }
}

/// A request for a counter camera snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRequest {
    pub counter: u32,
    /// The record being served at that counter when the button was pressed, if any.
    pub record_id: Option<RecordId>,
    /// Always [`REASON_BUTTON`] from here.
    pub reason: &'static str,
}

/// Where snapshot requests go: the recorder's trigger path.
pub trait SnapshotTrigger: Send + Sync {
    fn request(&self, req: SnapshotRequest);
}

/// A channel is a trigger: the recorder side receives and calls its `capture`.
impl SnapshotTrigger for Mutex<Sender<SnapshotRequest>> {
    fn request(&self, req: SnapshotRequest) {
        let tx = self.lock().unwrap_or_else(|e| e.into_inner());
        if tx.send(req).is_err() {
            tracing::warn!("snapshot request dropped: the recorder is not running");
        }
    }
}

/// Remembers every request (tests, demo).
#[derive(Debug, Default)]
pub struct RecordingTrigger(pub Mutex<Vec<SnapshotRequest>>);

impl SnapshotTrigger for RecordingTrigger {
    fn request(&self, req: SnapshotRequest) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(req);
    }
}

/// Which record a counter is serving now.
pub trait CurrentRecord: Send + Sync {
    fn at_counter(&self, counter: u32) -> Option<RecordId>;
}

/// The real source: the queue board in `catalog.db`, read-only, opened per press (presses are
/// rare; no connection is held open across catalog replacements).
#[derive(Debug, Clone)]
pub struct BoardRecords {
    pub catalog_db: PathBuf,
}

impl CurrentRecord for BoardRecords {
    fn at_counter(&self, counter: u32) -> Option<RecordId> {
        let board = open_connection(&self.catalog_db, Access::ReadOnly)
            .and_then(|c| queue_store::board(&c));
        match board {
            Ok(b) => b
                .into_iter()
                .find(|s| s.counter == counter)
                .and_then(|s| s.record_id),
            Err(e) => {
                tracing::warn!("capture button: cannot read the queue board: {e}");
                None
            }
        }
    }
}

/// Fixed answers (tests, demo).
impl CurrentRecord for Mutex<std::collections::HashMap<u32, RecordId>> {
    fn at_counter(&self, counter: u32) -> Option<RecordId> {
        self.lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&counter)
            .cloned()
    }
}

/// A press at `counter` becomes a snapshot request linked to its current record.
pub fn request_for_press(
    counter: u32,
    records: &dyn CurrentRecord,
    trigger: &Arc<dyn SnapshotTrigger>,
) -> SnapshotRequest {
    let req = SnapshotRequest {
        counter,
        record_id: records.at_counter(counter),
        reason: REASON_BUTTON,
    };
    trigger.request(req.clone());
    req
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::clock::{Clock, MockClock};

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn bounce_on_press_and_release_counts_once() {
        let clock = MockClock::default();
        let mut d = Debouncer::new(30 * MS, false); // active low
        let mut presses = 0;
        // press with bounce: low, high, low, high, low within 4 ms
        for high in [false, true, false, true, false] {
            presses += d.on_edge(high, clock.now()) as u32;
            clock.advance(MS);
        }
        assert_eq!(presses, 1);
        clock.advance(200 * MS);
        // release with bounce: high, low, high
        for high in [true, false, true] {
            presses += d.on_edge(high, clock.now()) as u32;
            clock.advance(MS);
        }
        assert_eq!(presses, 1, "release chatter is not a press");
        clock.advance(500 * MS);
        assert!(d.on_edge(false, clock.now()), "a second real press counts");
    }

    #[test]
    fn quiet_boundary_is_inclusive_and_inactive_edges_never_press() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(30 * MS, true);
        assert!(!d.on_edge(false, t0));
        assert!(
            !d.on_edge(true, t0 + 29 * MS),
            "29 ms after an edge is bounce"
        );
        assert!(!d.on_edge(false, t0 + 40 * MS));
        assert!(
            d.on_edge(true, t0 + 70 * MS),
            "exactly 30 ms of quiet counts"
        );
    }

    #[test]
    fn press_requests_a_snapshot_of_the_current_record() {
        let id = RecordId::parse("000.00.14.H56-200203-0118").unwrap();
        let records = Mutex::new(std::collections::HashMap::from([(2, id.clone())]));
        let rec = Arc::new(RecordingTrigger::default());
        let trigger: Arc<dyn SnapshotTrigger> = rec.clone();
        request_for_press(2, &records, &trigger);
        request_for_press(3, &records, &trigger);
        let got = rec.0.lock().unwrap().clone();
        assert_eq!(
            got,
            vec![
                SnapshotRequest {
                    counter: 2,
                    record_id: Some(id),
                    reason: "button"
                },
                SnapshotRequest {
                    counter: 3,
                    record_id: None,
                    reason: "button"
                }
            ]
        );
    }
}
