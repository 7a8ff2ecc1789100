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
    pub async fn reconcile(&self) -> Result<usize, SyncError> {
        let client = self.ctx.client()?;
        let now = self.ctx.clock.now();
        let leases = to_report(&self.ctx.db(), now)?;
        let mut reported = 0;
        for (lease, issued) in leases {
            let body = serde_json::json!({
                "issued": issued.iter().map(|(n, at)| serde_json::json!({"number": n, "issued_at": at})).collect::<Vec<_>>(),
                "close": true,
            })
            .to_string();
            let path = format!("/v1/tickets/leases/{lease}/report");
            let timeout = client.request_timeout();
            match client.post_json(&path, None, &body, timeout).await {
                // 404/409: the hub no longer knows the lease (or it was closed by an earlier
                // report whose answer was lost): nothing more to send for it.
                Ok(_)
                | Err(SyncError::Rejected {
                    status: 404 | 409, ..
                }) => {}
                Err(e) => return Err(e),
            }
            self.ctx
                .db()
                .execute("DELETE FROM ticket_leases WHERE lease = ?1", [lease as i64])
                .map_err(StoreError::from)?;
            reported += issued.len();
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
         FROM ticket_leases l WHERE l.counter = ?1 AND l.expires_at > ?2",
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
             WHERE l.counter = ?1 AND l.expires_at > ?2
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

/// Leases to report: those with numbers issued offline, and expired ones (to give back).
fn to_report(conn: &Connection, now: DateTime<Utc>) -> Result<Vec<(u64, Issued)>, StoreError> {
    let leases: Vec<(i64, String)> = conn
        .prepare("SELECT lease, expires_at FROM ticket_leases ORDER BY lease")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for (lease, expires_at) in leases {
        let issued: Issued = conn
            .prepare("SELECT n, issued_at FROM ticket_offline WHERE lease = ?1 ORDER BY n")?
            .query_map([lease], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        if !issued.is_empty() || expires_at <= text(now) {
            out.push((lease as u64, issued));
        }
    }
    Ok(out)
}
