//! Queue tables of `catalog.db`: the board's counter states and the applied event log.
//!
//! Events are applied exactly once and in order: an event whose sequence number is not above
//! the last applied one is skipped (a replay after reconnect is harmless). State and log change
//! in one transaction. Readers (the kiosk) watch `PRAGMA data_version` to notice changes cheaply.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::StoreError;
use crate::queue::{CounterState, CounterStatus, QueueEvent};
use crate::record::RecordId;

/// Events kept in the log; older ones are pruned as new ones arrive.
pub const KEEP_EVENTS: i64 = 10_000;

/// What applying a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Applied {
    pub applied: usize,
    /// Already applied (sequence not above the last one): skipped.
    pub skipped: usize,
}

/// Last applied event sequence number (0 when none).
pub fn last_seq(conn: &Connection) -> Result<u64, StoreError> {
    let seq: Option<i64> = conn.query_row("SELECT max(seq) FROM queue_events", [], |r| r.get(0))?;
    Ok(seq.unwrap_or(0) as u64)
}

/// Apply events in one transaction. Each must have passed [`QueueEvent::check`].
pub fn apply_events(conn: &mut Connection, events: &[QueueEvent]) -> Result<Applied, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut last = last_seq(&tx)?;
    let mut done = Applied::default();
    for e in events {
        if e.seq <= last {
            done.skipped += 1;
            continue;
        }
        let before = counter_state(&tx, e.counter)?;
        let after = e.apply_to(before.as_ref());
        tx.execute(
            "INSERT INTO queue_counters (counter, status, ticket, record_id, waiting, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (counter) DO UPDATE SET status = excluded.status, ticket = excluded.ticket,
                 record_id = excluded.record_id, waiting = excluded.waiting,
                 updated_at = excluded.updated_at",
            params![
                after.counter,
                after.status.as_str(),
                after.ticket,
                after.record_id.as_ref().map(RecordId::as_str),
                after.waiting,
                after.updated_at
            ],
        )?;
        insert_event(&tx, e)?;
        last = e.seq;
        done.applied += 1;
    }
    tx.execute(
        "DELETE FROM queue_events WHERE seq <= (SELECT max(seq) FROM queue_events) - ?1",
        [KEEP_EVENTS],
    )?;
    tx.commit()?;
    Ok(done)
}

/// Append one event to a `queue_events` table (the appliance's catalog.db and the hub's hub.db
/// share this table's shape).
pub fn insert_event(conn: &Connection, e: &QueueEvent) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO queue_events (seq, counter, kind, ticket, record_id, waiting, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            e.seq as i64,
            e.counter,
            e.kind.as_str(),
            e.ticket,
            e.record_id.as_ref().map(RecordId::as_str),
            e.waiting,
            e.at
        ],
    )?;
    Ok(())
}

fn counter_state(conn: &Connection, counter: u32) -> Result<Option<CounterState>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT counter, status, ticket, record_id, waiting, updated_at
             FROM queue_counters WHERE counter = ?1",
            [counter],
            row_to_state,
        )
        .optional()?)
}

fn row_to_state(r: &rusqlite::Row<'_>) -> rusqlite::Result<CounterState> {
    let status: String = r.get(1)?;
    let record: Option<String> = r.get(3)?;
    Ok(CounterState {
        counter: r.get(0)?,
        status: CounterStatus::parse(&status).unwrap_or(CounterStatus::Idle),
        ticket: r.get(2)?,
        // Stored IDs were validated on the way in; an unparsable one is dropped, not trusted.
        record_id: record.and_then(|r| RecordId::parse(&r).ok()),
        waiting: r.get(4)?,
        updated_at: r.get(5)?,
    })
}

/// All counters' states, by counter number.
pub fn board(conn: &Connection) -> Result<Vec<CounterState>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT counter, status, ticket, record_id, waiting, updated_at
         FROM queue_counters ORDER BY counter",
    )?;
    let rows = stmt.query_map([], row_to_state)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Changes whenever another connection commits to the database (cheap change detection).
pub fn data_version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("PRAGMA data_version", [], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::QueueEventKind;
    use crate::store::{open_connection, Access, CatalogStore};

    fn ev(seq: u64, counter: u32, kind: QueueEventKind) -> QueueEvent {
        QueueEvent {
            seq,
            counter,
            kind,
            ticket: Some(format!("{counter}{seq:03}")),
            record_id: None,
            waiting: Some(5),
            at: "2026-11-23T08:00:00+07:00".into(),
        }
    }

    #[test]
    fn events_apply_once_in_order_and_readers_see_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.db");
        drop(CatalogStore::open(&path).unwrap());
        let mut w = open_connection(&path, Access::ReadWrite).unwrap();
        let r = open_connection(&path, Access::ReadOnly).unwrap();
        let v0 = data_version(&r).unwrap();
        let a = apply_events(
            &mut w,
            &[
                ev(1, 1, QueueEventKind::Called),
                ev(2, 2, QueueEventKind::Called),
            ],
        )
        .unwrap();
        assert_eq!(
            a,
            Applied {
                applied: 2,
                skipped: 0
            }
        );
        assert_ne!(data_version(&r).unwrap(), v0);
        // A replay of 2 plus a new 3: only 3 applies.
        let a = apply_events(
            &mut w,
            &[
                ev(2, 2, QueueEventKind::Called),
                ev(3, 1, QueueEventKind::Paused),
            ],
        )
        .unwrap();
        assert_eq!(
            a,
            Applied {
                applied: 1,
                skipped: 1
            }
        );
        assert_eq!(last_seq(&r).unwrap(), 3);
        let b = board(&r).unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].status, CounterStatus::Paused);
        assert_eq!(b[0].ticket.as_deref(), Some("1001"));
        assert_eq!(b[1].status, CounterStatus::Called);
    }
}
