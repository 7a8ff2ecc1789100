//! Tickets on PostgreSQL: the same rows and answers as `sqlite_tickets.rs`. One counter's
//! numbers are taken one transaction at a time across hub processes (an advisory lock per
//! counter, then the `ticket_days` row's lock), and the `issued` event takes its sequence from
//! `queue_head` inside the same transaction, so tickets and queue sequence numbers stay
//! gapless and commit in order.

use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;

use super::{now_text, pg, HubError, PgStore, QUEUE_CHANNEL};
use crate::hub::tickets::{
    new_follow_token, Follow, IssueOutcome, IssueRequest, Lease, LeaseRequest, Replaced,
    ReportOutcome, Reported, ReportedNumber, Ticket, TicketRules,
};
use crate::queue::{QueueEvent, QueueEventKind};

/// Does this event take its ticket out of the waiting line?
pub(super) fn is_call(kind: QueueEventKind) -> bool {
    matches!(
        kind,
        QueueEventKind::Called
            | QueueEventKind::Started
            | QueueEventKind::NoShow
            | QueueEventKind::Finished
    )
}

const TICKET_COLUMNS: &str = "label, counter, n, day, issued_at, seq, follow";

async fn ahead(tx: &Transaction<'_>, counter: i32, day: &str, n: i64) -> Result<u64, HubError> {
    let c: i64 = tx
        .query_one(
            "SELECT count(*) FROM tickets WHERE counter = $1 AND day = $2 AND n < $3 AND NOT called",
            &[&counter, &day, &n],
        )
        .await
        .map_err(pg)?
        .get(0);
    Ok(c as u64)
}

async fn ticket_by_follow(tx: &Transaction<'_>, follow: &str) -> Result<Option<Ticket>, HubError> {
    let Some(r) = tx
        .query_opt(
            &format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE follow = $1"),
            &[&follow],
        )
        .await
        .map_err(pg)?
    else {
        return Ok(None);
    };
    let (counter, n, day): (i32, i64, String) = (r.get(1), r.get(2), r.get(3));
    Ok(Some(Ticket {
        ticket: r.get(0),
        counter: counter as u32,
        number: n as u64,
        issued_at: r.get(4),
        seq: r.get::<_, i64>(5) as u64,
        follow: r.get(6),
        ahead: ahead(tx, counter, &day, n).await?,
        day,
    }))
}

/// Enter number `n` as issued: its `issued` queue event and its row, in `tx`.
#[allow(clippy::too_many_arguments)]
async fn enter(
    tx: &Transaction<'_>,
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
    let c = counter as i32;
    let waiting: i64 = tx
        .query_one(
            "SELECT count(*) + 1 FROM tickets WHERE counter = $1 AND day = $2 AND NOT called",
            &[&c, &day],
        )
        .await
        .map_err(pg)?
        .get(0);
    let event = QueueEvent {
        seq: 0,
        counter,
        kind: QueueEventKind::Issued,
        ticket: Some(label.to_owned()),
        record_id: None,
        waiting: Some(waiting as u32),
        at: issued_at.to_owned(),
    };
    event.check().map_err(HubError::Refused)?;
    let seq: i64 = tx
        .query_one(
            "WITH s AS (UPDATE queue_head SET seq = seq + 1 RETURNING seq),
                  i AS (INSERT INTO queue_events (seq, counter, kind, ticket, waiting, at)
                        SELECT s.seq, $1, 'issued', $2, $3, $4 FROM s RETURNING seq)
             SELECT seq, pg_notify($5, seq::text)::text FROM i",
            &[&c, &label, &(waiting as i32), &issued_at, &QUEUE_CHANNEL],
        )
        .await
        .map_err(pg)?
        .get(0);
    let follow = new_follow_token()?;
    tx.execute(
        "INSERT INTO tickets (counter, day, n, label, device, idempotency_key, request, procedure,
                              issued_at, follow, lease_id, seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            &c,
            &day,
            &(n as i64),
            &label,
            &device,
            &key.map(|k| k.0),
            &key.map(|k| k.1),
            &procedure,
            &issued_at,
            &follow,
            &lease,
            &seq,
        ],
    )
    .await
    .map_err(pg)?;
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

/// Lock `counter`'s numbering (across hub processes) until the transaction ends.
async fn lock_counter(tx: &Transaction<'_>, counter: u32) -> Result<(), HubError> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(7270003, $1)",
        &[&(counter as i32)],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

/// Lock `device`'s idempotency key `key` until the transaction ends (taken before the
/// counter's lock, always in that order). Two requests with one key but different bodies take
/// different counters' locks; without this, both would find no row and the second insert
/// would fail on the unique key (a 500). With it, the second sees the first's row and gets
/// the repeat or the 409 conflict, as on SQLite, where `BEGIN IMMEDIATE` serializes all.
async fn lock_key(
    tx: &Transaction<'_>,
    table: &str,
    device: &str,
    key: &str,
) -> Result<(), HubError> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(7270004, hashtext($1 || '/' || $2 || '/' || $3))",
        &[&table, &device, &key],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

/// Take `count` numbers of `counter` on `day`: the first one.
async fn take(tx: &Transaction<'_>, counter: u32, day: &str, count: u32) -> Result<u64, HubError> {
    let count = count as i64;
    let n: i64 = tx
        .query_one(
            "INSERT INTO ticket_days (counter, day, next_n) VALUES ($1, $2, 1 + $3::bigint)
             ON CONFLICT (counter, day) DO UPDATE SET next_n = ticket_days.next_n + $3::bigint
             RETURNING next_n - $3::bigint",
            &[&(counter as i32), &day, &count],
        )
        .await
        .map_err(pg)?
        .get(0);
    Ok(n as u64)
}

async fn lease_row(
    tx: &Transaction<'_>,
    id: i64,
) -> Result<Option<(Lease, String, bool)>, HubError> {
    Ok(tx
        .query_opt(
            "SELECT id, counter, day, first_n, last_n, labels, expires_at, device, closed
             FROM ticket_leases WHERE id = $1",
            &[&id],
        )
        .await
        .map_err(pg)?
        .map(|r| {
            (
                Lease {
                    lease: r.get::<_, i64>(0) as u64,
                    counter: r.get::<_, i32>(1) as u32,
                    day: r.get(2),
                    first: r.get::<_, i64>(3) as u64,
                    last: r.get::<_, i64>(4) as u64,
                    labels: serde_json::from_str(r.get::<_, &str>(5)).unwrap_or_default(),
                    expires_at: r.get(6),
                },
                r.get(7),
                r.get(8),
            )
        }))
}

impl PgStore {
    pub async fn issue_ticket(
        &self,
        device: &str,
        key: &str,
        req: &IssueRequest,
        rules: &TicketRules,
        now: DateTime<Utc>,
    ) -> Result<IssueOutcome, HubError> {
        let canonical = req.canonical();
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        lock_key(&tx, "tickets", device, key).await?;
        lock_counter(&tx, req.counter).await?;
        let earlier = tx
            .query_opt(
                "SELECT request, follow FROM tickets WHERE device = $1 AND idempotency_key = $2",
                &[&device, &key],
            )
            .await
            .map_err(pg)?;
        if let Some(r) = earlier {
            let request: String = r.get(0);
            if request != canonical {
                return Ok(IssueOutcome::Conflict(format!(
                    "Idempotency-Key {key:?} was already used for another ticket request ({request})"
                )));
            }
            let t = ticket_by_follow(&tx, r.get(1)).await?;
            return Ok(IssueOutcome::Repeat(t.expect("the row just read")));
        }
        let (day, _) = rules.day(now);
        let n = take(&tx, req.counter, &day, 1).await?;
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
        )
        .await?;
        tx.commit().await.map_err(pg)?;
        Ok(IssueOutcome::New(ticket))
    }

    pub async fn lease_tickets(
        &self,
        device: &str,
        key: &str,
        req: &LeaseRequest,
        rules: &TicketRules,
        now: DateTime<Utc>,
    ) -> Result<Result<Lease, String>, HubError> {
        let canonical = req.canonical();
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        lock_key(&tx, "ticket_leases", device, key).await?;
        lock_counter(&tx, req.counter).await?;
        let earlier = tx
            .query_opt(
                "SELECT id, request FROM ticket_leases WHERE device = $1 AND idempotency_key = $2",
                &[&device, &key],
            )
            .await
            .map_err(pg)?;
        if let Some(r) = earlier {
            let request: String = r.get(1);
            if request != canonical {
                return Ok(Err(format!(
                    "Idempotency-Key {key:?} was already used for another lease request ({request})"
                )));
            }
            let lease = lease_row(&tx, r.get(0)).await?.expect("the row just read");
            return Ok(Ok(lease.0));
        }
        let (day, midnight) = match rules.lease_day(now, req.day) {
            Ok(d) => d,
            Err(refused) => return Ok(Err(refused)),
        };
        let first = take(&tx, req.counter, &day, req.count).await?;
        let last = first + req.count as u64 - 1;
        let labels: Vec<String> = (first..=last)
            .map(|n| rules.label(req.counter, n))
            .collect();
        let id: i64 = tx
            .query_one(
                "INSERT INTO ticket_leases (device, counter, day, first_n, last_n, labels,
                                            expires_at, idempotency_key, request)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                &[
                    &device,
                    &(req.counter as i32),
                    &day,
                    &(first as i64),
                    &(last as i64),
                    &serde_json::to_string(&labels).unwrap_or_default(),
                    &now_text(midnight),
                    &key,
                    &canonical,
                ],
            )
            .await
            .map_err(pg)?
            .get(0);
        let lease = lease_row(&tx, id).await?.expect("the row just written").0;
        tx.commit().await.map_err(pg)?;
        Ok(Ok(lease))
    }

    pub async fn report_lease(
        &self,
        device: &str,
        id: u64,
        issued: &[Reported],
        close: bool,
    ) -> Result<Result<ReportOutcome, String>, HubError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let id_i = id.min(i64::MAX as u64) as i64;
        let Some((peek, owner, _)) = lease_row(&tx, id_i).await? else {
            return Ok(Err(format!("lease {id}: no such lease for this device")));
        };
        if owner != device {
            return Ok(Err(format!("lease {id}: no such lease for this device")));
        }
        lock_counter(&tx, peek.counter).await?;
        // Read again under the lock: another report may have closed it meanwhile.
        let (lease, _, closed) = lease_row(&tx, id_i).await?.expect("the row just read");
        let mut accepted = Vec::new();
        for r in issued {
            let known = tx
                .query_opt(
                    "SELECT lease_id FROM tickets WHERE counter = $1 AND day = $2 AND n = $3",
                    &[&(lease.counter as i32), &lease.day, &(r.number as i64)],
                )
                .await
                .map_err(pg)?
                .map(|row| row.get::<_, Option<i64>>(0));
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
                        .query_opt(
                            "SELECT called FROM tickets WHERE device = $1 AND idempotency_key = $2",
                            &[&device, k],
                        )
                        .await
                        .map_err(pg)?
                        .map(|row| row.get(0));
                    match Replaced::judge(ghost) {
                        Replaced::Void => {
                            // queue_head before the ticket's row, in the order a call
                            // (push_event) takes them: voiding the ghost while an officer
                            // calls it must wait, not deadlock
                            tx.query_one("SELECT seq FROM queue_head FOR UPDATE", &[])
                                .await
                                .map_err(pg)?;
                            tx.execute(
                                "UPDATE tickets SET called = TRUE
                                 WHERE device = $1 AND idempotency_key = $2",
                                &[&device, k],
                            )
                            .await
                            .map_err(pg)?;
                            None
                        }
                        Replaced::Claim => Some((k.as_str(), claimed.as_str())),
                        Replaced::Settled => None,
                    }
                }
            };
            accepted.push(
                enter(
                    &tx,
                    device,
                    lease.counter,
                    &lease.day,
                    r.number,
                    label,
                    key,
                    None,
                    &r.issued_at,
                    Some(id_i),
                )
                .await?,
            );
        }
        let mut returned = Vec::new();
        if close && !closed {
            let used: Vec<i64> = tx
                .query("SELECT n FROM tickets WHERE lease_id = $1", &[&id_i])
                .await
                .map_err(pg)?
                .iter()
                .map(|r| r.get(0))
                .collect();
            returned = (lease.first..=lease.last)
                .filter(|n| !used.contains(&(*n as i64)))
                .collect();
            let top = used.iter().max().map_or(lease.first, |m| *m as u64 + 1);
            tx.execute(
                "UPDATE ticket_days SET next_n = $4
                 WHERE counter = $1 AND day = $2 AND next_n = $3",
                &[
                    &(lease.counter as i32),
                    &lease.day,
                    &(lease.last as i64 + 1),
                    &(top as i64),
                ],
            )
            .await
            .map_err(pg)?;
            tx.execute(
                "UPDATE ticket_leases SET closed = TRUE WHERE id = $1",
                &[&id_i],
            )
            .await
            .map_err(pg)?;
        }
        tx.commit().await.map_err(pg)?;
        Ok(Ok(ReportOutcome { accepted, returned }))
    }

    pub async fn follow(&self, token: &str) -> Result<Option<Follow>, HubError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let Some(r) = tx
            .query_opt(
                "SELECT label, counter, day, n, called FROM tickets WHERE follow = $1",
                &[&token],
            )
            .await
            .map_err(pg)?
        else {
            return Ok(None);
        };
        let (counter, day, n): (i32, String, i64) = (r.get(1), r.get(2), r.get(3));
        Ok(Some(Follow {
            ticket: r.get(0),
            counter: counter as u32,
            called: r.get(4),
            ahead: ahead(&tx, counter, &day, n).await?,
            day,
        }))
    }

    pub async fn tickets_of_day(&self, day: &str) -> Result<Vec<(u32, u64, String)>, HubError> {
        let c = self.client().await?;
        Ok(c.query(
            "SELECT counter, n, label FROM tickets WHERE day = $1 ORDER BY counter, n",
            &[&day],
        )
        .await
        .map_err(pg)?
        .iter()
        .map(|r| {
            (
                r.get::<_, i32>(0) as u32,
                r.get::<_, i64>(1) as u64,
                r.get(2),
            )
        })
        .collect())
    }
}
