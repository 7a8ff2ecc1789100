//! Tickets in `hub.db`: issuing (gapless per counter per local day, under the write lock of
//! `BEGIN IMMEDIATE`, in the same transaction as the `issued` queue event), leases of numbers
//! for offline issuing, their reports, and the public follow page's query. The rules (time
//! zone, labels) come from `hub::tickets`.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{now_text, HubDb, HubError};
use crate::hub::tickets::{
    new_follow_token, Follow, IssueOutcome, IssueRequest, Lease, LeaseRequest, Replaced,
    ReportOutcome, Reported, ReportedNumber, Ticket, TicketRules,
};
use crate::queue::{QueueEvent, QueueEventKind};

/// A call of a ticket takes it out of the waiting line (for "how many ahead"): the ticket of
/// that label issued on `today` (`TicketRules::today`; labels repeat every day).
pub(super) fn mark_called(conn: &Connection, e: &QueueEvent, today: &str) -> rusqlite::Result<()> {
    if let (Some(label), true) = (
        &e.ticket,
        matches!(
            e.kind,
            QueueEventKind::Called
                | QueueEventKind::Started
                | QueueEventKind::NoShow
                | QueueEventKind::Finished
        ),
    ) {
        conn.execute(
            "UPDATE tickets SET called = 1 WHERE counter = ?1 AND label = ?2 AND called = 0 \
             AND day = ?3",
            params![e.counter, label, today],
        )?;
    }
    Ok(())
}

const TICKET_COLUMNS: &str = "label, counter, n, day, issued_at, seq, follow";

fn ticket_row(conn: &Connection, r: &rusqlite::Row<'_>) -> rusqlite::Result<Ticket> {
    let (counter, n, day): (u32, i64, String) = (r.get(1)?, r.get(2)?, r.get(3)?);
    Ok(Ticket {
        ticket: r.get(0)?,
        counter,
        number: n as u64,
        issued_at: r.get(4)?,
        seq: r.get::<_, i64>(5)? as u64,
        follow: r.get(6)?,
        ahead: ahead(conn, counter, &day, n)?,
        day,
    })
}

fn ahead(conn: &Connection, counter: u32, day: &str, n: i64) -> rusqlite::Result<u64> {
    conn.query_row(
        "SELECT count(*) FROM tickets WHERE counter = ?1 AND day = ?2 AND n < ?3 AND called = 0",
        params![counter, day, n],
        |r| r.get::<_, i64>(0),
    )
    .map(|c| c as u64)
}

/// Enter number `n` as issued: its `issued` queue event and its row, in `tx`.
#[allow(clippy::too_many_arguments)]
fn enter(
    tx: &Connection,
    device: &str,
    counter: u32,
    day: &str,
    n: u64,
    label: &str,
    key: Option<(&str, &str)>,
    procedure: Option<&str>,
    issued_at: &str,
    lease: Option<i64>,
) -> Result<Ticket, HubError> {
    let waiting: i64 = tx.query_row(
        "SELECT count(*) + 1 FROM tickets WHERE counter = ?1 AND day = ?2 AND called = 0",
        params![counter, day],
        |r| r.get(0),
    )?;
    let seq: i64 = tx.query_row(
        "SELECT coalesce(max(seq), 0) + 1 FROM queue_events",
        [],
        |r| r.get(0),
    )?;
    let event = QueueEvent {
        seq: seq as u64,
        counter,
        kind: QueueEventKind::Issued,
        ticket: Some(label.to_owned()),
        record_id: None,
        waiting: Some(waiting as u32),
        at: issued_at.to_owned(),
    };
    event.check().map_err(HubError::Refused)?;
    crate::store::queue_store::insert_event(tx, &event)?;
    let follow = new_follow_token()?;
    tx.execute(
        "INSERT INTO tickets (counter, day, n, label, device, idempotency_key, request, procedure,
                              issued_at, follow, lease_id, seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            counter,
            day,
            n as i64,
            label,
            device,
            key.map(|k| k.0),
            key.map(|k| k.1),
            procedure,
            issued_at,
            follow,
            lease,
            seq
        ],
    )?;
    Ok(Ticket {
        ticket: label.to_owned(),
        counter,
        number: n,
        day: day.to_owned(),
        issued_at: issued_at.to_owned(),
        seq: seq as u64,
        ahead: (waiting - 1) as u64,
        follow,
    })
}

/// Take `count` numbers of `counter` on `day`: the first one.
fn take(tx: &Connection, counter: u32, day: &str, count: u32) -> rusqlite::Result<u64> {
    tx.query_row(
        "INSERT INTO ticket_days (counter, day, next_n) VALUES (?1, ?2, 1 + ?3)
         ON CONFLICT (counter, day) DO UPDATE SET next_n = next_n + ?3
         RETURNING next_n - ?3",
        params![counter, day, count],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as u64)
}

impl HubDb {
    /// Issue the next number of `req.counter` for today (the center's day at `now`).
    pub fn issue_ticket(
        &mut self,
        device: &str,
        key: &str,
        req: &IssueRequest,
        rules: &TicketRules,
        now: DateTime<Utc>,
    ) -> Result<IssueOutcome, HubError> {
        let canonical = req.canonical();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let earlier = tx
            .query_row(
                &format!(
                    "SELECT request, {TICKET_COLUMNS} FROM tickets
                     WHERE device = ?1 AND idempotency_key = ?2"
                ),
                params![device, key],
                |r| {
                    let request: String = r.get(0)?;
                    Ok((request, r.get::<_, String>(7)?))
                },
            )
            .optional()?;
        if let Some((request, follow)) = earlier {
            if request != canonical {
                return Ok(IssueOutcome::Conflict(format!(
                    "Idempotency-Key {key:?} was already used for another ticket request ({request})"
                )));
            }
            return Ok(IssueOutcome::Repeat(
                self_ticket(&tx, &follow)?.expect("the row just read"),
            ));
        }
        let (day, _) = rules.day(now);
        let n = take(&tx, req.counter, &day, 1)?;
        let ticket = enter(
            &tx,
            device,
            req.counter,
            &day,
            n,
            &rules.label(req.counter, n),
            Some((key, &canonical)),
            req.procedure.as_deref(),
            &now_text(now),
            None,
        )?;
        tx.commit()?;
        Ok(IssueOutcome::New(ticket))
    }

    /// Lease `req.count` numbers of `req.counter` for today to `device` (the same key again:
    /// the same lease; another body with it: `Err(reason)`).
    pub fn lease_tickets(
        &mut self,
        device: &str,
        key: &str,
        req: &LeaseRequest,
        rules: &TicketRules,
        now: DateTime<Utc>,
    ) -> Result<Result<Lease, String>, HubError> {
        let canonical = req.canonical();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let earlier = tx
            .query_row(
                "SELECT id, request FROM ticket_leases WHERE device = ?1 AND idempotency_key = ?2",
                params![device, key],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
            )
            .optional()?;
        if let Some((id, request)) = earlier {
            if request != canonical {
                return Ok(Err(format!(
                    "Idempotency-Key {key:?} was already used for another lease request ({request})"
                )));
            }
            return Ok(Ok(lease_row(&tx, id)?.expect("the row just read")));
        }
        let (day, midnight) = match rules.lease_day(now, req.day) {
            Ok(d) => d,
            Err(refused) => return Ok(Err(refused)),
        };
        let first = take(&tx, req.counter, &day, req.count)?;
        let last = first + req.count as u64 - 1;
        let labels: Vec<String> = (first..=last)
            .map(|n| rules.label(req.counter, n))
            .collect();
        tx.execute(
            "INSERT INTO ticket_leases (device, counter, day, first_n, last_n, labels, expires_at,
                                        idempotency_key, request)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                device,
                req.counter,
                day,
                first as i64,
                last as i64,
                serde_json::to_string(&labels).unwrap_or_default(),
                now_text(midnight),
                key,
                canonical
            ],
        )?;
        let id = tx.last_insert_rowid();
        let lease = lease_row(&tx, id)?.expect("the row just written");
        tx.commit()?;
        Ok(Ok(lease))
    }

    /// Enter the numbers `device` issued from lease `id` while offline; with `close`, give
    /// the rest back. Repeating a report is harmless. `Err(reason)`: not this device's lease,
    /// a number outside it, or a report after it was closed.
    pub fn report_lease(
        &mut self,
        device: &str,
        id: u64,
        issued: &[Reported],
        close: bool,
    ) -> Result<Result<ReportOutcome, String>, HubError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row = tx
            .query_row(
                "SELECT device, closed FROM ticket_leases WHERE id = ?1",
                [id as i64],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? != 0)),
            )
            .optional()?;
        let closed = match row {
            Some((owner, closed)) if owner == device => closed,
            _ => return Ok(Err(format!("lease {id}: no such lease for this device"))),
        };
        let lease = lease_row(&tx, id as i64)?.expect("the row just read");
        let mut accepted = Vec::new();
        for r in issued {
            let known: Option<Option<i64>> = tx
                .query_row(
                    "SELECT lease_id FROM tickets WHERE counter = ?1 AND day = ?2 AND n = ?3",
                    params![lease.counter, lease.day, r.number as i64],
                    |r| r.get(0),
                )
                .optional()?;
            let label = match lease.judge(id, closed, r, known) {
                Ok(ReportedNumber::Again) => continue,
                Ok(ReportedNumber::Enter(label)) => label,
                Err(refused) => return Ok(Err(refused)),
            };
            let claimed = Replaced::claimed_request(lease.counter);
            let key = match &r.replaces {
                None => None,
                Some(k) => {
                    let ghost: Option<bool> = tx
                        .query_row(
                            "SELECT called FROM tickets WHERE device = ?1 AND idempotency_key = ?2",
                            params![device, k],
                            |r| Ok(r.get::<_, i64>(0)? != 0),
                        )
                        .optional()?;
                    match Replaced::judge(ghost) {
                        Replaced::Void => {
                            tx.execute(
                                "UPDATE tickets SET called = 1
                                 WHERE device = ?1 AND idempotency_key = ?2",
                                params![device, k],
                            )?;
                            None
                        }
                        Replaced::Claim => Some((k.as_str(), claimed.as_str())),
                        Replaced::Settled => None,
                    }
                }
            };
            accepted.push(enter(
                &tx,
                device,
                lease.counter,
                &lease.day,
                r.number,
                label,
                key,
                None,
                &r.issued_at,
                Some(id as i64),
            )?);
        }
        let mut returned = Vec::new();
        if close && !closed {
            let used: Vec<i64> = tx
                .prepare("SELECT n FROM tickets WHERE lease_id = ?1")?
                .query_map([id as i64], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            returned = (lease.first..=lease.last)
                .filter(|n| !used.contains(&(*n as i64)))
                .collect();
            let top = used.iter().max().map_or(lease.first, |m| *m as u64 + 1);
            // Nothing was taken after this lease: its unused tail goes back to the sequence,
            // so the day stays gapless. Otherwise the unused numbers stay void.
            tx.execute(
                "UPDATE ticket_days SET next_n = ?4
                 WHERE counter = ?1 AND day = ?2 AND next_n = ?3",
                params![lease.counter, lease.day, lease.last as i64 + 1, top as i64],
            )?;
            tx.execute(
                "UPDATE ticket_leases SET closed = 1 WHERE id = ?1",
                [id as i64],
            )?;
        }
        tx.commit()?;
        Ok(Ok(ReportOutcome { accepted, returned }))
    }

    /// The public view of the ticket with follow token `token`.
    pub fn follow(&self, token: &str) -> Result<Option<Follow>, HubError> {
        Ok(self
            .conn
            .query_row(
                "SELECT label, counter, day, n, called FROM tickets WHERE follow = ?1",
                [token],
                |r| {
                    let (counter, day, n): (u32, String, i64) = (r.get(1)?, r.get(2)?, r.get(3)?);
                    Ok(Follow {
                        ticket: r.get(0)?,
                        counter,
                        called: r.get::<_, i64>(4)? != 0,
                        ahead: ahead(&self.conn, counter, &day, n)?,
                        day,
                    })
                },
            )
            .optional()?)
    }

    /// Every number entered for `day`, as (counter, number, label), in order.
    pub fn tickets_of_day(&self, day: &str) -> Result<Vec<(u32, u64, String)>, HubError> {
        Ok(self
            .conn
            .prepare("SELECT counter, n, label FROM tickets WHERE day = ?1 ORDER BY counter, n")?
            .query_map([day], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?)
    }
}

fn self_ticket(conn: &Connection, follow: &str) -> Result<Option<Ticket>, HubError> {
    Ok(conn
        .query_row(
            &format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE follow = ?1"),
            [follow],
            |r| ticket_row(conn, r),
        )
        .optional()?)
}

fn lease_row(conn: &Connection, id: i64) -> Result<Option<Lease>, HubError> {
    Ok(conn
        .query_row(
            "SELECT id, counter, day, first_n, last_n, labels, expires_at
             FROM ticket_leases WHERE id = ?1",
            [id],
            |r| {
                Ok(Lease {
                    lease: r.get::<_, i64>(0)? as u64,
                    counter: r.get(1)?,
                    day: r.get(2)?,
                    first: r.get::<_, i64>(3)? as u64,
                    last: r.get::<_, i64>(4)? as u64,
                    labels: serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or_default(),
                    expires_at: r.get(6)?,
                })
            },
        )
        .optional()?)
}
