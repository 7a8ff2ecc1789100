//! The number-taking queue: counter states and the events that change them.
//!
//! The central server numbers events with an increasing sequence; the appliance applies each
//! exactly once, in order (see `store::QueueStore`). The same events drive the kiosk's queue
//! board and the counter cameras (events with a record ID). Pure data and the state machine;
//! no I/O here.

use serde::{Deserialize, Serialize};

use crate::record::RecordId;

/// What a counter is doing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CounterStatus {
    /// Open, nobody called.
    Idle,
    /// A ticket was called; the citizen is on their way.
    Called,
    /// Serving a ticket (a record may be known).
    Serving,
    Paused,
    Closed,
}

impl CounterStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CounterStatus::Idle => "idle",
            CounterStatus::Called => "called",
            CounterStatus::Serving => "serving",
            CounterStatus::Paused => "paused",
            CounterStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<CounterStatus> {
        Some(match s {
            "idle" => CounterStatus::Idle,
            "called" => CounterStatus::Called,
            "serving" => CounterStatus::Serving,
            "paused" => CounterStatus::Paused,
            "closed" => CounterStatus::Closed,
            _ => return None,
        })
    }
}

/// One counter's state on the queue board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterState {
    pub counter: u32,
    pub status: CounterStatus,
    /// Ticket called or being served (e.g. "1023").
    pub ticket: Option<String>,
    /// Record being served, once the officer has opened it.
    pub record_id: Option<RecordId>,
    /// Citizens waiting for this counter.
    pub waiting: u32,
    /// RFC 3339 time of the last change.
    pub updated_at: String,
}

/// What happened at a counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueEventKind {
    Called,
    /// Service started; carries the record ID when known.
    Started,
    Finished,
    NoShow,
    Paused,
    Closed,
    /// Counter opened (or resumed after a pause).
    Opened,
    /// A ticket was issued for this counter (hub `POST /v1/tickets`, or a leased number
    /// reported after a network cut): only `waiting` changes.
    Issued,
}

impl QueueEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            QueueEventKind::Called => "called",
            QueueEventKind::Started => "started",
            QueueEventKind::Finished => "finished",
            QueueEventKind::NoShow => "no_show",
            QueueEventKind::Paused => "paused",
            QueueEventKind::Closed => "closed",
            QueueEventKind::Opened => "opened",
            QueueEventKind::Issued => "issued",
        }
    }
}

/// A queue event as the server sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueEvent {
    /// Server sequence number, strictly increasing.
    pub seq: u64,
    pub counter: u32,
    pub kind: QueueEventKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_id: Option<RecordId>,
    /// Citizens waiting for this counter after the event, when the server knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<u32>,
    /// RFC 3339.
    pub at: String,
}

/// Longest ticket label accepted.
pub const MAX_TICKET_LEN: usize = 16;

impl QueueEvent {
    /// Check what the record ID's type does not: counter range and ticket shape.
    pub fn check(&self) -> Result<(), String> {
        if self.counter == 0 || self.counter > 999 {
            return Err(format!(
                "event {}: counter {} is out of range 1..=999",
                self.seq, self.counter
            ));
        }
        if let Some(t) = &self.ticket {
            if t.is_empty()
                || t.len() > MAX_TICKET_LEN
                || !t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(format!(
                    "event {}: ticket must be 1–{MAX_TICKET_LEN} letters or digits",
                    self.seq
                ));
            }
        }
        if chrono::DateTime::parse_from_rfc3339(&self.at).is_err() {
            return Err(format!(
                "event {}: time {:?} is not RFC 3339",
                self.seq, self.at
            ));
        }
        Ok(())
    }

    /// The counter's state after this event, from its state before (None: never seen).
    pub fn apply_to(&self, before: Option<&CounterState>) -> CounterState {
        let mut s = before.cloned().unwrap_or(CounterState {
            counter: self.counter,
            status: CounterStatus::Idle,
            ticket: None,
            record_id: None,
            waiting: 0,
            updated_at: self.at.clone(),
        });
        match self.kind {
            QueueEventKind::Called => {
                s.status = CounterStatus::Called;
                s.ticket = self.ticket.clone();
                s.record_id = None;
            }
            QueueEventKind::Started => {
                s.status = CounterStatus::Serving;
                if self.ticket.is_some() {
                    s.ticket = self.ticket.clone();
                }
                s.record_id = self.record_id.clone();
            }
            QueueEventKind::Finished | QueueEventKind::NoShow | QueueEventKind::Opened => {
                s.status = CounterStatus::Idle;
                s.record_id = None;
            }
            QueueEventKind::Paused => s.status = CounterStatus::Paused,
            QueueEventKind::Issued => {}
            QueueEventKind::Closed => {
                s.status = CounterStatus::Closed;
                s.ticket = None;
                s.record_id = None;
            }
        }
        if let Some(w) = self.waiting {
            s.waiting = w;
        }
        s.updated_at = self.at.clone();
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(
        seq: u64,
        kind: QueueEventKind,
        ticket: Option<&str>,
        record: Option<&str>,
    ) -> QueueEvent {
        QueueEvent {
            seq,
            counter: 2,
            kind,
            ticket: ticket.map(str::to_owned),
            record_id: record.map(|r| RecordId::parse(r).unwrap()),
            waiting: Some(seq as u32),
            at: "2026-11-23T08:00:00+07:00".into(),
        }
    }

    #[test]
    fn a_ticket_goes_through_its_life() {
        let called = ev(1, QueueEventKind::Called, Some("2001"), None).apply_to(None);
        assert_eq!(called.status, CounterStatus::Called);
        assert_eq!(called.ticket.as_deref(), Some("2001"));
        let started = ev(
            2,
            QueueEventKind::Started,
            None,
            Some("000.00.14.H56-261123-0001"),
        )
        .apply_to(Some(&called));
        assert_eq!(started.status, CounterStatus::Serving);
        assert_eq!(started.ticket.as_deref(), Some("2001"));
        assert_eq!(
            started.record_id.as_ref().unwrap().as_str(),
            "000.00.14.H56-261123-0001"
        );
        let done = ev(3, QueueEventKind::Finished, None, None).apply_to(Some(&started));
        assert_eq!(done.status, CounterStatus::Idle);
        assert_eq!(done.record_id, None);
        assert_eq!(done.waiting, 3);
        let closed = ev(4, QueueEventKind::Closed, None, None).apply_to(Some(&done));
        assert_eq!(
            (closed.status, closed.ticket),
            (CounterStatus::Closed, None)
        );
    }

    #[test]
    fn bad_events_are_named() {
        let mut e = ev(7, QueueEventKind::Called, Some("<b>"), None);
        assert_eq!(
            e.check().unwrap_err(),
            "event 7: ticket must be 1–16 letters or digits"
        );
        e.ticket = Some("A12".into());
        e.counter = 0;
        assert_eq!(
            e.check().unwrap_err(),
            "event 7: counter 0 is out of range 1..=999"
        );
        e.counter = 3;
        e.at = "yesterday".into();
        assert_eq!(
            e.check().unwrap_err(),
            "event 7: time \"yesterday\" is not RFC 3339"
        );
    }
}
