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

use rusqlite::params;
use serde::Deserialize;

use super::context::SyncContext;
use super::ticket_store::{
    forget_lease, held, issue_from_lease, issuing_counters, lease_granted, lease_key, mark_closing,
    to_report, Issued,
};
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
    /// The center's time zone, an IANA name as hub.toml's `time_zone` (default
    /// "Asia/Ho_Chi_Minh", UTC+07:00): "today" for the wait estimate and the printed time.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// The hub's address as a citizen's phone reaches it, for the follow page in the ticket's
    /// QR code (`{public_url}/t/{token}`); default `[sync] server_url`.
    #[serde(default)]
    pub public_url: Option<String>,
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
            time_zone: None,
            public_url: None,
        }
    }
}

impl TicketsConfig {
    /// The center's day and clock, by the one definition the hub uses (`TicketRules`).
    pub fn rules(&self) -> crate::hub::tickets::TicketRules {
        crate::hub::tickets::TicketRules::new(self.time_zone.as_deref(), Default::default())
            .unwrap_or_default()
    }

    pub fn check(&self) -> Result<(), String> {
        if let Err(e) =
            crate::hub::tickets::TicketRules::new(self.time_zone.as_deref(), Default::default())
        {
            return Err(format!("[tickets] {e}"));
        }
        if let Some(u) = &self.public_url {
            check_public_url(u).map_err(|e| format!("[tickets] public_url {e}"))?;
        }
        if !(1..=50).contains(&self.lease_size) {
            return Err(format!(
                "[tickets] lease_size = {}: must be 1–50",
                self.lease_size
            ));
        }
        // Two tries of the hub, then the lease, inside the kiosk's wait for the daemon
        // (15 s): a longer wait would leave a number nobody holds and a second tap.
        if !(100..=7_000).contains(&self.hub_timeout_ms) {
            return Err(format!(
                "[tickets] hub_timeout_ms = {}: must be 100–7000 (a tap tries the hub twice \
                 within the kiosk's 15 s)",
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

/// A follow page's base address: http(s), a host, no user name, query or fragment. Plain
/// http is allowed (the page carries no secret; the phone may be on the center's Wi-Fi).
fn check_public_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{url:?} is not a URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("{url:?} must start with https:// or http://"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("{url:?} names no host"));
    }
    if !parsed.username().is_empty()
        || parsed.password().is_some()
        || parsed.query().is_some()
        || parsed.fragment().is_some()
        || url.len() > super::server_url::MAX_LEN
    {
        return Err(format!(
            "{url:?} must be a plain address (no user name, query or fragment, at most {} characters)",
            super::server_url::MAX_LEN
        ));
    }
    Ok(())
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
    /// Counters issued for since the start that the catalog does not list (each keeps a
    /// lease, as the catalog's counters do).
    wanted: Mutex<BTreeSet<u32>>,
    wake: tokio::sync::Notify,
}

/// Did a ticket POST fail without a definite answer from the hub (it may have issued it)?
fn unanswered(e: &SyncError) -> bool {
    e.is_offline() || matches!(e, SyncError::Server { .. } | SyncError::Truncated { .. })
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
    ///
    /// No ghost tickets: a POST without a definite answer (timeout, cut connection, 5xx) may
    /// have been committed by the hub. It is sent once more with the same key — the hub
    /// answers a repeated key with the ticket it already issued — and only if that too goes
    /// unanswered is a number taken from the lease. The key is then written with that number
    /// and goes with its report, and the hub voids (marks called, with no queue event) any
    /// ticket issued under
    /// the key, or, if there is none, keeps the key on the reported ticket so that a late copy
    /// of the POST issues nothing. The wait before a lease number is at most twice
    /// `hub_timeout_ms`.
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
            return self.take_offline(counter, None);
        };
        let mut body = serde_json::json!({ "counter": counter });
        if let Some(p) = procedure {
            body["procedure"] = p.into();
        }
        let body = body.to_string();
        let timeout = Duration::from_millis(self.config.hub_timeout_ms);
        let mut answer = client
            .post_json("/v1/tickets", Some(key), &body, timeout)
            .await;
        if let Err(e) = &answer {
            if unanswered(e) {
                tracing::warn!(
                    "ticket: no answer from the hub ({e}); asking again with the same key"
                );
                answer = client
                    .post_json("/v1/tickets", Some(key), &body, timeout)
                    .await;
            }
        }
        match answer {
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
                        self.config
                            .public_url
                            .as_deref()
                            .unwrap_or(client.base_url())
                            .trim_end_matches('/'),
                        t.follow
                    )),
                    offline: false,
                    issued_at: t.issued_at,
                })
            }
            Err(e) if unanswered(&e) => {
                tracing::warn!(
                    "ticket: the hub could not be reached ({e}); issuing from the lease"
                );
                self.take_offline(counter, Some(key))
            }
            Err(e) => Err(e.to_string()),
        }
    }

    fn take_offline(&self, counter: u32, key: Option<&str>) -> Result<IssuedTicket, String> {
        let now = self.ctx.clock.now();
        let today = self.config.rules().today(now);
        match issue_from_lease(&mut self.ctx.db(), counter, &today, now, key) {
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
                    "issued": issued.iter().map(|(n, at, key)| {
                        let mut item = serde_json::json!({"number": n, "issued_at": at});
                        if let Some(k) = key {
                            item["replaces"] = k.as_str().into();
                        }
                        item
                    }).collect::<Vec<_>>(),
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
        // The catalog's counters (so a restart during a cut still has numbers for every
        // counter the kiosk offers), and any other counter issued for since the start.
        let mut wanted: BTreeSet<u32> = issuing_counters(&self.ctx.db())?.into_iter().collect();
        wanted.extend(self.wanted.lock().unwrap_or_else(|e| e.into_inner()).iter());
        // A block for today and one for the next day, so a unit that starts the morning
        // offline still issues (the center's day by [tickets] time_zone, as the hub's).
        let rules = self.config.rules();
        let (today, midnight) = rules.day(now);
        let days = [today.clone(), rules.today(midnight)];
        self.ctx
            .db()
            .execute("DELETE FROM ticket_lease_keys WHERE day < ?1", [&today])
            .map_err(StoreError::from)?;
        let pairs: Vec<(u32, String)> = wanted
            .into_iter()
            .flat_map(|c| days.iter().map(move |d| (c, d.clone())))
            .collect();
        for (counter, day) in pairs {
            let day = day.as_str();
            if held(&self.ctx.db(), counter, day, now)? > 0 {
                continue;
            }
            // `day` only for the next day: a hub from before next-day leases refuses the key
            // (and defaults to today), so today's lease still comes from it.
            let body = if day == today {
                serde_json::json!({"counter": counter, "count": self.config.lease_size})
            } else {
                serde_json::json!({"counter": counter, "count": self.config.lease_size, "day": day})
            }
            .to_string();
            let key = lease_key(&self.ctx.db(), counter, day)?;
            let bytes = match client
                .post_json(
                    "/v1/tickets/leases",
                    Some(&key),
                    &body,
                    client.request_timeout(),
                )
                .await
            {
                Ok(b) => b,
                // the key was used with another body (lease_size changed): a new key next time
                Err(SyncError::Rejected {
                    status: 409,
                    message,
                    ..
                }) => {
                    tracing::warn!(counter, day, "the hub refused a lease request: {message}");
                    lease_granted(&self.ctx.db(), counter, day)?;
                    continue;
                }
                // the next day's block refused (a hub without next-day leases, or a day the
                // hub's clock does not agree with): today's blocks and the rest go on
                Err(SyncError::Rejected {
                    status, message, ..
                }) if day != today && (400..500).contains(&status) => {
                    tracing::warn!(counter, day, status, "no next-day lease: {message}");
                    continue;
                }
                Err(e) => return Err(e),
            };
            let l: HubLease = serde_json::from_slice(&bytes)
                .map_err(|e| SyncError::Protocol(format!("the hub's lease answer: {e}")))?;
            if l.labels.len() as u64 != l.last.saturating_sub(l.first) + 1 {
                return Err(SyncError::Protocol(
                    "the hub's lease labels do not match its numbers".into(),
                ));
            }
            // The lease and the end of its key in one transaction: a crash between the two
            // cannot ask for (and store) the same lease again.
            let mut db = self.ctx.db();
            let tx = db.transaction().map_err(StoreError::from)?;
            tx.execute(
                    "INSERT OR IGNORE INTO ticket_leases (lease, counter, day, first_n, last_n, labels, expires_at)
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
            lease_granted(&tx, counter, day)?;
            tx.commit().map_err(StoreError::from)?;
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use chrono::{TimeZone as _, Utc};

    use crate::config::Config;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(Path::new("/etc/motcua/motcua.toml"), text.as_bytes())
            .map_err(|e| e.to_string())
    }

    /// Review finding (issue 20): the kiosk judged "today" in a hard-coded UTC+7. The center's
    /// zone is `[tickets] time_zone` (the hub's definition, `TicketRules`), default Vietnam.
    #[test]
    fn the_center_time_zone_is_configured_and_checked() {
        let midnight = Utc.with_ymd_and_hms(2026, 12, 6, 17, 0, 0).unwrap();
        let default = parse("").unwrap().tickets.rules();
        assert_eq!(default.today(midnight), "2026-12-07");
        assert_eq!(default.clock_text(midnight), "00:00 07/12/2026");
        let utc = parse("[tickets]\ntime_zone = \"UTC\"\n")
            .unwrap()
            .tickets
            .rules();
        assert_eq!(utc.today(midnight), "2026-12-06");
        assert_eq!(utc.clock_text(midnight), "17:00 06/12/2026");
        // public_url: an http(s) address, checked at load.
        let c = parse("[tickets]\npublic_url = \"https://hub.example.vn/motcua/\"\n").unwrap();
        assert_eq!(
            c.tickets.public_url.as_deref(),
            Some("https://hub.example.vn/motcua/")
        );
        assert_eq!(
            parse("[tickets]\npublic_url = \"ftp://hub.example.vn\"\n").unwrap_err(),
            "/etc/motcua/motcua.toml: [tickets] public_url \"ftp://hub.example.vn\" must start \
             with https:// or http://"
        );
        assert!(parse("[tickets]\npublic_url = \"hub.example.vn\"\n")
            .unwrap_err()
            .contains("is not a URL"));
        let err = parse("[tickets]\ntime_zone = \"Mars/Olympus\"\n").unwrap_err();
        assert!(
            err.starts_with(
                "/etc/motcua/motcua.toml: [tickets] time_zone \"Mars/Olympus\" is not a known time zone"
            ),
            "{err}"
        );
    }
}
