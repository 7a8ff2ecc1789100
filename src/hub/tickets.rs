//! Ticket numbering rules and the ticket types both hub stores share: the center's time zone
//! (the sequence of each counter restarts at local midnight), the label a board shows (the
//! counter's prefix and a three-digit sequence: "1015" for counter 1, or "A015" with prefix
//! "A"), the checks on a ticket request and a lease request, and what the store answers.
//!
//! The SQL lives in the store backends (`store::sqlite_tickets`, `store::pg_tickets`); the
//! HTTP routes in `api_tickets.rs`. See docs/hub.md, "Tickets".

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::HubError;

/// The default center time zone (no daylight saving since 1975, so UTC+7 when the system has
/// no zone database).
pub const DEFAULT_TIME_ZONE: &str = "Asia/Ho_Chi_Minh";
/// Most numbers one lease may hold.
pub const MAX_LEASE: u32 = 50;
/// Longest procedure code kept with a ticket.
pub const MAX_PROCEDURE_LEN: usize = 64;

/// How a hub numbers tickets.
#[derive(Debug, Clone)]
pub struct TicketRules {
    zone_name: String,
    zone: jiff::tz::TimeZone,
    /// Counter → prefix; a counter without one uses its own number ("1" → "1015").
    prefixes: BTreeMap<u32, String>,
}

impl Default for TicketRules {
    fn default() -> Self {
        TicketRules::new(None, BTreeMap::new()).expect("the default rules are valid")
    }
}

impl TicketRules {
    /// `time_zone` is an IANA name (default Asia/Ho_Chi_Minh); prefixes are 1–4 letters or
    /// digits, for counters 1–999.
    pub fn new(
        time_zone: Option<&str>,
        prefixes: BTreeMap<u32, String>,
    ) -> Result<TicketRules, HubError> {
        let zone_name = time_zone.unwrap_or(DEFAULT_TIME_ZONE).to_owned();
        let zone = match jiff::tz::TimeZone::get(&zone_name) {
            Ok(z) => z,
            Err(_) if zone_name == DEFAULT_TIME_ZONE => {
                jiff::tz::TimeZone::fixed(jiff::tz::offset(7))
            }
            Err(e) => {
                return Err(HubError::Refused(format!(
                    "time_zone {zone_name:?} is not a known time zone ({e}); \
                     use an IANA name such as \"Asia/Ho_Chi_Minh\""
                )))
            }
        };
        for (counter, p) in &prefixes {
            if *counter == 0 || *counter > 999 {
                return Err(HubError::Refused(format!(
                    "ticket_prefix: counter {counter} is out of range 1..=999"
                )));
            }
            if p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(HubError::Refused(format!(
                    "ticket_prefix for counter {counter}: {p:?} is not 1–4 letters or digits"
                )));
            }
        }
        Ok(TicketRules {
            zone_name,
            zone,
            prefixes,
        })
    }

    pub fn zone_name(&self) -> &str {
        &self.zone_name
    }

    /// The center's local date at `now` ("2026-12-06") and the next local midnight.
    pub fn day(&self, now: DateTime<Utc>) -> (String, DateTime<Utc>) {
        let ts =
            jiff::Timestamp::from_second(now.timestamp()).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let date = ts.to_zoned(self.zone.clone()).date();
        let next = date
            .tomorrow()
            .ok()
            .and_then(|d| d.to_zoned(self.zone.clone()).ok())
            .map(|z| z.timestamp().as_second())
            .and_then(|s| DateTime::from_timestamp(s, 0))
            .unwrap_or(now);
        (date.to_string(), next)
    }

    /// The center's local date at `now`: the day whose tickets a call at `now` takes out of the
    /// line, and whose first waiting ticket `hub queue call` calls. Both stores are given this
    /// day (never the latest day in the table: a leftover row dated later must not hide today).
    pub fn today(&self, now: DateTime<Utc>) -> String {
        self.day(now).0
    }

    /// `now` on the center's clock, as a ticket prints it ("08:30 06/12/2026").
    pub fn clock_text(&self, now: DateTime<Utc>) -> String {
        jiff::Timestamp::from_second(now.timestamp())
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
            .to_zoned(self.zone.clone())
            .strftime("%H:%M %d/%m/%Y")
            .to_string()
    }

    /// The day a lease asked at `now` is for, and when it expires: today (`wanted` None or
    /// today) or the next local day; another day is refused (the 409's message).
    pub fn lease_day(
        &self,
        now: DateTime<Utc>,
        wanted: Option<chrono::NaiveDate>,
    ) -> Result<(String, DateTime<Utc>), String> {
        let (today, midnight) = self.day(now);
        let next = self.day(midnight);
        match wanted.map(|d| d.to_string()) {
            None => Ok((today, midnight)),
            Some(d) if d == today => Ok((today, midnight)),
            Some(d) if d == next.0 => Ok(next),
            Some(d) => Err(format!(
                "day {d}: a lease is for today ({today}) or the next day ({}) of the center",
                next.0
            )),
        }
    }

    pub fn prefix(&self, counter: u32) -> String {
        self.prefixes
            .get(&counter)
            .cloned()
            .unwrap_or_else(|| counter.to_string())
    }

    /// The board label of number `n` at `counter`: prefix and at least three digits.
    pub fn label(&self, counter: u32, n: u64) -> String {
        format!("{}{n:03}", self.prefix(counter))
    }
}

/// A checked `POST /v1/tickets` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRequest {
    pub counter: u32,
    /// The procedure's code, when the citizen chose one (kept for statistics; never shown on
    /// the public follow page).
    pub procedure: Option<String>,
}

/// A checked `POST /v1/tickets/leases` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRequest {
    pub counter: u32,
    pub count: u32,
    /// The center's day the numbers are for: today (None) or the next day, so a device that
    /// starts the morning offline still holds numbers.
    pub day: Option<chrono::NaiveDate>,
}

fn object(body: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(_) => Err("the body must be a JSON object".into()),
        Err(e) => Err(format!("the body is not JSON: {e}")),
    }
}

fn only(m: &serde_json::Map<String, serde_json::Value>, allowed: &[&str]) -> Result<(), String> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!("unknown field {k:?}")),
        None => Ok(()),
    }
}

/// A non-negative integer, also when written as an integral float (`3.0`), as JSON Schema's
/// `integer` allows.
pub fn as_count(v: &serde_json::Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 9.0e15)
            .map(|f| f as u64)
    })
}

fn counter(m: &serde_json::Map<String, serde_json::Value>) -> Result<u32, String> {
    match m.get("counter").and_then(as_count) {
        Some(c @ 1..=999) => Ok(c as u32),
        Some(c) => Err(format!("counter: {c} is out of range 1..=999")),
        None => Err("counter: an integer 1..=999 is required".into()),
    }
}

impl IssueRequest {
    pub fn parse(body: &str) -> Result<IssueRequest, String> {
        let m = object(body)?;
        only(&m, &["counter", "procedure"])?;
        let procedure = match m.get("procedure") {
            None => None,
            Some(serde_json::Value::String(p))
                if !p.is_empty()
                    && p.len() <= MAX_PROCEDURE_LEN
                    && p.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                Some(p.clone())
            }
            Some(_) => {
                return Err(format!(
                    "procedure: 1-{MAX_PROCEDURE_LEN} visible ASCII characters"
                ))
            }
        };
        Ok(IssueRequest {
            counter: counter(&m)?,
            procedure,
        })
    }

    /// The canonical form kept with the idempotency key (a repeat must match it).
    pub fn canonical(&self) -> String {
        serde_json::json!({ "counter": self.counter, "procedure": self.procedure }).to_string()
    }
}

impl LeaseRequest {
    pub fn parse(body: &str) -> Result<LeaseRequest, String> {
        let m = object(body)?;
        only(&m, &["counter", "count", "day"])?;
        let day = match m.get("day") {
            None => None,
            Some(serde_json::Value::String(d)) => Some(
                chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map_err(|_| format!("day: {d:?} is not a date (YYYY-MM-DD)"))?,
            ),
            Some(_) => return Err("day: a date (YYYY-MM-DD)".into()),
        };
        let count = match m.get("count").and_then(as_count) {
            Some(n @ 1..) if n <= MAX_LEASE as u64 => n as u32,
            _ => return Err(format!("count: an integer 1..={MAX_LEASE} is required")),
        };
        Ok(LeaseRequest {
            counter: counter(&m)?,
            count,
            day,
        })
    }

    pub fn canonical(&self) -> String {
        match self.day {
            None => serde_json::json!({ "counter": self.counter, "count": self.count }),
            Some(d) => serde_json::json!({
                "counter": self.counter, "count": self.count, "day": d.to_string()
            }),
        }
        .to_string()
    }
}

/// One issued ticket, as `POST /v1/tickets` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ticket {
    /// The board label ("A015").
    pub ticket: String,
    pub counter: u32,
    /// The day's sequence number at this counter (1, 2, …).
    pub number: u64,
    /// The center's local date it belongs to.
    pub day: String,
    pub issued_at: String,
    /// The queue event that announced it.
    pub seq: u64,
    /// Tickets of the same counter and day issued before it and not yet called.
    pub ahead: u64,
    /// Opaque token of the public follow page (`/t/{follow}`).
    pub follow: String,
}

/// What an issuing attempt did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueOutcome {
    New(Ticket),
    /// The same idempotency key and body again: the ticket it got.
    Repeat(Ticket),
    /// The key was used with another body (or a reported number is not this lease's).
    Conflict(String),
}

/// A block of numbers leased to a device for offline issuing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lease {
    pub lease: u64,
    pub counter: u32,
    pub day: String,
    pub first: u64,
    pub last: u64,
    /// The labels of `first..=last`, in order.
    pub labels: Vec<String>,
    /// Local midnight after `day`: numbers not issued by then are void.
    pub expires_at: String,
}

/// One number a device issued from a lease while offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported {
    pub number: u64,
    pub issued_at: String,
    /// The `Idempotency-Key` of the device's `POST /v1/tickets` for the same citizen that got
    /// no answer (the hub may have issued it: a ghost), which this number replaced.
    pub replaces: Option<String>,
}

/// What entering a reported number does about the online request it replaces, given the
/// ticket issued under that key (`ghost`: whether it was called), if any. Both stores decide
/// with this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replaced {
    /// The request did issue a ticket nobody holds: void it (taken out of the waiting line,
    /// as a called ticket is) — the citizen holds the offline number.
    Void,
    /// No ticket under the key: the reported ticket takes the key, so a late copy of the
    /// request answers with it instead of issuing a number.
    Claim,
    /// The ghost was called already: nothing left to undo.
    Settled,
}

impl Replaced {
    pub fn judge(ghost: Option<bool>) -> Replaced {
        match ghost {
            None => Replaced::Claim,
            Some(false) => Replaced::Void,
            Some(true) => Replaced::Settled,
        }
    }

    /// The request body stored with a claimed key: `counter` and no procedure (a late copy
    /// naming a procedure gets 409, and no number either).
    pub fn claimed_request(counter: u32) -> String {
        IssueRequest {
            counter,
            procedure: None,
        }
        .canonical()
    }
}

/// What a lease report does with one reported number, given what the store holds for it
/// (`known`: the ticket row's `lease_id`, if a ticket with that number exists). Both stores
/// decide with this, so they cannot drift apart.
#[derive(Debug, PartialEq, Eq)]
pub enum ReportedNumber<'a> {
    /// Already reported from this lease: skipped (a repeated report is harmless).
    Again,
    /// Enter it in the queue with this label.
    Enter(&'a str),
}

impl Lease {
    /// Judge `r` for lease `id` (`closed`: the lease was closed by an earlier report); the
    /// error is the 409's message.
    pub fn judge<'a>(
        &'a self,
        id: u64,
        closed: bool,
        r: &Reported,
        known: Option<Option<i64>>,
    ) -> Result<ReportedNumber<'a>, String> {
        if r.number < self.first || r.number > self.last {
            return Err(format!(
                "lease {id}: number {} is not in this lease ({}..={})",
                r.number, self.first, self.last
            ));
        }
        match known {
            Some(Some(l)) if l == id as i64 => return Ok(ReportedNumber::Again),
            Some(_) => {
                return Err(format!(
                    "lease {id}: number {} was already issued otherwise",
                    r.number
                ))
            }
            None if closed => {
                return Err(format!(
                    "lease {id}: closed; number {} was given back and is void",
                    r.number
                ))
            }
            None => {}
        }
        if chrono::DateTime::parse_from_rfc3339(&r.issued_at).is_err() {
            return Err(format!(
                "lease {id}: issued_at {:?} of number {} is not RFC 3339",
                r.issued_at, r.number
            ));
        }
        Ok(ReportedNumber::Enter(
            &self.labels[(r.number - self.first) as usize],
        ))
    }
}

/// A checked `POST /v1/tickets/leases/{id}/report` body: the numbers issued, and whether
/// the rest is given back.
pub fn parse_report(body: &str) -> Result<(Vec<Reported>, bool), String> {
    let m = object(body)?;
    only(&m, &["issued", "close"])?;
    let close = match m.get("close") {
        None => false,
        Some(serde_json::Value::Bool(b)) => *b,
        Some(_) => return Err("close: true or false".into()),
    };
    let Some(serde_json::Value::Array(items)) = m.get("issued") else {
        return Err("issued: an array of {number, issued_at} is required".into());
    };
    if items.len() > MAX_LEASE as usize {
        return Err(format!(
            "issued: at most {MAX_LEASE} numbers (a lease's size)"
        ));
    }
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let serde_json::Value::Object(o) = item else {
            return Err(format!("issued[{i}]: an object {{number, issued_at}}"));
        };
        only(o, &["number", "issued_at", "replaces"]).map_err(|e| format!("issued[{i}]: {e}"))?;
        let replaces = match o.get("replaces") {
            None => None,
            Some(serde_json::Value::String(k))
                if !k.is_empty() && k.len() <= 128 && k.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                Some(k.clone())
            }
            Some(_) => {
                return Err(format!(
                    "issued[{i}].replaces: an Idempotency-Key (1-128 visible ASCII characters)"
                ))
            }
        };
        let number = o
            .get("number")
            .and_then(as_count)
            .filter(|n| *n >= 1)
            .ok_or_else(|| format!("issued[{i}].number: an integer of at least 1 is required"))?;
        let issued_at = o
            .get("issued_at")
            .and_then(|v| v.as_str())
            .filter(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok())
            .ok_or_else(|| format!("issued[{i}].issued_at: an RFC 3339 time is required"))?;
        out.push(Reported {
            number,
            issued_at: issued_at.to_owned(),
            replaces,
        });
    }
    Ok((out, close))
}

/// What a lease report did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportOutcome {
    /// Tickets newly entered in the queue (numbers already reported are not repeated).
    pub accepted: Vec<Ticket>,
    /// The numbers given back (never to be issued), when the lease was closed.
    pub returned: Vec<u64>,
}

/// What the public follow page shows: no device, no procedure, nothing personal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Follow {
    pub ticket: String,
    pub counter: u32,
    pub day: String,
    pub called: bool,
    pub ahead: u64,
}

/// A new follow token: 32 random bytes as 64 hex digits.
pub fn new_follow_token() -> Result<String, HubError> {
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| HubError::Refused(e.to_string()))?;
    Ok(super::store::hex(&raw))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn the_day_turns_at_local_midnight() {
        let r = TicketRules::default();
        // 16:59:59 UTC is 23:59:59 in Hanoi; one second later is the next day.
        let before = Utc.with_ymd_and_hms(2026, 12, 6, 16, 59, 59).unwrap();
        let after = Utc.with_ymd_and_hms(2026, 12, 6, 17, 0, 0).unwrap();
        assert_eq!(r.day(before).0, "2026-12-06");
        assert_eq!(r.day(before).1, after);
        assert_eq!(r.day(after).0, "2026-12-07");
    }

    #[test]
    fn labels_use_the_counter_or_its_prefix() {
        let r = TicketRules::new(None, BTreeMap::from([(2, "A".to_string())])).unwrap();
        assert_eq!(r.label(1, 15), "1015");
        assert_eq!(r.label(2, 15), "A015");
        assert_eq!(r.label(2, 1234), "A1234");
    }

    #[test]
    fn bad_rules_and_requests_are_named() {
        let e = TicketRules::new(Some("Mars/Olympus"), BTreeMap::new()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("time_zone \"Mars/Olympus\" is not a known time zone"),
            "{e}"
        );
        let e = TicketRules::new(None, BTreeMap::from([(3, "A-1".to_string())])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ticket_prefix for counter 3: \"A-1\" is not 1–4 letters or digits"
        );
        assert_eq!(
            IssueRequest::parse("[]").unwrap_err(),
            "the body must be a JSON object"
        );
        assert_eq!(
            IssueRequest::parse("{}").unwrap_err(),
            "counter: an integer 1..=999 is required"
        );
        assert_eq!(
            IssueRequest::parse(r#"{"counter":1000}"#).unwrap_err(),
            "counter: 1000 is out of range 1..=999"
        );
        assert_eq!(
            IssueRequest::parse(r#"{"counter":1,"name":"x"}"#).unwrap_err(),
            "unknown field \"name\""
        );
        assert_eq!(
            IssueRequest::parse(r#"{"counter":1,"procedure":""}"#).unwrap_err(),
            "procedure: 1-64 visible ASCII characters"
        );
        assert_eq!(
            LeaseRequest::parse(r#"{"counter":1,"count":51}"#).unwrap_err(),
            "count: an integer 1..=50 is required"
        );
        assert_eq!(
            IssueRequest::parse(r#"{"counter":3,"procedure":"1.001"}"#).unwrap(),
            IssueRequest {
                counter: 3,
                procedure: Some("1.001".into())
            }
        );
    }
}
