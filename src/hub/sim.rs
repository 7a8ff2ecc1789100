//! The hub's simulator mode (`motcua hub serve --simulate`): the shared seeded generator
//! [`QueueSimulator`] (`src/queue_sim.rs`, also behind `motcua demo`) run on the hub's clock,
//! each event appended to the hub's log when it is due as if officers were working, and the
//! records it starts made known to record lookups.

use chrono::{DateTime, FixedOffset, Utc};

use super::HubState;
use crate::queue::{QueueEvent, QueueEventKind};
use crate::queue_sim::QueueSimulator;
use crate::record::{RecordStage, RecordStatus};

/// A simulator for `counters` counters (numbered from 1) giving about one event every
/// `pace_secs` seconds, starting now.
pub fn simulator(seed: u64, counters: u32, pace_secs: f64) -> QueueSimulator {
    let numbers: Vec<u32> = (1..=counters.max(1)).collect();
    let pace = QueueSimulator::pace_for(pace_secs, numbers.len());
    QueueSimulator::new(seed, &numbers, 1, Utc::now().fixed_offset()).with_pace(pace)
}

/// The status lookups answer for a record the simulator started: in progress, due in 5 days.
pub fn record_for(event: &QueueEvent) -> Option<RecordStatus> {
    if event.kind != QueueEventKind::Started {
        return None;
    }
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
}

/// Append simulated events as they fall due, until the process ends. The hub assigns `seq`.
pub async fn run(state: HubState, mut sim: QueueSimulator) {
    let now = || -> DateTime<FixedOffset> { Utc::now().fixed_offset() };
    while let Some(due) = sim.next_due() {
        if let Ok(wait) = (due - now()).to_std() {
            tokio::time::sleep(wait).await;
        }
        for event in sim.advance_to(now()) {
            match state.push_event(&event).await {
                Ok(stored) => {
                    if let Some(s) = record_for(&stored) {
                        if let Err(e) = state.store().set_record(&s).await {
                            tracing::warn!("simulator: {e}");
                        }
                    }
                }
                Err(e) => tracing::warn!("simulator: {e}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn started_records_become_lookups_and_nothing_else_does() {
        let mut sim = simulator(7, 3, 0.5);
        let events = sim.advance_to(Utc::now().fixed_offset() + chrono::Duration::minutes(10));
        assert!(events.len() > 20, "{} events", events.len());
        let records: Vec<_> = events.iter().filter_map(record_for).collect();
        let started = events
            .iter()
            .filter(|e| e.kind == QueueEventKind::Started)
            .count();
        assert_eq!(records.len(), started);
        assert!(records
            .iter()
            .all(|r| r.stage == RecordStage::InProgress && r.due_on > r.received_on));
    }

    #[tokio::test]
    async fn the_hub_appends_events_when_due_and_knows_their_records() {
        let dir = tempfile::tempdir().unwrap();
        let state = HubState::open(dir.path()).unwrap();
        // ~20 ms apart: a second of real time gives dozens of events.
        let task = tokio::spawn(run(state.clone(), simulator(5, 2, 0.02)));
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        task.abort();
        let events = state.db().events_after(0, 10_000).unwrap();
        assert!(events.len() >= 10, "{} events", events.len());
        for (i, e) in events.iter().enumerate() {
            assert_eq!(e.seq, i as u64 + 1, "the hub numbers them");
            e.check().unwrap();
        }
        let started = events.iter().rev().find_map(|e| e.record_id.clone());
        let id = started.expect("some record was started");
        assert!(state.db().record(&id).unwrap().is_some(), "{id:?} is known");
    }
}
