//! Structure from the portal's processing-time and fee cells, where the text is unambiguous.
//!
//! The rule is: parse only what has one reading, and leave everything else as text (the
//! kiosk then shows the text and computes no total). "5 Ngày làm việc" is five working days;
//! a bare "5" has no unit and stays text unless the row's own description names the same
//! number of working days; "Miễn phí" is free unless its note says the province sets the
//! amount; "2,000 Việt Nam Đồng(/trang)" is per page, with the tiers and the cap of the
//! copy-authentication tariff when the description spells them out. Money is integer VND;
//! amounts in other currencies stay text.

use regex::Regex;
use std::sync::LazyLock;

use crate::catalog::model::{FeeFormula, PageTier};

/// A processing time read from one table row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeReading {
    WorkingDays(u32),
    CalendarDays(u32),
    /// Text only: a bare number without a unit, hours, "Không quy định", a placeholder.
    Text,
}

static TIME_UNIT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^0*(\d{1,3})\s*(ngày làm việc|ngày)$").unwrap());

/// Read a time cell (already cleaned). `description` is the row's free text, which may name
/// the unit a bare number lacks ("06 ngày làm việc, kể từ ngày nhận đủ hồ sơ").
pub fn read_time(cell: &str, description: &str) -> TimeReading {
    if let Some(c) = TIME_UNIT.captures(cell.trim()) {
        let n: u32 = c[1].parse().unwrap_or(u32::MAX);
        if n > 365 {
            return TimeReading::Text;
        }
        return if c[2].to_lowercase() == "ngày làm việc" {
            TimeReading::WorkingDays(n)
        } else {
            TimeReading::CalendarDays(n)
        };
    }
    if let Ok(n) = cell.trim().parse::<u32>() {
        // A bare number: the unit must come from the description, and only one reading
        // of it may be there.
        let named: Vec<u32> = WORKING_DAYS_IN_TEXT
            .captures_iter(description)
            .filter_map(|c| c[1].parse().ok())
            .collect();
        if n <= 365 && !named.is_empty() && named.iter().all(|&d| d == n) {
            return TimeReading::WorkingDays(n);
        }
    }
    TimeReading::Text
}

static WORKING_DAYS_IN_TEXT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b0*(\d{1,3}) ngày làm việc").unwrap());

/// What the converter makes of one fee cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeReading {
    /// The published text, tidied: "2.000 đồng/trang", "Miễn phí".
    pub text: String,
    pub formula: Option<FeeFormula>,
    /// Sentences of the cell's note that describe an item charged only on request
    /// ("Phí cấp bản sao Trích lục … (nếu có yêu cầu) …").
    pub on_request: Vec<String>,
}

static AMOUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\d{1,3}(?:[.,]\d{3})+|\d+)\s*(Việt Nam Đồng|VNĐ|VND|đồng|Đồng|USD)$").unwrap()
});

/// Units after an amount, as the portal writes them in the note: "(/trang)", "(/bản)".
enum Per {
    Case,
    Copy,
    Page,
}

fn per_unit(note: &str) -> Option<Per> {
    let unit = note.trim().strip_prefix('/')?.trim().to_lowercase();
    match unit.as_str() {
        "trường hợp" | "hồ sơ" | "lần" | "việc" | "tờ khai" | "giao dịch" | "yêu cầu" => {
            Some(Per::Case)
        }
        "bản" | "bản sao" => Some(Per::Copy),
        "trang" => Some(Per::Page),
        _ => None,
    }
}

/// Read a fee cell: `amount` is the cell ("Miễn phí", "10,000 Việt Nam Đồng", "Không có
/// thông tin"), `note` what the portal put in brackets after it, `description` the row's
/// free text. Returns None for a placeholder (no fee published).
pub fn read_fee(amount: &str, note: &str, description: &str) -> Option<FeeReading> {
    let amount = amount.trim();
    let note = note.trim();
    if amount.is_empty() || super::cells::is_placeholder(amount) {
        return None;
    }
    let (note_text, on_request, note_is_neutral) = split_note(note);
    if amount.eq_ignore_ascii_case("miễn phí") || amount == "Miễn phí" {
        let text = join_text("Miễn phí", &note_text);
        let formula = note_is_neutral.then_some(FeeFormula::Free);
        return Some(FeeReading {
            text,
            formula,
            on_request,
        });
    }
    let Some(c) = AMOUNT.captures(amount) else {
        return Some(FeeReading {
            text: join_text(amount, note),
            formula: None,
            on_request: Vec::new(),
        });
    };
    let digits: String = c[1].chars().filter(char::is_ascii_digit).collect();
    let value: u64 = digits.parse().unwrap_or(u64::MAX);
    let vnd = c[2] != *"USD";
    let shown = if vnd {
        format!("{} đồng", super::super::fee::format_thousands(value))
    } else {
        format!("{value} USD")
    };
    let note = strip_brackets(note);
    let per = per_unit(note);
    let text = match note.strip_prefix('/') {
        Some(unit) => format!("{shown}/{}", unit.trim()),
        None => join_text(&shown, note),
    };
    if !vnd || value > crate::catalog::validate::MAX_FEE_VND {
        return Some(FeeReading {
            text,
            formula: None,
            on_request: Vec::new(),
        });
    }
    let formula = match per {
        Some(Per::Case) => Some(FeeFormula::PerCase { amount: value }),
        Some(Per::Copy) => Some(FeeFormula::PerCopy { amount: value }),
        Some(Per::Page) => page_tariff(value, description),
        // A bare amount with nothing after it is the fee for one filing.
        None if note.is_empty() => Some(FeeFormula::PerCase { amount: value }),
        None => None,
    };
    Some(FeeReading {
        text,
        formula,
        on_request: Vec::new(),
    })
}

/// Splits a note into the text kept on the fee, the sentences about on-request items, and
/// whether nothing in it puts a "free" in doubt.
fn split_note(note: &str) -> (String, Vec<String>, bool) {
    let inner = strip_brackets(note);
    if inner.is_empty() || super::cells::is_placeholder(inner) || is_nothing(inner) {
        return (String::new(), Vec::new(), true);
    }
    let mut kept = Vec::new();
    let mut on_request = Vec::new();
    let mut neutral = true;
    for sentence in sentences(inner) {
        let lower = sentence.to_lowercase();
        if lower.contains("nếu có yêu cầu") {
            on_request.push(sentence.to_owned());
            continue;
        }
        if lower.contains("hội đồng nhân dân")
            || lower.contains("hđnd")
            || lower.contains("đồng/")
            || lower.contains(" đồng")
            || lower.contains("mức thu")
        {
            neutral = false;
        }
        kept.push(sentence.to_owned());
    }
    (kept.join(" "), on_request, neutral)
}

fn is_nothing(s: &str) -> bool {
    matches!(
        s.trim().trim_end_matches('.').to_lowercase().as_str(),
        "không" | "không có" | "không thu" | "không quy định"
    )
}

/// "((text))" and "(text)" → "text".
fn strip_brackets(s: &str) -> &str {
    let mut s = s.trim();
    while s.starts_with('(') && s.ends_with(')') && balanced(&s[1..s.len() - 1]) {
        s = s[1..s.len() - 1].trim();
    }
    s
}

fn balanced(s: &str) -> bool {
    let mut depth = 0i32;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

/// Sentences split at ". " outside brackets (dates like 14/11/2016 and "số 281/2016/TT-BTC"
/// carry no ". ").
fn sentences(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let bytes = s.as_bytes();
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            '.' if depth == 0 && bytes.get(i + 1) == Some(&b' ') => {
                let part = s[start..=i].trim();
                if !part.is_empty() {
                    out.push(part);
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    let tail = s[start..].trim();
    if !tail.is_empty() {
        out.push(tail);
    }
    out
}

fn join_text(a: &str, b: &str) -> String {
    let b = strip_brackets(b);
    if b.is_empty() {
        a.to_owned()
    } else {
        format!("{a} ({b})")
    }
}

static PAGE_TIERS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)([\d.]+) đồng/trang;? từ trang thứ (\d+|ba|hai) trở lên(?: thu)? ([\d.]+) đồng/trang(?:,? tối đa(?: thu)?(?: không quá)? ([\d.]+) đồng/bản)?",
    )
    .unwrap()
});

/// A per-page fee: the description may spell out the tiers and the cap of the
/// copy-authentication tariff; then they must agree with the cell's amount.
fn page_tariff(first: u64, description: &str) -> Option<FeeFormula> {
    let money = |s: &str| s.replace('.', "").parse::<u64>().ok();
    let lower = description.to_lowercase();
    if let Some(c) = PAGE_TIERS.captures(description) {
        let from = match &c[2] {
            "ba" => 3,
            "hai" => 2,
            n => n.parse().ok()?,
        };
        if money(&c[1])? != first || from < 2 {
            return None;
        }
        return Some(FeeFormula::PerPage {
            tiers: vec![
                PageTier {
                    from_page: 1,
                    amount: first,
                },
                PageTier {
                    from_page: from,
                    amount: money(&c[3])?,
                },
            ],
            max_per_copy: match c.get(4) {
                Some(m) => Some(money(m.as_str())?),
                None => None,
            },
        });
    }
    // Tiers or a cap mentioned in words we did not read: do not pretend to know.
    if lower.contains("trang thứ") || lower.contains("tối đa") {
        return None;
    }
    Some(FeeFormula::PerPage {
        tiers: vec![PageTier {
            from_page: 1,
            amount: first,
        }],
        max_per_copy: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_with_a_unit_are_structured_and_bare_numbers_need_the_description() {
        assert_eq!(
            read_time("05 Ngày làm việc", ""),
            TimeReading::WorkingDays(5)
        );
        assert_eq!(read_time("30 Ngày", ""), TimeReading::CalendarDays(30));
        assert_eq!(read_time("4 Giờ", ""), TimeReading::Text);
        assert_eq!(read_time("Không quy định", ""), TimeReading::Text);
        assert_eq!(read_time("1", ""), TimeReading::Text);
        assert_eq!(
            read_time("6", "06 ngày làm việc, kể từ ngày nhận đủ hồ sơ"),
            TimeReading::WorkingDays(6)
        );
        // Two different numbers in the description: no single reading.
        assert_eq!(
            read_time(
                "1",
                "01 ngày làm việc; trường hợp xác minh 03 ngày làm việc"
            ),
            TimeReading::Text
        );
        assert_eq!(read_time("999 Ngày", ""), TimeReading::Text);
    }

    #[test]
    fn free_is_free_unless_the_province_sets_the_amount() {
        let f = read_fee("Miễn phí", "", "").unwrap();
        assert_eq!(
            (f.text.as_str(), f.formula),
            ("Miễn phí", Some(FeeFormula::Free))
        );
        let f = read_fee("Miễn phí", "(Không)", "").unwrap();
        assert_eq!(f.formula, Some(FeeFormula::Free));
        let f = read_fee(
            "Miễn phí",
            "(Mức lệ phí cụ thể do Hội đồng nhân dân tỉnh quyết định. Miễn lệ phí cho người thuộc hộ nghèo.)",
            "",
        )
        .unwrap();
        assert_eq!(f.formula, None);
        assert!(
            f.text.starts_with("Miễn phí (Mức lệ phí cụ thể"),
            "{}",
            f.text
        );
        // An on-request copy fee is split off; the main item stays free.
        let f = read_fee(
            "Miễn phí",
            "(Phí cấp bản sao Trích lục (nếu có yêu cầu) thực hiện theo quy định tại Thông tư số 281/2016/TT-BTC ngày 14/11/2016 của Bộ Tài chính.)",
            "",
        )
        .unwrap();
        assert_eq!(f.formula, Some(FeeFormula::Free));
        assert_eq!(f.text, "Miễn phí");
        assert_eq!(f.on_request.len(), 1);
    }

    #[test]
    fn amounts_with_a_unit_are_structured() {
        let f = read_fee("10,000 Việt Nam Đồng", "(/trường hợp)", "").unwrap();
        assert_eq!(f.text, "10.000 đồng/trường hợp");
        assert_eq!(f.formula, Some(FeeFormula::PerCase { amount: 10_000 }));
        let f = read_fee("8,000 Việt Nam Đồng", "(/bản sao)", "").unwrap();
        assert_eq!(f.formula, Some(FeeFormula::PerCopy { amount: 8_000 }));
        let f = read_fee("20,000 Việt Nam Đồng", "", "").unwrap();
        assert_eq!(f.formula, Some(FeeFormula::PerCase { amount: 20_000 }));
        let f = read_fee("10 USD", "(/bản)", "").unwrap();
        assert_eq!((f.text.as_str(), f.formula), ("10 USD/bản", None));
        let f = read_fee("50,000 Việt Nam Đồng", "(/xe)", "").unwrap();
        assert_eq!(f.formula, None);
        assert!(read_fee("Không có thông tin", "", "").is_none());
    }

    #[test]
    fn the_copy_authentication_tariff_is_read_from_its_description() {
        let d = "Tại Ủy ban nhân dân cấp xã: 2.000 đồng/trang; từ trang thứ 3 trở lên thu 1.000 đồng/trang, tối đa thu không quá 200.000 đồng/bản.";
        let f = read_fee("2,000 Việt Nam Đồng", "(/trang)", d).unwrap();
        assert_eq!(
            f.formula,
            Some(FeeFormula::PerPage {
                tiers: vec![
                    PageTier {
                        from_page: 1,
                        amount: 2_000
                    },
                    PageTier {
                        from_page: 3,
                        amount: 1_000
                    }
                ],
                max_per_copy: Some(200_000)
            })
        );
        // The description disagrees with the cell: text only.
        let d = "3.000 đồng/trang; từ trang thứ 3 trở lên thu 1.000 đồng/trang";
        assert_eq!(
            read_fee("2,000 Việt Nam Đồng", "(/trang)", d)
                .unwrap()
                .formula,
            None
        );
        // Tiers in words we cannot read: text only.
        let d = "từ trang thứ mười một trở đi giảm một nửa";
        assert_eq!(
            read_fee("2,000 Việt Nam Đồng", "(/trang)", d)
                .unwrap()
                .formula,
            None
        );
    }
}
