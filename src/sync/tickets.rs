//! The daemon's ticket desk: takes a number from the hub for the kiosk (`POST /v1/tickets`),
//! and, when the hub cannot be reached, from a block of numbers leased earlier
//! (`POST /v1/tickets/leases`) and kept in `catalog.db`. A number issued offline is committed
//! to SQLite before the kiosk is told it, so a crash or power cut never hands it out twice.
//! When the link is back the desk reports what it issued and gives the rest back
//! (`POST /v1/tickets/leases/{id}/report`), then leases a fresh block for each counter it
//! issues for. Leases expire at the center's local midnight (the hub says when).
//!
//! Settings come from `[tickets]` (docs/config.md). See docs/kiosk.md, "Taking a number".

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Deserialize;

use super::context::SyncContext;
use super::SyncError;
use crate::daemon::shutdown::Shutdown;
use crate::store::StoreError;

/// `[tickets]` in the device's config.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketsConfig {
    /// Numbers leased per counter for a network cut (1–50).
    #[serde(default = "default_lease_size")]
    pub lease_size: u32,
    /// How long the kiosk waits for the hub before issuing from the lease.
    #[serde(default = "default_hub_timeout_ms")]
    pub hub_timeout_ms: u64,
    /// Tickets one kiosk may issue per minute (all counters).
    #[serde(default = "default_per_minute")]
    pub per_minute: u32,
    /// A second ticket within this many seconds of the last one asks "take another?" first.
    #[serde(default = "default_confirm_within")]
    pub confirm_within_secs: u32,
}

fn default_lease_size() -> u32 {
    5
}
fn default_hub_timeout_ms() -> u64 {
    3000
}
fn default_per_minute() -> u32 {
    6
}
fn default_confirm_within() -> u32 {
    120
}

impl Default for TicketsConfig {
    fn default() -> Self {
        TicketsConfig {
            lease_size: default_lease_size(),
            hub_timeout_ms: default_hub_timeout_ms(),
            per_minute: default_per_minute(),
            confirm_within_secs: default_confirm_within(),
        }
    }
}

impl TicketsConfig {
    pub fn check(&self) -> Result<(), String> {
        if !(1..=50).contains(&self.lease_size) {
            return Err(format!(
                "[tickets] lease_size = {}: must be 1–50",
                self.lease_size
            ));
        }
        if !(100..=30_000).contains(&self.hub_timeout_ms) {
            return Err(format!(
                "[tickets] hub_timeout_ms = {}: must be 100–30000",
                self.hub_timeout_ms
            ));
        }
        if !(1..=120).contains(&self.per_minute) {
            return Err(format!(
                "[tickets] per_minute = {}: must be 1–120",
                self.per_minute
            ));
        }
        Ok(())
    }
}

pub use crate::appliance::IssuedTicket;

/// The hub's answer to `POST /v1/tickets` (the fields the device uses).
#[derive(Deserialize)]
struct HubTicket {
    ticket: String,
    counter: u32,
    ahead: u64,
    issued_at: String,
    follow: String,
}

#[derive(Deserialize)]
struct HubLease {
    lease: u64,
    counter: u32,
    day: String,
    first: u64,
    last: u64,
    labels: Vec<String>,
    expires_at: String,
}

pub struct TicketDesk {
    ctx: Arc<SyncContext>,
    config: TicketsConfig,
    /// Counters this device issues for: each keeps a lease.
    wanted: Mutex<BTreeSet<u32>>,
    wake: tokio::sync::Notify,
}

fn text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn random_key(what: &str) -> String {
    let mut raw = [0u8; 12];
    let _ = getrandom::fill(&mut raw);
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    format!("{what}-{hex}")
}

impl TicketDesk {
    pub fn new(ctx: Arc<SyncContext>, config: TicketsConfig) -> Arc<TicketDesk> {
        Arc::new(TicketDesk {
            ctx,
            config,
            wanted: Mutex::new(BTreeSet::new()),
            wake: tokio::sync::Notify::new(),
        })
    }

    /// A ticket for `counter`: from the hub, else (the hub unreachable or failing) from a
    /// lease. `key` makes a retry of the same tap the same ticket.
    pub async fn take(
        &self,
        counter: u32,
        procedure: Option<&str>,
        key: &str,
    ) -> Result<IssuedTicket, String> {
        if counter == 0 || counter > 999 {
            return Err(format!("counter {counter} is out of range 1..=999"));
        }
        self.wanted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(counter);
        let Ok(client) = self.ctx.client() else {
            return self.take_offline(counter);
        };
        let mut body = serde_json::json!({ "counter": counter });
        if let Some(p) = procedure {
            body["procedure"] = p.into();
        }
        let body = body.to_string();
        let timeout = Duration::from_millis(self.config.hub_timeout_ms);
        match client
            .post_json("/v1/tickets", Some(key), &body, timeout)
            .await
        {
            Ok(bytes) => {
                let t: HubTicket = serde_json::from_slice(&bytes)
                    .map_err(|e| format!("the hub's ticket answer: {e}"))?;
                self.wake.notify_one();
                Ok(IssuedTicket {
                    ticket: t.ticket,
                    counter: t.counter,
                    ahead: t.ahead.min(u32::MAX as u64) as u32,
                    follow_url: Some(format!(
                        "{}/t/{}",
                        client.base_url().trim_end_matches('/'),
                        t.follow
                    )),
                    offline: false,
                    issued_at: t.issued_at,
                })
            }
            Err(e) if e.is_offline() || matches!(e, SyncError::Server { .. }) => {
                tracing::warn!(
                    "ticket: the hub could not be reached ({e}); issuing from the lease"
                );
                self.take_offline(counter)
            }
            Err(e) => Err(e.to_string()),
        }
    }

    fn take_offline(&self, counter: u32) -> Result<IssuedTicket, String> {
        let now = self.ctx.clock.now();
        match issue_from_lease(&mut self.ctx.db(), counter, now) {
            Ok(Some(t)) => Ok(t),
            Ok(None) => Err(format!(
                "no connection to the central server and no numbers held for counter {counter}"
            )),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Report what was issued offline (and give the rest back), then make sure every counter
    /// issued for holds a live lease. Returns how many offline numbers were reported.
    ///
    /// Two steps per lease, so that no number is ever issued twice: first the numbers issued
    /// so far without closing (harmless at any time, and it proves the hub answers now); then,
    /// in one transaction, the lease is marked closing (never issued from again) and its final
    /// list read, and that list goes with `close`. A number issued during the first request
    /// is in the second; a closing report whose answer is lost leaves the lease closing, and
    /// it is sent again next time (the hub takes a repeated number of the same lease once).
    pub async fn reconcile(&self) -> Result<usize, SyncError> {
        let client = self.ctx.client()?;
        let now = self.ctx.clock.now();
        let leases = to_report(&self.ctx.db(), now)?;
        let mut reported = 0;
        for (lease, issued) in leases {
            let path = format!("/v1/tickets/leases/{lease}/report");
            let timeout = client.request_timeout();
            let send = |issued: &Issued, close: bool| {
                let body = serde_json::json!({
                    "issued": issued.iter().map(|(n, at)| serde_json::json!({"number": n, "issued_at": at})).collect::<Vec<_>>(),
                    "close": close,
                })
                .to_string();
                let path = path.clone();
                async move { client.post_json(&path, None, &body, timeout).await }
            };
            if !issued.is_empty() {
                match send(&issued, false).await {
                    Ok(_) => {}
                    Err(SyncError::Rejected {
                        status: 404 | 409,
                        message,
                        ..
                    }) => {
                        forget_lease(&mut self.ctx.db(), lease, &message)?;
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            let issued = mark_closing(&mut self.ctx.db(), lease)?;
            match send(&issued, true).await {
                Ok(_) => {
                    self.ctx
                        .db()
                        .execute("DELETE FROM ticket_leases WHERE lease = ?1", [lease as i64])
                        .map_err(StoreError::from)?;
                    reported += issued.len();
                }
                // the hub no longer knows the lease, or refuses a number in it
                Err(SyncError::Rejected {
                    status: 404 | 409,
                    message,
                    ..
                }) => {
                    forget_lease(&mut self.ctx.db(), lease, &message)?;
                }
                Err(e) => return Err(e),
            }
        }
        let wanted: Vec<u32> = self
            .wanted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .copied()
            .collect();
        for counter in wanted {
            if held(&self.ctx.db(), counter, now)? > 0 {
                continue;
            }
            let body = serde_json::json!({ "counter": counter, "count": self.config.lease_size })
                .to_string();
            let bytes = client
                .post_json(
                    "/v1/tickets/leases",
                    Some(&random_key("lease")),
                    &body,
                    client.request_timeout(),
                )
                .await?;
            let l: HubLease = serde_json::from_slice(&bytes)
                .map_err(|e| SyncError::Protocol(format!("the hub's lease answer: {e}")))?;
            if l.labels.len() as u64 != l.last.saturating_sub(l.first) + 1 {
                return Err(SyncError::Protocol(
                    "the hub's lease labels do not match its numbers".into(),
                ));
            }
            self.ctx
                .db()
                .execute(
                    "INSERT INTO ticket_leases (lease, counter, day, first_n, last_n, labels, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        l.lease as i64,
                        l.counter,
                        l.day,
                        l.first as i64,
                        l.last as i64,
                        serde_json::to_string(&l.labels).unwrap_or_default(),
                        l.expires_at
                    ],
                )
                .map_err(StoreError::from)?;
        }
        Ok(reported)
    }

    /// Reconcile whenever a ticket was taken online (the link is up) and every `every`.
    pub async fn run(self: Arc<Self>, every: Duration, mut shutdown: Shutdown) {
        while !shutdown.is_shutdown() {
            if let Err(e) = self.reconcile().await {
                tracing::debug!("tickets: {e}");
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.recv() => break,
            }
        }
    }
}

/// Numbers still held for `counter` (live leases, not yet issued).
pub fn held(conn: &Connection, counter: u32, now: DateTime<Utc>) -> Result<u64, StoreError> {
    Ok(conn.query_row(
        "SELECT coalesce(sum(l.last_n - l.first_n + 1
                             - (SELECT count(*) FROM ticket_offline o WHERE o.lease = l.lease)), 0)
         FROM ticket_leases l WHERE l.counter = ?1 AND l.expires_at > ?2 AND l.closing = 0",
        params![counter, text(now)],
        |r| r.get::<_, i64>(0),
    )? as u64)
}

/// The next leased number of `counter`, written (committed) before it is returned.
pub fn issue_from_lease(
    conn: &mut Connection,
    counter: u32,
    now: DateTime<Utc>,
) -> Result<Option<IssuedTicket>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let next = tx
        .query_row(
            "SELECT l.lease, l.first_n, l.labels,
                    coalesce((SELECT max(n) + 1 FROM ticket_offline o WHERE o.lease = l.lease), l.first_n)
             FROM ticket_leases l
             WHERE l.counter = ?1 AND l.expires_at > ?2 AND l.closing = 0
               AND coalesce((SELECT max(n) + 1 FROM ticket_offline o WHERE o.lease = l.lease), l.first_n) <= l.last_n
             ORDER BY l.first_n LIMIT 1",
            params![counter, text(now)],
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
        "INSERT INTO ticket_offline (lease, n, label, issued_at) VALUES (?1, ?2, ?3, ?4)",
        params![lease, n, label, at],
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

/// The numbers issued offline from one lease: (number, issued_at).
type Issued = Vec<(u64, String)>;

/// The numbers issued offline from `lease`, in order.
fn issued_of(conn: &Connection, lease: i64) -> rusqlite::Result<Issued> {
    conn.prepare("SELECT n, issued_at FROM ticket_offline WHERE lease = ?1 ORDER BY n")?
        .query_map([lease], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))?
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
fn mark_closing(conn: &mut Connection, lease: u64) -> Result<Issued, StoreError> {
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
fn forget_lease(conn: &mut Connection, lease: u64, message: &str) -> Result<(), StoreError> {
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
            .map(|(n, at)| format!("{n} at {at}"))
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
fn to_report(conn: &Connection, now: DateTime<Utc>) -> Result<Vec<(u64, Issued)>, StoreError> {
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
        let a = issue_from_lease(&mut conn, 1, now).unwrap().unwrap();
        assert_eq!(a.ticket, "1003");
        let listed = mark_closing(&mut conn, 7).unwrap();
        assert_eq!(listed, vec![(3, text(now))]);
        assert!(
            issue_from_lease(&mut conn, 1, now).unwrap().is_none(),
            "a closing lease issued a number"
        );
        assert_eq!(to_report(&conn, now).unwrap(), vec![(7, listed)]);
    }
}
