//! Taking a number at the kiosk, without Slint: the per-kiosk limits (a rate limit, and a
//! confirmation for a second ticket within a short time), the estimated wait from today's
//! service times at the counter (the median of today's served durations in `catalog.db`),
//! the words shown for each case, and printing the ticket through `crate::printer`.
//!
//! The number itself comes from `ApplianceServices::take_ticket` (the daemon, or the demo's
//! simulated issuer). `wiring_ticket.rs` puts all of this on screen.

use std::collections::VecDeque;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, Utc};

use crate::catalog::Lang;
use crate::printer::status::PrinterState;

/// Fewer served tickets today than this at a counter: no estimate ("chưa đủ dữ liệu").
pub const MIN_SAMPLES: usize = 3;

pub use crate::printer::PrinterConfig;

/// What the kiosk needs to hand out tickets.
#[derive(Debug, Clone, Default)]
pub struct TicketDeps {
    pub limits: crate::sync::tickets::TicketsConfig,
    pub printer: Option<PrinterConfig>,
}

/// May this kiosk issue a ticket now?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Go,
    /// A ticket was issued within the confirmation window: ask first.
    Confirm,
    /// The rate limit is reached; a ticket is possible again in this many seconds.
    Limited {
        wait_secs: u64,
    },
}

/// The per-kiosk limits, on the kiosk's monotonic clock.
#[derive(Debug, Clone)]
pub struct Limits {
    per_minute: usize,
    confirm_within: Duration,
    recent: VecDeque<Instant>,
}

impl Limits {
    pub fn new(per_minute: u32, confirm_within_secs: u32) -> Limits {
        Limits {
            per_minute: per_minute.max(1) as usize,
            confirm_within: Duration::from_secs(confirm_within_secs as u64),
            recent: VecDeque::new(),
        }
    }

    /// The gate at `now` (`confirmed`: the citizen already said yes to another ticket).
    pub fn check(&mut self, now: Instant, confirmed: bool) -> Gate {
        let minute = Duration::from_secs(60);
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= minute)
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= self.per_minute {
            let oldest = self.recent[0];
            let wait = minute.saturating_sub(now.duration_since(oldest));
            return Gate::Limited {
                wait_secs: wait.as_secs().max(1),
            };
        }
        match self.recent.back() {
            Some(last) if !confirmed && now.duration_since(*last) < self.confirm_within => {
                Gate::Confirm
            }
            _ => Gate::Go,
        }
    }

    pub fn record(&mut self, now: Instant) {
        self.recent.push_back(now);
    }
}

/// Seconds each of today's served tickets took at `counter`: from `started` to the next
/// `finished` or `no_show` there, for events on `today` ("2026-12-06") in the center's time
/// zone (`rules`, `[tickets] time_zone`).
pub fn served_today(
    db: &Path,
    counter: u32,
    today: &str,
    rules: &crate::hub::tickets::TicketRules,
) -> Vec<u64> {
    let Ok(conn) = crate::store::open_connection(db, crate::store::Access::ReadOnly) else {
        return Vec::new();
    };
    let rows: Vec<(String, String)> = conn
        .prepare(
            "SELECT kind, at FROM queue_events WHERE counter = ?1 ORDER BY seq DESC LIMIT 2000",
        )
        .and_then(|mut st| {
            st.query_map([counter], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap_or_default();
    let mut started: Option<DateTime<FixedOffset>> = None;
    let mut out = Vec::new();
    for (kind, at) in rows.into_iter().rev() {
        let Ok(at) = DateTime::parse_from_rfc3339(&at) else {
            continue;
        };
        if rules.today(at.with_timezone(&Utc)) != today {
            started = None;
            continue;
        }
        match kind.as_str() {
            "started" => started = Some(at),
            "finished" | "no_show" => {
                if let Some(s) = started.take() {
                    if at > s {
                        out.push((at - s).num_seconds() as u64);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The median of `secs`; None below [`MIN_SAMPLES`].
pub fn median(secs: &[u64]) -> Option<u64> {
    if secs.len() < MIN_SAMPLES {
        return None;
    }
    let mut v = secs.to_vec();
    v.sort_unstable();
    let m = v.len() / 2;
    Some(if v.len().is_multiple_of(2) {
        (v[m - 1] + v[m]) / 2
    } else {
        v[m]
    })
}

/// Estimated wait in minutes: people ahead × the median service time (at least 1 minute
/// when someone is ahead).
pub fn wait_minutes(ahead: u32, median_secs: Option<u64>) -> Option<u32> {
    let m = median_secs?;
    let secs = ahead as u64 * m;
    Some(if ahead == 0 {
        0
    } else {
        secs.div_ceil(60).max(1) as u32
    })
}

pub fn wait_text(minutes: Option<u32>, lang: Lang) -> String {
    match (minutes, lang) {
        (None, Lang::Vi) => "chưa đủ dữ liệu".into(),
        (None, Lang::En) => "not enough data yet".into(),
        (Some(0), Lang::Vi) => "đến lượt ngay".into(),
        (Some(0), Lang::En) => "you are next".into(),
        (Some(m), Lang::Vi) => format!("khoảng {m} phút"),
        (Some(m), Lang::En) => format!("about {m} min"),
    }
}

pub fn ahead_text(ahead: u32, lang: Lang) -> String {
    match lang {
        Lang::Vi => format!("{ahead} người"),
        Lang::En if ahead == 1 => "1 person".into(),
        Lang::En => format!("{ahead} people"),
    }
}

/// A fresh idempotency key for one tap.
pub fn new_key() -> String {
    let mut raw = [0u8; 12];
    let _ = getrandom::fill(&mut raw);
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    format!("kiosk-{hex}")
}

/// What printing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Printed {
    Yes,
    /// Not printed: the printer's state (absent, out of paper, cover open…), if known, and
    /// the technician's description (logged).
    No(Option<PrinterState>, String),
    /// No printer configured.
    NoPrinter,
}

/// Print `t` on the configured printer (blocking: call it off the UI thread).
pub fn print(cfg: &PrinterConfig, t: &crate::printer::TicketPrint) -> Printed {
    let printer = crate::printer::device::UsbPrinter::new(&cfg.device);
    // `print` checks the status first; a roll that runs out on this ticket is reported by the next status check.
    match printer.print(&crate::printer::ticket_job(t, cfg.width)) {
        Ok(_) => Printed::Yes,
        Err(crate::printer::device::PrintError::NotReady(s)) => {
            Printed::No(Some(s), s.describe().to_owned())
        }
        Err(e) => Printed::No(None, e.to_string()),
    }
}

/// The line under the ticket: printed, or photograph the screen.
pub fn printed_text(p: &Printed, lang: Lang) -> (String, bool) {
    match (p, lang) {
        (Printed::Yes, Lang::Vi) => ("Đã in phiếu. Mời nhận phiếu bên dưới.".into(), true),
        (Printed::Yes, Lang::En) => ("Your ticket is printed below.".into(), true),
        (Printed::No(state, _), Lang::Vi) => (
            format!(
                "Không in được phiếu ({}). Vui lòng chụp ảnh màn hình này để giữ số.",
                match state {
                    Some(PrinterState::PaperOut) => "máy in hết giấy",
                    Some(PrinterState::CoverOpen) => "nắp máy in đang mở",
                    Some(PrinterState::Absent) => "máy in chưa được kết nối",
                    _ => "máy in đang lỗi",
                }
            ),
            false,
        ),
        (Printed::No(state, _), Lang::En) => (
            format!(
                "The ticket could not be printed ({}). Please take a photo of this screen.",
                match state {
                    Some(PrinterState::PaperOut) => "the printer is out of paper",
                    Some(PrinterState::CoverOpen) => "the printer's cover is open",
                    Some(PrinterState::Absent) => "no printer is connected",
                    _ => "printer error",
                }
            ),
            false,
        ),
        (Printed::NoPrinter, Lang::Vi) => (
            "Máy này không có máy in. Vui lòng chụp ảnh màn hình này để giữ số.".into(),
            false,
        ),
        (Printed::NoPrinter, Lang::En) => (
            "No printer here. Please take a photo of this screen to keep your number.".into(),
            false,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_ticket_is_confirmed_and_the_rate_is_limited() {
        let t0 = Instant::now();
        let mut l = Limits::new(2, 120);
        assert_eq!(l.check(t0, false), Gate::Go);
        l.record(t0);
        let t1 = t0 + Duration::from_secs(10);
        assert_eq!(l.check(t1, false), Gate::Confirm);
        assert_eq!(l.check(t1, true), Gate::Go);
        l.record(t1);
        let t2 = t0 + Duration::from_secs(20);
        assert_eq!(l.check(t2, true), Gate::Limited { wait_secs: 40 });
        let t3 = t0 + Duration::from_secs(61);
        assert_eq!(l.check(t3, true), Gate::Go);
        let t4 = t1 + Duration::from_secs(200);
        assert_eq!(l.check(t4, false), Gate::Go);
    }

    #[test]
    fn a_failed_print_asks_for_a_photo() {
        let (t, ok) = printed_text(
            &Printed::No(Some(PrinterState::PaperOut), String::new()),
            Lang::Vi,
        );
        assert_eq!(
            (t.as_str(), ok),
            (
                "Không in được phiếu (máy in hết giấy). Vui lòng chụp ảnh màn hình này để giữ số.",
                false
            )
        );
        let absent = PrinterConfig {
            device: "/nonexistent/lp9".into(),
            width: 576,
        };
        let p = print(&absent, &crate::printer::sample_ticket());
        assert!(
            matches!(p, Printed::No(Some(PrinterState::Absent), _)),
            "{p:?}"
        );
    }

    #[test]
    fn the_wait_needs_enough_of_todays_services() {
        assert_eq!(median(&[300, 600]), None);
        assert_eq!(median(&[300, 600, 420]), Some(420));
        assert_eq!(median(&[300, 600, 420, 500]), Some(460));
        assert_eq!(wait_minutes(3, Some(420)), Some(21));
        assert_eq!(wait_minutes(0, Some(420)), Some(0));
        assert_eq!(wait_minutes(3, None), None);
        assert_eq!(wait_text(None, Lang::Vi), "chưa đủ dữ liệu");
        assert_eq!(wait_text(Some(21), Lang::Vi), "khoảng 21 phút");
    }

    #[test]
    fn served_durations_are_todays_started_to_finished() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("catalog.db");
        crate::store::CatalogStore::open(&db).unwrap();
        let mut conn = crate::store::open_connection(&db, crate::store::Access::ReadWrite).unwrap();
        let ev = |seq, kind, at: &str| crate::queue::QueueEvent {
            seq,
            counter: 2,
            kind,
            ticket: None,
            record_id: None,
            waiting: None,
            at: at.into(),
        };
        use crate::queue::QueueEventKind::*;
        let events = [
            ev(1, Started, "2026-12-05T09:00:00+07:00"),
            ev(2, Finished, "2026-12-05T09:05:00+07:00"),
            ev(3, Started, "2026-12-06T08:00:00+07:00"),
            ev(4, Finished, "2026-12-06T08:07:00+07:00"),
            ev(5, Started, "2026-12-06T01:10:00Z"),
            ev(6, NoShow, "2026-12-06T01:12:00Z"),
            ev(7, Issued, "2026-12-06T01:13:00Z"),
            // 06:00 on the 6th in Vietnam, 23:00 on the 5th in UTC
            ev(8, Started, "2026-12-06T06:00:00+07:00"),
            ev(9, Finished, "2026-12-06T06:01:00+07:00"),
        ];
        crate::store::queue_store::apply_events(&mut conn, &events).unwrap();
        let rules = crate::hub::tickets::TicketRules::default();
        assert_eq!(served_today(&db, 2, "2026-12-06", &rules), [420, 120, 60]);
        assert_eq!(
            served_today(&db, 3, "2026-12-06", &rules),
            Vec::<u64>::new()
        );
        // A center configured in UTC: the zone decides which day a service belongs to.
        let utc = crate::hub::tickets::TicketRules::new(Some("UTC"), Default::default()).unwrap();
        assert_eq!(served_today(&db, 2, "2026-12-06", &utc), [420, 120]);
        assert_eq!(served_today(&db, 2, "2026-12-05", &utc), [300, 60]);
    }
}
