//! The queue board: counter states from `catalog.db` turned into display rows (the thread that
//! notices new states is `store_watch`). Only reads the store.

use crate::catalog::{CatalogBundle, Lang};
use crate::queue::{CounterState, CounterStatus};
use crate::store::{open_connection, queue_store, Access};

/// One counter as the board and the home strip show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterLine {
    pub number: u32,
    pub name: String,
    pub ticket: String,
    pub status: String,
    /// 0 idle, 1 called, 2 serving, 3 paused, 4 closed, 5 no data (matches the views).
    pub kind: i32,
    pub waiting: u32,
}

pub fn status_kind(s: CounterStatus) -> i32 {
    match s {
        CounterStatus::Idle => 0,
        CounterStatus::Called => 1,
        CounterStatus::Serving => 2,
        CounterStatus::Paused => 3,
        CounterStatus::Closed => 4,
    }
}

/// Vietnam has one time zone, UTC+7 (ICT), without daylight saving. The kiosk shows times in
/// it whatever the machine's own time zone is (a fresh image runs in UTC).
pub const ICT_OFFSET_SECS: i32 = 7 * 3600;

/// `HH:MM:SS` of an RFC 3339 timestamp in the center's time (ICT); unparsable text as it is.
pub fn clock_ict(rfc3339: &str) -> String {
    let ict = chrono::FixedOffset::east_opt(ICT_OFFSET_SECS).expect("valid offset");
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|d| d.with_timezone(&ict).format("%H:%M:%S").to_string())
        .unwrap_or_else(|_| rfc3339.to_owned())
}

/// A counter's name without a leading "Quầy N" / "Counter N" (the board already shows the
/// number) and the separators after it: "Quầy 1 - Tư pháp - Hộ tịch" → "Tư pháp - Hộ tịch".
/// Only strips the counter's own number; a name that is nothing but "Quầy N" becomes "".
pub fn counter_display_name(name: &str, number: u32) -> String {
    let trimmed = name.trim();
    for prefix in ["quầy số", "quầy", "counter no.", "counter no", "counter"] {
        let n = prefix.chars().count();
        let end = trimmed
            .char_indices()
            .nth(n)
            .map(|(i, _)| i)
            .unwrap_or(trimmed.len());
        if trimmed[..end].to_lowercase() != prefix {
            continue;
        }
        let rest_orig = &trimmed[end..];
        let after_space = rest_orig.trim_start_matches([' ', '#']);
        let digits: String = after_space
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        if digits.is_empty() || digits.parse::<u32>().ok() != Some(number) {
            return trimmed.to_owned();
        }
        let tail = &after_space[digits.len()..];
        if tail.starts_with(|c: char| c.is_alphanumeric()) {
            // "Quầy 12b…": not a bare number.
            return trimmed.to_owned();
        }
        return tail
            .trim_start_matches(|c: char| c.is_whitespace() || "-–—:·.,".contains(c))
            .trim_end()
            .to_owned();
    }
    trimmed.to_owned()
}

fn status_label(kind: i32, lang: Lang) -> &'static str {
    match (kind, lang) {
        (0, Lang::Vi) => "Đang chờ gọi số",
        (1, Lang::Vi) => "Mời số này đến quầy",
        (2, Lang::Vi) => "Đang phục vụ",
        (3, Lang::Vi) => "Tạm dừng",
        (4, Lang::Vi) => "Đã đóng",
        (_, Lang::Vi) => "Chưa có dữ liệu",
        (0, Lang::En) => "Ready for the next number",
        (1, Lang::En) => "Please come to the counter",
        (2, Lang::En) => "Serving",
        (3, Lang::En) => "Paused",
        (4, Lang::En) => "Closed",
        (_, Lang::En) => "No data yet",
    }
}

/// Every counter of the catalog (plus any the queue knows that the catalog does not), in
/// number order, with its live state where there is one.
pub fn board_lines(
    bundle: &CatalogBundle,
    states: &[CounterState],
    lang: Lang,
) -> Vec<CounterLine> {
    let mut numbers: Vec<u32> = bundle.counters.iter().map(|c| c.number).collect();
    numbers.extend(states.iter().map(|s| s.counter));
    numbers.sort_unstable();
    numbers.dedup();
    numbers
        .into_iter()
        .map(|n| {
            let name = bundle
                .counters
                .iter()
                .find(|c| c.number == n)
                .map(|c| counter_display_name(c.name.get(lang), n))
                .unwrap_or_default();
            let state = states.iter().find(|s| s.counter == n);
            let kind = state.map(|s| status_kind(s.status)).unwrap_or(5);
            let ticket = match state {
                Some(s) if matches!(s.status, CounterStatus::Called | CounterStatus::Serving) => {
                    s.ticket.clone().unwrap_or_default()
                }
                _ => String::new(),
            };
            CounterLine {
                number: n,
                name,
                ticket,
                status: status_label(kind, lang).to_owned(),
                kind,
                waiting: state.map(|s| s.waiting).unwrap_or(0),
            }
        })
        .collect()
}

/// Reads the board once (for screenshots and start-up). A missing database is an empty board.
pub fn read_board(db: &std::path::Path) -> Vec<CounterState> {
    if !db.exists() {
        return Vec::new();
    }
    open_connection(db, Access::ReadOnly)
        .and_then(|c| queue_store::board(&c))
        .unwrap_or_else(|e| {
            tracing::warn!("cannot read the queue board from {}: {e}", db.display());
            Vec::new()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::demo_bundle;

    #[test]
    fn board_lists_catalog_counters_with_live_state() {
        let bundle = demo_bundle();
        let first = bundle.counters[0].number;
        let states = vec![CounterState {
            counter: first,
            status: CounterStatus::Called,
            ticket: Some("1023".into()),
            record_id: None,
            waiting: 4,
            updated_at: "2026-11-20T08:00:00+07:00".into(),
        }];
        let lines = board_lines(&bundle, &states, Lang::Vi);
        assert_eq!(lines.len(), bundle.counters.len());
        assert_eq!(
            (lines[0].ticket.as_str(), lines[0].kind, lines[0].waiting),
            ("1023", 1, 4)
        );
        assert_eq!(lines[1].status, "Chưa có dữ liệu");
    }

    #[test]
    fn counter_names_lose_their_leading_number() {
        let cases = [
            ("Quầy 1 - Tư pháp - Hộ tịch", 1, "Tư pháp - Hộ tịch"),
            ("Quầy 2 – Chứng thực", 2, "Chứng thực"),
            ("Quầy 3: Văn hóa - Xã hội", 3, "Văn hóa - Xã hội"),
            ("quầy số 4 — Đất đai", 4, "Đất đai"),
            (
                "Counter 1 - Justice and civil status",
                1,
                "Justice and civil status",
            ),
            ("Counter No. 6: Help desk", 6, "Help desk"),
            ("Quầy 6", 6, ""),
            ("  Quầy 5 -  Kinh tế ", 5, "Kinh tế"),
            // Not this counter's number, or no number: left alone.
            ("Quầy 12 - Tư pháp", 2, "Quầy 12 - Tư pháp"),
            ("Quầy 1b - Tư pháp", 1, "Quầy 1b - Tư pháp"),
            ("Quầy tiếp nhận", 1, "Quầy tiếp nhận"),
            ("Tư pháp - Hộ tịch", 1, "Tư pháp - Hộ tịch"),
            ("Counterfeit checks", 1, "Counterfeit checks"),
        ];
        for (name, n, want) in cases {
            assert_eq!(counter_display_name(name, n), want, "{name:?}");
        }
        let lines = board_lines(&demo_bundle(), &[], Lang::Vi);
        assert!(
            lines.iter().all(|l| !l.name.starts_with("Quầy")),
            "{lines:?}"
        );
        assert_eq!(lines[0].name, "Tư pháp - Hộ tịch - Chứng thực");
    }

    #[test]
    fn clock_is_vietnam_time_whatever_the_offset_of_the_input() {
        assert_eq!(clock_ict("2026-11-20T08:47:05+07:00"), "08:47:05");
        assert_eq!(clock_ict("2026-11-20T01:47:05Z"), "08:47:05");
        assert_eq!(clock_ict("2026-11-20T20:00:00+00:00"), "03:00:00");
        assert_eq!(clock_ict("not a time"), "not a time");
    }
}
