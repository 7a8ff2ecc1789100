//! A simulated number-taking queue: a pure, seeded generator of realistic [`QueueEvent`]s for
//! a set of counters, driven by the time the caller gives it. Used by `motcua demo` (applied
//! to `catalog.db` every few seconds) and by the hub's simulator mode (`hub::sim`).
//!
//! API: [`QueueSimulator::new`] (seed, counter numbers, first sequence number, start time),
//! then [`QueueSimulator::advance_to`] with the current time, which returns the events due
//! since the last call, in order, with increasing `seq`. Same seed and times → same events.
//! Each counter cycles: called → started (with a record ID) → finished; about 1 in 10 calls
//! ends as a no-show; now and then a counter pauses for a few minutes. Waiting counts drift
//! between 0 and 15. No I/O, no clock reads.

use chrono::{DateTime, Duration, FixedOffset, SecondsFormat};

use crate::queue::{QueueEvent, QueueEventKind};
use crate::record::RecordId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Called,
    Serving,
    Paused,
}

#[derive(Debug, Clone)]
struct SimCounter {
    number: u32,
    phase: Phase,
    next_at: DateTime<FixedOffset>,
    tickets: u32,
    waiting: u32,
}

#[derive(Debug, Clone)]
pub struct QueueSimulator {
    rng: u64,
    counters: Vec<SimCounter>,
    next_seq: u64,
    records: u32,
    /// Durations are divided by this (1 = realistic; the demo uses a brisker pace).
    pace: u32,
}

impl QueueSimulator {
    /// Counters start idle and open at `start` (an `opened` event each on the first advance).
    pub fn new(seed: u64, counters: &[u32], first_seq: u64, start: DateTime<FixedOffset>) -> Self {
        let mut sim = QueueSimulator {
            rng: seed ^ 0x9E37_79B9_7F4A_7C15,
            counters: Vec::new(),
            next_seq: first_seq.max(1),
            records: 0,
            pace: 1,
        };
        for &number in counters {
            let waiting = sim.below(8);
            sim.counters.push(SimCounter {
                number,
                phase: Phase::Paused,
                next_at: start,
                tickets: 0,
                waiting,
            });
        }
        sim
    }

    /// Run `pace` times faster than real life (the demo uses ~6 so something changes every
    /// few seconds).
    pub fn with_pace(mut self, pace: u32) -> Self {
        self.pace = pace.max(1);
        self
    }

    /// The sequence number the next event will carry.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// When the next event is due (None: no counters).
    pub fn next_due(&self) -> Option<DateTime<FixedOffset>> {
        self.counters.iter().map(|c| c.next_at).min()
    }

    /// The pace that gives about one event every `secs` seconds across `counters` counters
    /// (a counter's cycle of call, start, finish takes ~375 s of simulated time).
    pub fn pace_for(secs: f64, counters: usize) -> u32 {
        let per_event = 125.0 / counters.max(1) as f64;
        (per_event / secs.max(0.01)).round().clamp(1.0, 10_000.0) as u32
    }

    /// All events due at or before `now`, in time order.
    pub fn advance_to(&mut self, now: DateTime<FixedOffset>) -> Vec<QueueEvent> {
        let mut out = Vec::new();
        loop {
            let Some(i) = (0..self.counters.len())
                .filter(|&i| self.counters[i].next_at <= now)
                .min_by_key(|&i| (self.counters[i].next_at, self.counters[i].number))
            else {
                return out;
            };
            out.push(self.step(i));
        }
    }

    fn step(&mut self, i: usize) -> QueueEvent {
        let at = self.counters[i].next_at;
        let drift = self.below(3) as i64 - 1;
        let c = &mut self.counters[i];
        c.waiting = (c.waiting as i64 + drift).clamp(0, 15) as u32;
        let number = c.number;
        let (kind, ticket, record, next_phase, secs) = match c.phase {
            Phase::Paused => (QueueEventKind::Opened, None, None, Phase::Idle, 5),
            Phase::Idle => {
                c.tickets += 1;
                let t = format!("{}{:03}", number, c.tickets % 1000);
                (QueueEventKind::Called, Some(t), None, Phase::Called, 0)
            }
            Phase::Called => (QueueEventKind::Started, None, Some(()), Phase::Serving, 0),
            Phase::Serving => (QueueEventKind::Finished, None, None, Phase::Idle, 0),
        };
        let mut kind = kind;
        let mut next_phase = next_phase;
        let roll = self.below(100);
        // Durations in seconds, before pace.
        let mut secs = match kind {
            QueueEventKind::Called => 20 + self.below(40) as i64,
            QueueEventKind::Started => 120 + self.below(360) as i64,
            QueueEventKind::Finished => 10 + self.below(50) as i64,
            _ => secs,
        };
        let mut record_id = None;
        if kind == QueueEventKind::Started && roll < 10 {
            kind = QueueEventKind::NoShow;
            next_phase = Phase::Idle;
            secs = 10;
        } else if kind == QueueEventKind::Finished && roll < 4 {
            kind = QueueEventKind::Paused;
            next_phase = Phase::Paused;
            secs = 180 + self.below(300) as i64;
        } else if record.is_some() {
            self.records += 1;
            let id = format!(
                "000.00.14.H56-{}-{:04}",
                at.format("%y%m%d"),
                self.records % 10_000
            );
            record_id = RecordId::parse(&id).ok();
        }
        let pace = self.pace as i64;
        let c = &mut self.counters[i];
        c.phase = next_phase;
        c.next_at = at + Duration::milliseconds(secs.max(1) * 1000 / pace);
        let seq = self.next_seq;
        self.next_seq += 1;
        QueueEvent {
            seq,
            counter: number,
            kind,
            ticket,
            record_id,
            waiting: Some(c.waiting),
            at: at.to_rfc3339_opts(SecondsFormat::Secs, false),
        }
    }

    /// xorshift64*: small, seeded, reproducible.
    fn below(&mut self, n: u32) -> u32 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        ((self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) % n.max(1) as u64) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::CounterState;

    fn t0() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-11-20T08:00:00+07:00").unwrap()
    }

    #[test]
    fn events_are_valid_ordered_and_reproducible() {
        let mut a = QueueSimulator::new(7, &[1, 2, 3], 1, t0());
        let mut b = QueueSimulator::new(7, &[1, 2, 3], 1, t0());
        let end = t0() + Duration::hours(3);
        let ea = a.advance_to(end);
        assert_eq!(ea, b.advance_to(end));
        assert!(ea.len() > 100, "{} events in 3 hours", ea.len());
        let mut states: Vec<Option<CounterState>> = vec![None; 4];
        for (i, e) in ea.iter().enumerate() {
            e.check().unwrap();
            assert_eq!(e.seq, 1 + i as u64);
            if i > 0 {
                assert!(e.at >= ea[i - 1].at);
            }
            let s = e.apply_to(states[e.counter as usize].as_ref());
            states[e.counter as usize] = Some(s);
        }
        for k in [
            QueueEventKind::Called,
            QueueEventKind::Started,
            QueueEventKind::Finished,
            QueueEventKind::NoShow,
        ] {
            assert!(ea.iter().any(|e| e.kind == k), "{k:?} happens");
        }
        assert!(ea
            .iter()
            .filter(|e| e.kind == QueueEventKind::Started)
            .all(|e| e.record_id.is_some()));
        assert!(
            a.advance_to(end).is_empty(),
            "nothing new without time passing"
        );
    }

    #[test]
    fn pace_makes_the_demo_brisk() {
        let mut sim = QueueSimulator::new(1, &[1, 2, 3, 4], 10, t0()).with_pace(6);
        let first = sim.advance_to(t0());
        assert_eq!(first.len(), 4, "every counter opens");
        assert_eq!(first[0].seq, 10);
        let minute = sim.advance_to(t0() + Duration::seconds(60));
        assert!(minute.len() >= 4, "{} events in a minute", minute.len());
        assert!(sim.next_due().unwrap() > t0() + Duration::seconds(60));
    }

    #[test]
    fn pace_for_a_mean_gap_between_events() {
        assert_eq!(QueueSimulator::pace_for(4.0, 4), 8);
        assert_eq!(
            QueueSimulator::pace_for(1000.0, 1),
            1,
            "never slower than life"
        );
        let counters = [1, 2, 3, 4];
        let mut sim = QueueSimulator::new(3, &counters, 1, t0())
            .with_pace(QueueSimulator::pace_for(4.0, counters.len()));
        let hour = sim.advance_to(t0() + Duration::hours(1));
        let gap = 3600.0 / hour.len() as f64;
        assert!((2.0..8.0).contains(&gap), "{gap:.1} s between events");
    }
}
