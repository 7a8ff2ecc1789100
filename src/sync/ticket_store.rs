//! The device's side of ticket leases in `catalog.db`: numbers held per counter, issuing one
//! from a lease (committed before it is returned), the lists reported to the hub, the
//! idempotency key of a lease request until the lease is granted, and the counters the
//! kiosk can issue for. `tickets.rs` (the desk) drives these over the network.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::appliance::IssuedTicket;
use crate::store::StoreError;

fn text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Numbers still held for `counter` on the center's `day` (live leases, not yet issued).
pub fn held(
    conn: &Connection,
    counter: u32,
    day: &str,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    Ok(conn.query_row(
        "SELECT coalesce(sum(l.last_n - l.first_n + 1
                             - (SELECT count(*) FROM ticket_offline o WHERE o.lease = l.lease)), 0)
         FROM ticket_leases l
         WHERE l.counter = ?1 AND l.day = ?3 AND l.expires_at > ?2 AND l.closing = 0",
        params![counter, text(now), day],
        |r| r.get::<_, i64>(0),
    )? as u64)
}

/// The next leased number of `counter`, written (committed) before it is returned. `key`: the
/// idempotency key of a `POST /v1/tickets` whose outcome is unknown (sent, no answer) for the
/// same citizen; it goes with the report, so that the hub voids the ticket that POST may have
/// issued (a "ghost") — see `TicketDesk::take`.
/// Only a lease of `today` (the center's day at `now`) is issued from: the next day's block
/// waits for its day.
pub fn issue_from_lease(
    conn: &mut Connection,
    counter: u32,
    today: &str,
    now: DateTime<Utc>,
    key: Option<&str>,
) -> Result<Option<IssuedTicket>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let next = tx
        .query_row(
            "SELECT l.lease, l.first_n, l.labels,
                    coalesce((SELECT max(n) + 1 FROM ticket_offline o WHERE o.lease = l.lease), l.first_n)
             FROM ticket_leases l
             WHERE l.counter = ?1 AND l.expires_at > ?2 AND l.closing = 0 AND l.day = ?3
               AND coalesce((SELECT max(n) + 1 FROM ticket_offline o WHERE o.lease = l.lease), l.first_n) <= l.last_n
             ORDER BY l.first_n LIMIT 1",
            params![counter, text(now), today],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            },
        )
        .optional()?;
    let Some((lease, first, labels, n)) = next else {
        return Ok(None);
    };
    let labels: Vec<String> = serde_json::from_str(&labels).unwrap_or_default();
    let Some(label) = labels.get((n - first) as usize).cloned() else {
        return Ok(None);
    };
    let at = text(now);
    tx.execute(
        "INSERT INTO ticket_offline (lease, n, label, issued_at, key) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![lease, n, label, at, key],
    )?;
    let waiting: i64 = tx
        .query_row(
            "SELECT waiting FROM queue_counters WHERE counter = ?1",
            [counter],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0);
    tx.commit()?;
    Ok(Some(IssuedTicket {
        ticket: label,
        counter,
        ahead: waiting.max(0) as u32,
        follow_url: None,
        offline: true,
        issued_at: at,
    }))
}

/// The numbers issued offline from one lease: (number, issued_at, the key of an unanswered
/// online request it replaces).
pub type Issued = Vec<(u64, String, Option<String>)>;

/// The numbers issued offline from `lease`, in order.
fn issued_of(conn: &Connection, lease: i64) -> rusqlite::Result<Issued> {
    conn.prepare("SELECT n, issued_at, key FROM ticket_offline WHERE lease = ?1 ORDER BY n")?
        .query_map([lease], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get(2)?))
        })?
        .collect()
}

/// Within `tx`: mark `lease` closing (no number is issued from it any more) and return its
/// issued numbers, final from here on.
fn close_in(tx: &rusqlite::Transaction<'_>, lease: u64) -> Result<Issued, StoreError> {
    tx.execute(
        "UPDATE ticket_leases SET closing = 1 WHERE lease = ?1",
        [lease as i64],
    )?;
    Ok(issued_of(tx, lease as i64)?)
}

/// Mark `lease` closing and return its issued numbers, in one transaction: the list is final.
pub fn mark_closing(conn: &mut Connection, lease: u64) -> Result<Issued, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let issued = close_in(&tx, lease)?;
    tx.commit()?;
    Ok(issued)
}

/// The hub refused a lease's report (404: it does not know the lease; 409: a number in it
/// was issued otherwise, or the lease was closed before): nothing more can be sent for it.
/// In one transaction the lease is marked closing (nothing more is issued from it), its final
/// list read and the lease dropped; every number it had issued is logged as an error (a
/// person must look at the board for them).
pub fn forget_lease(conn: &mut Connection, lease: u64, message: &str) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let issued = close_in(&tx, lease)?;
    tx.execute(
        "DELETE FROM ticket_offline WHERE lease = ?1",
        [lease as i64],
    )?;
    tx.execute("DELETE FROM ticket_leases WHERE lease = ?1", [lease as i64])?;
    tx.commit()?;
    if !issued.is_empty() {
        let numbers: Vec<String> = issued
            .iter()
            .map(|(n, at, _)| format!("{n} at {at}"))
            .collect();
        tracing::error!(
            lease,
            hub = message,
            numbers = %numbers.join(", "),
            "tickets: the hub refused the offline numbers of a lease; check the board for them"
        );
    }
    Ok(())
}

/// Leases to report: those with numbers issued offline, expired ones (to give back), and
/// those whose closing report had no answer.
pub fn to_report(conn: &Connection, now: DateTime<Utc>) -> Result<Vec<(u64, Issued)>, StoreError> {
    let leases: Vec<(i64, String, bool)> = conn
        .prepare("SELECT lease, expires_at, closing FROM ticket_leases ORDER BY lease")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? != 0)))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for (lease, expires_at, closing) in leases {
        let issued = issued_of(conn, lease)?;
        if !issued.is_empty() || closing || expires_at <= text(now) {
            out.push((lease as u64, issued));
        }
    }
    Ok(out)
}

/// The idempotency key of the lease request for `counter`: the same one, kept in `catalog.db`,
/// until that lease is granted ([`lease_granted`]), so a request whose answer was lost (or cut
/// by a restart) is sent again with it and the hub answers with the same lease instead of
/// leasing a second block.
pub fn lease_key(conn: &Connection, counter: u32, day: &str) -> Result<String, StoreError> {
    let mut raw = [0u8; 12];
    let _ = getrandom::fill(&mut raw);
    let fresh: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    conn.execute(
        "INSERT INTO ticket_lease_keys (counter, day, key) VALUES (?1, ?2, ?3)
         ON CONFLICT DO NOTHING",
        params![counter, day, format!("lease-{fresh}")],
    )?;
    Ok(conn.query_row(
        "SELECT key FROM ticket_lease_keys WHERE counter = ?1 AND day = ?2",
        params![counter, day],
        |r| r.get(0),
    )?)
}

/// The lease asked for with `counter`'s key is stored (or the hub refused the key): the next
/// lease request takes a new key.
pub fn lease_granted(conn: &Connection, counter: u32, day: &str) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM ticket_lease_keys WHERE counter = ?1 AND day = ?2",
        params![counter, day],
    )?;
    Ok(())
}

/// The counters the kiosk can issue for, from the installed catalog: for each field, the first
/// counter serving it (by number, as the kiosk picks it). Empty without a catalog.
pub fn issuing_counters(conn: &Connection) -> Result<Vec<u32>, StoreError> {
    Ok(conn
        .prepare("SELECT DISTINCT min(counter) FROM counter_fields GROUP BY field ORDER BY 1")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Review finding (issue 20): a number taken offline while the closing report was on its
    /// way could be one the hub gave back and issued again. Once a lease is marked closing it
    /// issues nothing, its final list holds every number it issued, and it stays to report
    /// until the hub has answered.
    #[test]
    fn a_closing_lease_issues_nothing_more_and_stays_to_report() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("catalog.db");
        let mut conn = Connection::open(&path).unwrap();
        crate::store::migrate::migrate(&mut conn, &path).unwrap();
        let now: DateTime<Utc> = "2026-12-06T02:00:00Z".parse().unwrap();
        conn.execute(
            "INSERT INTO ticket_leases (lease, counter, day, first_n, last_n, labels, expires_at)
             VALUES (7, 1, '2026-12-06', 3, 5, '[\"1003\",\"1004\",\"1005\"]', '2026-12-06T17:00:00Z')",
            [],
        )
        .unwrap();
        let a = issue_from_lease(&mut conn, 1, "2026-12-06", now, Some("tap-1"))
            .unwrap()
            .unwrap();
        assert_eq!(a.ticket, "1003");
        let listed = mark_closing(&mut conn, 7).unwrap();
        assert_eq!(listed, vec![(3, text(now), Some("tap-1".to_string()))]);
        assert!(
            issue_from_lease(&mut conn, 1, "2026-12-06", now, None)
                .unwrap()
                .is_none(),
            "a closing lease issued a number"
        );
        assert_eq!(to_report(&conn, now).unwrap(), vec![(7, listed)]);
    }
}
