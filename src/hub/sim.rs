//! The hub's queue simulator (`motcua hub serve --simulate`): a seeded generator of realistic
//! counter activity — call, start with a record ID, finish or no-show, the odd pause — that
//! the hub appends to its event log as if officers were working.
//!
//! The hub only needs an [`EventSource`]; the kiosk issue's pure `QueueSimulator`
//! (`src/queue_sim.rs`) is meant to implement it once merged. Until then [`SimpleQueue`] is
//! the hub's own small generator. No I/O here; time comes in as arguments.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::queue::{QueueEvent, QueueEventKind};
use crate::record::{RecordId, RecordStage, RecordStatus};

/// Something that produces the next queue event and how long to wait before it.
/// The hub assigns `seq`; whatever the source put there is ignored.
pub trait EventSource: Send + 'static {
    fn next_event(&mut self, now: DateTime<Utc>) -> (Duration, QueueEvent);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Called,
    Serving,
    Paused,
}

/// A few counters cycling through tickets, deterministic for a seed.
pub struct SimpleQueue {
    rng: u64,
    counters: Vec<(u32, Phase, u32, u32)>,
    /// Mean seconds between events.
    pace: f64,
    records: u32,
}

impl SimpleQueue {
    pub fn new(seed: u64, counters: u32, pace: Duration) -> SimpleQueue {
        SimpleQueue {
            rng: seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407)
                | 1,
            counters: (1..=counters.max(1))
                .map(|c| (c, Phase::Idle, 0, 3))
                .collect(),
            pace: pace.as_secs_f64(),
            records: 0,
        }
    }

    fn next_u32(&mut self, n: u32) -> u32 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng % n.max(1) as u64) as u32
    }

    /// Record statuses for records the simulator started (so lookups find them).
    pub fn record_for(event: &QueueEvent, now: DateTime<Utc>) -> Option<RecordStatus> {
        let id = event.record_id.clone()?;
        let received = id.received_on();
        Some(RecordStatus {
            id,
            procedure: None,
            stage: RecordStage::InProgress,
            received_on: received,
            due_on: received + chrono::Days::new(5),
            completed_on: None,
        })
        .filter(|_| now.timestamp() > 0)
    }
}

impl EventSource for SimpleQueue {
    fn next_event(&mut self, now: DateTime<Utc>) -> (Duration, QueueEvent) {
        let i = self.next_u32(self.counters.len() as u32) as usize;
        let roll = self.next_u32(100);
        let (counter, phase, ticket, waiting) = self.counters[i];
        let mut record_id = None;
        let (kind, next, ticket, waiting) = match phase {
            Phase::Idle if roll < 5 => (QueueEventKind::Paused, Phase::Paused, ticket, waiting),
            Phase::Idle => (
                QueueEventKind::Called,
                Phase::Called,
                ticket + 1,
                (waiting + self.next_u32(3)).saturating_sub(1),
            ),
            Phase::Called if roll < 10 => (QueueEventKind::NoShow, Phase::Idle, ticket, waiting),
            Phase::Called => {
                self.records += 1;
                let id = format!(
                    "000.00.14.H56-{}-{:04}",
                    now.format("%y%m%d"),
                    self.records % 10_000
                );
                record_id = RecordId::parse(&id).ok();
                (QueueEventKind::Started, Phase::Serving, ticket, waiting)
            }
            Phase::Serving => (QueueEventKind::Finished, Phase::Idle, ticket, waiting),
            Phase::Paused => (QueueEventKind::Opened, Phase::Idle, ticket, waiting),
        };
        self.counters[i] = (counter, next, ticket, waiting);
        let label = format!("{}", counter * 1000 + ticket % 1000);
        let event = QueueEvent {
            seq: 0,
            counter,
            kind,
            ticket: matches!(kind, QueueEventKind::Called | QueueEventKind::Started)
                .then_some(label),
            record_id,
            waiting: Some(waiting),
            at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
        };
        let delay = self.pace * (0.5 + self.next_u32(1000) as f64 / 1000.0);
        (Duration::from_secs_f64(delay), event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_events_are_valid_and_deterministic() {
        let now = Utc::now();
        let run = |seed| {
            let mut s = SimpleQueue::new(seed, 4, Duration::from_secs(3));
            (0..200).map(|_| s.next_event(now).1).collect::<Vec<_>>()
        };
        let a = run(7);
        assert_eq!(a, run(7));
        assert_ne!(a, run(8));
        for e in &a {
            e.check().unwrap();
        }
        assert!(a
            .iter()
            .any(|e| e.kind == QueueEventKind::Started && e.record_id.is_some()));
    }
}
